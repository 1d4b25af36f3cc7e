"""The access log of reads served on the event loop (emhana.audit.readlog_async, PostgreSQL): concurrent reads'
events in one statement, each linked into its person's audit chain and committed before ``append`` returns; a bad
row fails only its own read; no writer registered, or no answer in time, fails the read."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit import readlog_async
from emhana.audit.models import AuditEvent, ChainLink
from emhana.audit.readlog import ReadLogFailed
from emhana.audit.readlog_async import AsyncGroupLog
from emhana.audit.service import event_row
from emhana.kernel.batched import Pool
from emhana.kernel.db import libpq_url
from emhana.trust.chain import readlog as chain_readlog
from emhana.trust.chain.verify import verify
from tests.builders.databases import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="the async access log writes over psycopg")


def _event(actor: Actor, person: int, purpose: str = "") -> dict[str, Any]:
    return event_row(
        actor=actor,
        action="test.read",
        object_type="person",
        object_id=person,
        subject_person_id=person,
        purpose=purpose,
    )


def _log(engine: Engine, **kw: Any) -> AsyncGroupLog:
    return AsyncGroupLog(Pool(libpq_url(engine.url), 2), **kw)


def _linked(sessions: sessionmaker[Session], person: int) -> list[int]:
    with sessions() as s:
        return list(
            s.scalars(
                select(ChainLink.seq)
                .where(ChainLink.kind == "audit", ChainLink.chain_key == str(person))
                .order_by(ChainLink.seq)
            )
        )


def _committed(sessions: sessionmaker[Session], purpose: str) -> bool:
    with sessions() as s:
        return s.scalar(select(AuditEvent.id).where(AuditEvent.purpose == purpose)) is not None


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "test.read")) or 0)


def test_concurrent_reads_are_written_together_and_chained_before_they_return(
    engine: Engine,
    sessions: sessionmaker[Session],
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    actor, _ = make_actor(Role.CLINICIAN)
    people = [person() for _ in range(4)]
    reads = [people[i % 4] for i in range(40)]

    async def run() -> tuple[int, list[bool]]:
        log = _log(engine)
        seen: list[bool] = []

        async def one(n: int, p: int) -> None:
            await log.append([_event(actor, p, f"read {n}")])
            seen.append(_committed(sessions, f"read {n}"))  # when this read may be answered

        try:
            await asyncio.gather(*(one(n, p) for n, p in enumerate(reads)))
            return log.batches, seen
        finally:
            await log.pool.close()

    batches, seen = asyncio.run(run())
    assert batches < 10  # gathered into few statements
    assert seen == [True] * 40
    assert _count(sessions) == 40
    for p in people:
        assert _linked(sessions, p) == list(range(1, 11))  # ten reads each, one chain each, no fork
    with sessions() as s:
        report = verify(s.connection(), ["audit"])
    assert not report.findings


def test_a_bad_row_fails_only_its_own_read(
    engine: Engine,
    sessions: sessionmaker[Session],
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    actor, _ = make_actor(Role.CLINICIAN)
    ghost = dataclasses.replace(actor, account_id=10**9)  # no such account: its event cannot be written
    a, b = person(), person()

    async def run() -> list[Any]:
        log = _log(engine, leaders=1)
        try:
            rows = [[_event(actor, a)], [_event(ghost, b)], [_event(actor, b)]]
            return list(await asyncio.gather(*(log.append(r) for r in rows), return_exceptions=True))
        finally:
            await log.pool.close()

    first, bad, third = asyncio.run(run())
    assert first is None and third is None
    assert isinstance(bad, ReadLogFailed)
    assert _linked(sessions, a) == [1] and _linked(sessions, b) == [1]


def test_a_writer_that_fails_fails_the_read(
    engine: Engine,
    sessions: sessionmaker[Session],
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    actor, _ = make_actor(Role.CLINICIAN)
    p = person()

    async def broken(conn: psycopg.AsyncConnection[Any], rows: Sequence[Mapping[str, Any]]) -> None:
        raise RuntimeError("disk full")

    async def run() -> BaseException | None:
        log = _log(engine)
        try:
            await log.append([_event(actor, p)])
        except ReadLogFailed as exc:
            return exc
        finally:
            await log.pool.close()
        return None

    readlog_async.set_writer(broken)
    try:
        failed = asyncio.run(run())
    finally:
        chain_readlog.register()
    assert isinstance(failed, ReadLogFailed)
    assert _count(sessions) == 0


def test_a_read_not_written_in_time_fails(
    engine: Engine,
    sessions: sessionmaker[Session],
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    actor, _ = make_actor(Role.CLINICIAN)
    p = person()

    async def slow(conn: psycopg.AsyncConnection[Any], rows: Sequence[Mapping[str, Any]]) -> None:
        await asyncio.sleep(0.5)

    async def run() -> BaseException | None:
        log = _log(engine, wait=0.1)
        try:
            await log.append([_event(actor, p)])
        except ReadLogFailed as exc:
            return exc
        finally:
            await asyncio.sleep(0.5)
            await log.pool.close()
        return None

    readlog_async.set_writer(slow)
    try:
        failed = asyncio.run(run())
    finally:
        chain_readlog.register()
    assert isinstance(failed, ReadLogFailed)
