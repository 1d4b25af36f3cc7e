"""Reads of many requests in one statement (emhana.kernel.batched, PostgreSQL): each request gets exactly the rows
its own statement gives, in the statement's order; concurrent requests share batches; a bad parameter fails only
its own request; a statement that does not read a declared parameter is refused when built."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, select, text

from emhana.identity.models import Person
from emhana.kernel.batched import Batched, Batches, BatchFailed, Pool, Row, each
from emhana.kernel.db import libpq_url
from tests.builders.databases import is_postgres

needs_postgres = pytest.mark.skipif(not is_postgres(), reason="batched reads run over psycopg's async connections")

# a statement of several rows per request, in a fixed order that is not the rows' natural one
SERIES = Batched.of(
    "series",
    "SELECT g, %(label)s::text || g FROM generate_series(%(low)s, %(high)s) AS g ORDER BY g %% 3, g DESC",
    {"low": "int", "high": "int", "label": "text"},
)


def _alone(engine: Engine, low: int, high: int, label: str) -> list[Row]:
    sql = text(
        "SELECT g, CAST(:label AS text) || g FROM generate_series(CAST(:low AS int), CAST(:high AS int)) AS g"
        " ORDER BY g % 3, g DESC"
    )
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sql, {"low": low, "high": high, "label": label})]


def _batches(engine: Engine, **kw: Any) -> Batches:
    return Batches(Pool(libpq_url(engine.url), 2), **kw)


@needs_postgres
def test_each_request_gets_its_own_rows_in_its_statements_order(engine: Engine) -> None:
    asks: list[dict[str, Any]] = [{"low": i, "high": i + (i * 7) % 11, "label": f"r{i}-"} for i in range(60)]
    asks.append({"low": 5, "high": 1, "label": "none"})  # no rows at all

    async def run() -> tuple[list[list[Row]], int]:
        batches = _batches(engine)
        try:
            got = await asyncio.gather(*(batches.rows(SERIES, a) for a in asks))
            return list(got), batches.batches
        finally:
            await batches.pool.close()

    got, statements = asyncio.run(run())
    assert got == [_alone(engine, a["low"], a["high"], a["label"]) for a in asks]
    assert got[-1] == []
    assert statements < len(asks) / 4  # gathered: at most two batches run at once, the others wait and join


@needs_postgres
def test_a_bad_parameter_fails_only_its_own_request(engine: Engine) -> None:
    async def run() -> list[Any]:
        batches = _batches(engine)
        try:
            asks = [{"low": 1, "high": 3, "label": "a"}, {"low": "x", "high": 2, "label": "b"}]
            asks += [{"low": 2, "high": 4, "label": "c"}]
            return await asyncio.gather(*(batches.rows(SERIES, a) for a in asks), return_exceptions=True)
        finally:
            await batches.pool.close()

    first, bad, third = asyncio.run(run())
    assert first == _alone(engine, 1, 3, "a") and third == _alone(engine, 2, 4, "c")
    assert isinstance(bad, BatchFailed)


@needs_postgres
def test_a_core_statement_reads_its_parameters_from_the_batch(engine: Engine, person: Any) -> None:
    ids = [person() for _ in range(3)]
    stmt = Batched.of("person", select(Person.id, Person.iin).where(Person.id == bindparam("id")), {"id": "bigint"})

    async def run() -> list[list[Row]]:
        batches = _batches(engine)
        try:
            return list(await asyncio.gather(*(batches.rows(stmt, {"id": i}) for i in [*ids, -1])))
        finally:
            await batches.pool.close()

    got = asyncio.run(run())
    assert [[r[0] for r in rows] for rows in got] == [[i] for i in ids] + [[]]


def test_a_parameter_the_statement_does_not_read_is_refused() -> None:
    with pytest.raises(ValueError, match="entity"):
        Batched.of("x", select(Person.id).where(Person.id == bindparam("id")), {"id": "bigint", "entity": "bigint"})
    with pytest.raises(ValueError, match="day"):
        Batched.of("y", "SELECT %(id)s::bigint", {"id": "bigint", "day": "date"})


@needs_postgres
def test_a_request_not_answered_in_time_fails(engine: Engine) -> None:
    slow = Batched.of("slow", "SELECT pg_sleep(%(s)s)", {"s": "float8"})

    async def run() -> BaseException | None:
        batches = _batches(engine, wait=0.2)
        try:
            await batches.rows(slow, {"s": 1.0})
        except BatchFailed as exc:
            return exc
        finally:
            await asyncio.sleep(1.0)  # the batch itself ends
            await batches.pool.close()
        return None

    assert isinstance(asyncio.run(run()), BatchFailed)


@needs_postgres
def test_reads_asked_ahead_share_their_batches_and_one_failure_is_told(engine: Engine) -> None:
    async def run() -> tuple[list[list[Row]], int, BaseException | None]:
        batches = _batches(engine)
        try:
            asked = [batches.ask(SERIES, {"low": i, "high": i + 2, "label": "x"}) for i in range(5)]
            got = await each(*asked)
            statements = batches.batches
            failed: BaseException | None = None
            try:
                await each(batches.ask(SERIES, {"low": "x", "high": 1, "label": "y"}), batches.ask(SERIES, asks[0]))
            except BatchFailed as exc:
                failed = exc
            return got, statements, failed
        finally:
            await batches.pool.close()

    asks: list[dict[str, Any]] = [{"low": 1, "high": 2, "label": "z"}]
    got, statements, failed = asyncio.run(run())
    assert got == [_alone(engine, i, i + 2, "x") for i in range(5)]
    assert statements == 1  # asked before any was awaited: one batch
    assert isinstance(failed, BatchFailed)
