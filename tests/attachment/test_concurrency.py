"""No overbooking and no second active attachment under concurrency (A-01, A-80): many clients, each on
its own connection, race for one free place. Alike on PostgreSQL (row locks) and on SQLite (every unit of
work begins with BEGIN IMMEDIATE, emhana/kernel/db.py)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import facts, placement
from emhana.attachment.application import service
from emhana.attachment.enums import Channel
from emhana.attachment.models import Attachment
from emhana.attachment.schemas import ApplicationIn
from emhana.audit.models import AuditEvent
from emhana.kernel import errors
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from tests.builders.attachment import IN_WINDOW, Country
from tests.builders.databases import is_postgres

CLIENTS = 16


def race(database_url: str, jobs: list[tuple[Actor, int, int]]) -> list[str]:
    """Submit every (actor, person, district) at the same moment, each on its own connection."""
    engine = make_engine(database_url, pool_size=len(jobs), max_overflow=0)
    factory = make_sessionmaker(engine)
    barrier = threading.Barrier(len(jobs))

    def one(job: tuple[Actor, int, int]) -> str:
        actor, person_id, district_id = job
        barrier.wait()
        try:
            with unit_of_work(factory) as s:
                service.submit(
                    session=s,
                    actor=actor,
                    data=ApplicationIn(person_id=person_id, district_id=district_id),
                    channel=Channel.EGOV,
                    now=IN_WINDOW,
                )
            return "ok"
        except errors.RegistryError as exc:
            return exc.code

    try:
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            return list(pool.map(one, jobs))
    finally:
        engine.dispose()


def test_sixteen_clients_one_free_place_exactly_one_winner(
    database_url: str,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    district = country.districts[("A1", 3)]  # one place
    people = [person() for _ in range(CLIENTS)]
    jobs = [(make_actor(Role.CITIZEN, person_id=p)[0], p, district) for p in people]
    results = race(database_url, jobs)
    assert results.count("ok") == 1, results
    assert results.count("attachment.capacity_exceeded") == CLIENTS - 1, results
    with sessions() as s:
        assert placement.attached_count(s, district) == 1


def test_same_person_twice_at_once_never_has_two_active_attachments(
    database_url: str,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    pid = person()
    me = make_actor(Role.CITIZEN, person_id=pid)[0]
    same = race(database_url, [(me, pid, country.districts[("A1", 1)])] * 8)
    assert same.count("ok") == 1 and set(same) == {"ok", "attachment.already_attached"}, same
    targets = [country.districts[k] for k in (("A2", 1), ("B1", 1), ("A1", 1), ("A2", 1))] * 2
    mixed = race(database_url, [(me, pid, d) for d in targets])
    assert set(mixed) <= {"ok", "attachment.change_limit", "attachment.already_attached"}, mixed
    with sessions() as s:
        rows = list(s.scalars(select(Attachment).where(Attachment.person_id == pid)))
    assert sum(1 for r in rows if r.end_date is None) == 1
    day = dt.date(2025, 9, 1)
    while day <= dt.date(2026, 3, 1):  # at most one attachment in effect on every day
        assert sum(1 for r in rows if service.active_on(r, day)) <= 1, day
        day += dt.timedelta(days=1)


@pytest.mark.skipif(not is_postgres(), reason="row locks of PostgreSQL; SQLite has one write lock")
def test_a_decisions_person_lock_lets_a_logged_read_name_the_person(
    database_url: str, person: Callable[..., int]
) -> None:
    """The decision locks the person FOR NO KEY UPDATE: an audit event naming the person (a logged read's, whose
    foreign key takes a KEY SHARE lock) is written meanwhile. Under FOR UPDATE it waited, and a read log holding the
    person's chain head deadlocked with a decision waiting for that head (seen in the campaign-peak profile)."""
    pid = person()
    engine = make_engine(database_url)
    event = insert(AuditEvent).values(
        at=IN_WINDOW, action="read", subject_person_id=pid, object_type="person", object_id=str(pid), purpose="care"
    )
    try:
        with engine.connect() as decision, engine.connect() as reader:
            decision.begin()
            assert decision.execute(facts.LOCK_PERSON, {"person_id": pid}).first() is not None
            placement.lock_persons(Session(bind=decision), [pid])
            reader.begin()
            reader.execute(text("SET LOCAL lock_timeout = '3s'"))
            reader.execute(event)  # waited for the lock, then failed on lock_timeout, before
            reader.rollback()
            decision.rollback()
    finally:
        engine.dispose()
