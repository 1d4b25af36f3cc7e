"""The access log of reads (emhana/audit/readlog.py, docs/access-log.md): reads in a read-only unit of work are
answered only once their events are committed, many requests' events in one transaction, each linked into its
person's audit chain; a failure to write them fails the read."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit import readlog, readlog_async
from emhana.audit.models import AuditEvent, ChainLink
from emhana.audit.service import event_row, record_event
from emhana.kernel.db import unit_of_work
from emhana.trust.chain import readlog as chain_readlog
from emhana.trust.chain.verify import verify
from tests.builders.medbook import World, issue_book
from tests.builders.people import add_person

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _row(actor: Actor, person: int, purpose: str) -> dict[str, Any]:
    return event_row(
        actor=actor,
        action="attachment.read",
        object_type="person",
        object_id=person,
        subject_person_id=person,
        purpose=purpose,
        at=AT,
    )


def _events(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _clean_chains(engine: Engine) -> None:
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, report.findings


def test_concurrent_reads_share_one_transaction_and_each_is_linked(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    clinician, _ = make_actor(Role.CLINICIAN)
    people = [add_person(sessions, born=dt.date(1980, 1, 1 + i)) for i in range(8)]
    log = readlog.GroupLog(engine, gather=0, leaders=1)
    first_batch = threading.Event()
    others_waiting = threading.Event()
    calls: list[int] = []

    def held(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        calls.append(len(rows))
        if len(calls) == 1:  # the first leader writes while the others queue up behind it
            first_batch.set()
            assert others_waiting.wait(10)
        chain_readlog.write_linked(conn, rows)

    readlog.set_writer(held)
    try:
        threads = [
            threading.Thread(target=log.append, args=([_row(clinician, p, f"read {i}")],)) for i, p in enumerate(people)
        ]
        threads[0].start()
        assert first_batch.wait(10)
        for t in threads[1:]:
            t.start()
        deadline = time.monotonic() + 10
        while len(log._queue) < 7 and time.monotonic() < deadline:
            time.sleep(0.01)
        others_waiting.set()
        for t in threads:
            t.join(10)
    finally:
        chain_readlog.register()
        log.close()
    assert calls == [1, 7]  # two transactions for eight reads
    events = _events(sessions)
    assert sorted(e.purpose for e in events) == sorted(f"read {i}" for i in range(8))
    with sessions() as s:
        linked = set(s.scalars(select(ChainLink.record_id).where(ChainLink.kind == "audit")))
    assert linked == {e.id for e in events}
    _clean_chains(engine)


def test_a_bad_row_fails_only_its_own_read(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    clinician, _ = make_actor(Role.CLINICIAN)
    person = add_person(sessions, born=dt.date(1980, 1, 1))
    log = readlog.GroupLog(engine)
    good = readlog._Ticket([_row(clinician, person, "good")])
    bad = readlog._Ticket([_row(clinician, 10**9, "no such person")])  # refused by the foreign key
    log._write([good, bad])
    assert good.done and good.error is None
    assert bad.done and bad.error is not None
    assert [e.purpose for e in _events(sessions)] == ["good"]
    with pytest.raises(readlog.ReadLogFailed):
        log.append([_row(clinician, 10**9, "no such person")])
    log.close()
    _clean_chains(engine)


def test_a_read_only_unit_of_work_logs_through_the_group_log(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    clinician, _ = make_actor(Role.CLINICIAN)
    person = add_person(sessions, born=dt.date(1980, 1, 1))
    before = readlog.log_of(engine).batches
    with unit_of_work(sessions, read_only=True) as s:
        readlog.log_read(s, _row(clinician, person, "batched"))
        record_event(  # the ORM form on a read-only session joins the batch too
            session=s, actor=clinician, action="person.read", object_type="person", object_id=str(person),
            subject_person_id=person, purpose="orm",
        )  # fmt: skip
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0  # nothing written in the read itself
    assert readlog.log_of(engine).batches == before + 1  # one transaction for both
    assert sorted(e.purpose for e in _events(sessions)) == ["batched", "orm"]
    with unit_of_work(sessions, read_only=True) as s:  # a read that fails logs nothing: it was not answered
        readlog.log_read(s, _row(clinician, person, "unanswered"))
        s.rollback()
    with unit_of_work(sessions) as s:  # a unit of work that writes logs its reads in its own transaction
        readlog.log_read(s, _row(clinician, person, "in the write"))
    assert sorted(e.purpose for e in _events(sessions)) == ["batched", "in the write", "orm"]
    _clean_chains(engine)


def test_reads_over_http_are_logged_before_the_answer_and_shown_to_their_owner(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book = issue_book(client, world)["id"]
    r = client.get(f"/api/v1/medbook/books/{book}", headers=world.h["clin_a"], params={"purpose": "periodic exam"})
    assert r.status_code == 200, r.text
    reads = [e for e in _events(sessions) if e.action == "medbook.read"]
    assert [(e.object_id, e.subject_person_id, e.purpose) for e in reads] == [(str(book), world.cook, "periodic exam")]
    log = client.get("/api/v1/me/access-log", headers=world.h["cook"]).json()
    assert ("medbook.read", "periodic exam") in {(e["action"], e["purpose"]) for e in log}
    r = client.get(f"/api/v1/attachment/persons/{world.cook}", headers=world.h["clin_b"])
    assert r.status_code == 200, r.text
    log = client.get("/api/v1/me/access-log", headers=world.h["cook"]).json()
    assert "attachment.read" in {e["action"] for e in log}


def test_a_read_whose_log_cannot_be_written_is_not_answered(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book = issue_book(client, world)["id"]

    def broken(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        raise RuntimeError("disk full")

    async def broken_async(conn: psycopg.AsyncConnection[Any], rows: Sequence[Mapping[str, Any]]) -> None:
        raise RuntimeError("disk full")

    readlog.set_writer(broken)
    readlog_async.set_writer(broken_async)  # the read is served on the event loop on PostgreSQL (web/reads.py)
    try:
        r = client.get(f"/api/v1/medbook/books/{book}", headers=world.h["clin_a"], params={"purpose": "exam"})
    finally:
        chain_readlog.register()
    assert r.status_code == 500
    assert world.cook_iin not in r.text
    assert not [e for e in _events(sessions) if e.action == "medbook.read"]
