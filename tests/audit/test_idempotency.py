"""Idempotency keys under real concurrency (emhana/audit/idempotency.py): requests with one key, each in its own
thread, transaction and connection, on the test database (a SQLite file, or PostgreSQL when
EMHANA_TEST_DATABASE_URL is set). The first answer is the only one ever written; every retry gets it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit import idempotency
from emhana.audit.idempotency import run_once
from emhana.audit.models import AuditEvent, IdempotencyRecord
from emhana.kernel import clock, errors
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from tests.builders.databases import is_postgres

RETRIES = 6


@pytest.fixture
def factory(database_url: str, sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """Sessions on an engine of their own, one connection per thread."""
    engine = make_engine(database_url, pool_size=RETRIES + 2, max_overflow=0)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def actor(make_actor: Callable[..., tuple[Actor, str]]) -> Actor:
    return make_actor(Role.FUND_ADMIN)[0]


def writer(calls: list[int], *, pause: float = 0.2, gate: threading.Event | None = None) -> Callable[[Session], Any]:
    """A write that takes its time (or waits for a gate), writes one audit event and answers with its number."""

    def write(session: Session) -> tuple[int, dict[str, Any]]:
        calls.append(1)
        if gate is not None:
            assert gate.wait(20)
        time.sleep(pause)
        event = AuditEvent(at=clock.now(), action="test.write", object_type="test", object_id=str(len(calls)))
        session.add(event)
        session.flush()
        return 201, {"id": event.id, "call": len(calls)}

    return write


def attempt(
    factory: sessionmaker[Session], actor: Actor, key: str, payload: Any, write: Callable[[Session], Any]
) -> tuple[int, Any]:
    """One request in its own transaction: its answer, or the code of the error it was refused with."""
    try:
        with unit_of_work(factory) as s:
            return run_once(session=s, actor=actor, key=key, payload=payload, run=lambda: write(s))
    except errors.RegistryError as exc:
        return exc.status, exc.code


def events(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.write")) or 0)


def test_parallel_retries_with_one_key_all_get_the_first_answer_and_write_once(
    factory: sessionmaker[Session], sessions: sessionmaker[Session], actor: Actor
) -> None:
    calls: list[int] = []
    write = writer(calls)
    barrier = threading.Barrier(RETRIES)

    def one(_: int) -> tuple[int, Any]:
        barrier.wait()
        return attempt(factory, actor, "k-1", {"a": 1}, write)

    with ThreadPoolExecutor(RETRIES) as pool:
        answers = list(pool.map(one, range(RETRIES)))
    assert len(calls) == 1 and events(sessions) == 1
    assert answers == [answers[0]] * RETRIES and answers[0][0] == 201, answers
    with sessions() as s:
        [stored] = s.scalars(select(IdempotencyRecord)).all()
    assert (stored.status_code, stored.key) == (201, "k-1")


def test_a_parallel_retry_with_another_payload_is_refused_with_a_code(
    factory: sessionmaker[Session], sessions: sessionmaker[Session], actor: Actor
) -> None:
    calls: list[int] = []
    write = writer(calls)
    barrier = threading.Barrier(2)

    def one(payload: dict[str, int]) -> tuple[int, Any]:
        barrier.wait()
        return attempt(factory, actor, "k-2", payload, write)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(one, [{"a": 1}, {"a": 2}]))
    assert sorted(a[0] for a in answers) == [201, 422] and (422, "core.idempotency_mismatch") in answers
    assert len(calls) == 1 and events(sessions) == 1


@pytest.mark.skipif(not is_postgres(), reason="SQLite's retry waits at BEGIN IMMEDIATE (the next test)")
def test_on_postgresql_a_retry_while_the_first_runs_too_long_is_told_in_progress_then_gets_the_first_answer(
    factory: sessionmaker[Session], sessions: sessionmaker[Session], actor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "CLAIM_WAIT", 0.3)
    calls: list[int] = []
    gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(attempt, factory, actor, "k-3", {"a": 1}, writer(calls, pause=0, gate=gate))
        while not calls:
            time.sleep(0.01)
        started = time.monotonic()
        assert attempt(factory, actor, "k-3", {"a": 1}, writer(calls)) == (409, "core.idempotency_in_progress")
        assert time.monotonic() - started < 5
        gate.set()
        answer = first.result(30)
    assert answer[0] == 201
    assert attempt(factory, actor, "k-3", {"a": 1}, writer(calls)) == answer
    assert len(calls) == 1 and events(sessions) == 1


def test_a_retry_while_the_first_runs_waits_for_it_and_gets_its_answer(
    factory: sessionmaker[Session], sessions: sessionmaker[Session], actor: Actor
) -> None:
    calls: list[int] = []
    gate = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(attempt, factory, actor, "k-6", {"a": 1}, writer(calls, pause=0, gate=gate))
        while not calls:
            time.sleep(0.01)
        second = pool.submit(attempt, factory, actor, "k-6", {"a": 1}, writer(calls))
        time.sleep(0.5)
        assert not second.done()
        gate.set()
        assert second.result(30) == first.result(30)
    assert len(calls) == 1 and events(sessions) == 1


def test_when_the_first_fails_its_waiting_retry_runs_the_write_itself(
    factory: sessionmaker[Session], sessions: sessionmaker[Session], actor: Actor
) -> None:
    calls: list[int] = []
    gate = threading.Event()

    def failing(session: Session) -> tuple[int, dict[str, Any]]:
        calls.append(1)
        assert gate.wait(20)
        raise errors.Conflict()

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(attempt, factory, actor, "k-4", {"a": 1}, failing)
        while not calls:
            time.sleep(0.01)
        second = pool.submit(attempt, factory, actor, "k-4", {"a": 1}, writer(calls, pause=0))
        time.sleep(0.3)  # the retry now waits on the first one's claim
        gate.set()
        assert first.result(30) == (409, "core.conflict")
        assert second.result(30)[0] == 201
    assert len(calls) == 2 and events(sessions) == 1


def test_a_sequential_retry_replays_and_another_payload_is_refused(
    factory: sessionmaker[Session], actor: Actor
) -> None:
    calls: list[int] = []
    first = attempt(factory, actor, "k-5", {"a": 1}, writer(calls, pause=0))
    assert attempt(factory, actor, "k-5", {"a": 1}, writer(calls, pause=0)) == first
    assert attempt(factory, actor, "k-5", {"a": 9}, writer(calls, pause=0)) == (422, "core.idempotency_mismatch")
    assert len(calls) == 1
    assert attempt(factory, actor, "x" * 201, {"a": 1}, writer(calls, pause=0))[0] == 422
