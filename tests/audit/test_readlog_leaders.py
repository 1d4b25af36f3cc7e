"""The access log's leaders and connections (emhana/audit/readlog.py, docs/access-log.md): on PostgreSQL two
batches of one process are written at once, each request waiting for the one that took its events; the log keeps
its own connections between batches, and a kept connection the server dropped is replaced, the batch written."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit import readlog
from emhana.audit.models import AuditEvent, ChainLink
from emhana.audit.service import event_row
from emhana.trust.chain import readlog as chain_readlog
from emhana.trust.chain.verify import verify
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


def _purposes(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        return sorted(s.scalars(select(AuditEvent.purpose)))


def _linked_and_clean(engine: Engine, sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        events = set(s.scalars(select(AuditEvent.id)))
        linked = set(s.scalars(select(ChainLink.record_id).where(ChainLink.kind == "audit")))
    assert linked == events
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, report.findings


def test_one_leader_on_sqlite_two_on_postgresql(engine: Engine) -> None:
    log = readlog.GroupLog(engine)
    assert log.leaders == (readlog.LEADERS if engine.dialect.name == "postgresql" else 1)
    assert readlog.GroupLog(engine, leaders=3).leaders == 3


def test_a_second_leader_writes_while_the_first_is_still_writing(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    clinician, _ = make_actor(Role.CLINICIAN)
    first, second = (add_person(sessions, born=dt.date(1980, 1, 1 + i)) for i in range(2))
    log = readlog.GroupLog(engine, gather=0, leaders=2)
    held, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []

    def writer(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        calls.append([str(r["purpose"]) for r in rows])
        if rows[0]["purpose"] == "first":
            held.set()
            assert release.wait(10)
        chain_readlog.write_linked(conn, rows)

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one batch at a time (its writes take turns)")
    readlog.set_writer(writer)
    try:
        a = threading.Thread(target=log.append, args=([_row(clinician, first, "first")],))
        a.start()
        assert held.wait(10)
        log.append([_row(clinician, second, "second")])  # written and committed while "first" is held
        assert calls == [["first"], ["second"]] and a.is_alive()
        assert _purposes(sessions) == ["second"]
        release.set()
        a.join(10)
    finally:
        release.set()
        chain_readlog.register()
        log.close()
    assert _purposes(sessions) == ["first", "second"]
    _linked_and_clean(engine, sessions)


def test_many_concurrent_reads_are_each_written_once(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    clinician, _ = make_actor(Role.CLINICIAN)
    people = [add_person(sessions, born=dt.date(1980, 1, 1 + i)) for i in range(4)]
    log = readlog.GroupLog(engine, leaders=2)
    errors: list[BaseException] = []

    def read(i: int) -> None:
        try:
            log.append([_row(clinician, people[i % 4], f"read {i:02d}")])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    log.close()
    assert errors == []
    assert _purposes(sessions) == [f"read {i:02d}" for i in range(24)]
    assert log._leading == 0 and not log._queue  # every lead handed on or given up
    _linked_and_clean(engine, sessions)


@pytest.mark.parametrize("gather", [0.0, 0.001])
def test_the_lead_passes_on_under_load_and_every_request_learns_its_outcome(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]], gather: float
) -> None:
    clinician, _ = make_actor(Role.CLINICIAN)
    people = [add_person(sessions, born=dt.date(1980, 1, 1 + i)) for i in range(3)]
    log = readlog.GroupLog(engine, gather=gather, leaders=2)
    errors: list[BaseException] = []
    batches: list[int] = []
    turn = iter(range(10**6))

    def writer(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        batches.append(len(rows))
        time.sleep(0.001 * (next(turn) % 3))  # batches of uneven length, so leaders overtake each other
        chain_readlog.write_linked(conn, rows)

    def read(i: int) -> None:
        for j in range(3):
            try:
                log.append([_row(clinician, people[(i + j) % 3], f"read {i:02d}.{j}")], timeout=20)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    readlog.set_writer(writer, one_statement=True)  # on PostgreSQL write_linked is one statement
    try:
        threads = [threading.Thread(target=read, args=(i,)) for i in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        chain_readlog.register()
        log.close()
    assert errors == []
    assert _purposes(sessions) == sorted(f"read {i:02d}.{j}" for i in range(30) for j in range(3))
    assert sum(batches) == 90 and len(batches) == log.batches  # each request written once, in one batch
    assert log._leading == 0 and not log._queue
    _linked_and_clean(engine, sessions)


def test_a_kept_connection_the_server_dropped_is_replaced(
    engine: Engine, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server that drops a connection: PostgreSQL")
    clinician, _ = make_actor(Role.CLINICIAN)
    person = add_person(sessions, born=dt.date(1980, 1, 1))
    log = readlog.GroupLog(engine, gather=0, leaders=1)
    try:
        log.append([_row(clinician, person, "before")])
        [kept] = log._idle
        pid = kept.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        kept.rollback()
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with engine.connect() as admin:
                if not admin.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).first():
                    break
            time.sleep(0.05)
        batches = log.batches
        log.append([_row(clinician, person, "after")])  # the kept connection fails; a new one writes it
        assert log.batches == batches + 1
    finally:
        log.close()
    assert _purposes(sessions) == ["after", "before"]
    _linked_and_clean(engine, sessions)
