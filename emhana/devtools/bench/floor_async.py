"""The reference floor of an audited read without the sync thread hop and SQLAlchemy (the benchmark's server only).

``GET /bench/floor-async/{person_id}`` does what the reference floor (emhana.devtools.bench.floor) does, on the
event loop, over psycopg's async connections instead of a worker thread and a SQLAlchemy session:

* it authenticates its bearer token and admits its role as the real routes do (``web/deps.py``: ``require``, an
  async dependency: the token cache on the event loop, a miss looked up in a worker thread; the middlewares of
  ``emhana.app`` around it);
* it hands the read and its access-log event (``emhana.audit.service.event_row``) to the process's batches of
  audited reads: ONE statement, in one round trip, for the reads of all the process's requests waiting at that
  moment, on an autocommit connection of its own (the statement is the batch's whole transaction): it reads each
  person's open attachment (the unique index ``uq_attachment_person_open``) and whether the reader is of its
  entity, then does what the access log's statement does on PostgreSQL (``emhana.trust.chain.readlog.WRITE``,
  with ``statement_params``; docs/access-log.md) for the entitled reads only: their events, their chain links,
  the moved heads; its commit (an fsync) returns before any of its reads is answered. A person outside the
  reader's entity (or without an open attachment) is 404 with nothing logged. Batches are gathered with asyncio
  as ``emhana.audit.readlog.GroupLog`` gathers them with threads: at most ``LEADERS`` statements at once, a
  request that no batch has taken yet joins the next one; a failed batch is run again one request at a time (a
  bad row fails only its own read: 500, nothing shown); a chain two batches start at once is written again;
* it answers the same small JSON object as the floor.

Beside the floor's rate in the same run it says what leaving the thread hop and the ORM session behind is worth
for an audited read on this stack. The route exists only in the application the benchmark's server runs
(emhana.devtools.bench.floor's ``create_app`` adds it with ``install``), never in ``emhana.app``; it needs
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, FastAPI, Request

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.audit.readlog import LEADERS, MAX_ROWS, WAIT_SECONDS, ReadLogFailed
from emhana.audit.service import event_row
from emhana.kernel.batched import Pool
from emhana.kernel.db import libpq_url
from emhana.kernel.errors import NotFound
from emhana.trust.chain.readlog import RETRIES, STARTED_AT_ONCE, WRITE, statement_params
from emhana.web.deps import require

PATH = "/bench/floor-async"
ACTION = "bench.floor_async"
PURPOSE = "reference floor (async)"

router = APIRouter()

Row = Mapping[str, Any]


# The access log's statement (emhana.trust.chain.readlog.WRITE) with the batch's reads in it: ``asked`` reads each
# request's person's open attachment (unique index uq_attachment_person_open) and tells whether the reader is of its
# entity; ``given`` keeps only the events of the reads so entitled (the n-th event is the n-th request's); the heads'
# upsert becomes a CTE of its own (run to completion, as every data-modifying CTE) and the statement answers the
# entitled reads. Derived from WRITE's text at import (each anchor found exactly once), not a copy of it.
_GIVEN = "\ngiven AS MATERIALIZED ("
_UNNESTED = ") AS g(at, account_id, action, subject_person_id, object_type, object_id, purpose, before_id, after_id)"
_HEADS = "\nINSERT INTO chain_head "
_ASKED = """
asked AS MATERIALIZED (
    SELECT q.n, a.entity_id, a.begin_date, a.person_sex, a.person_birth_date, a.entity_id = q.entity AS entitled
    FROM unnest(%(ask_person)b::text[]::bigint[], %(ask_entity)b::text[]::bigint[])
         WITH ORDINALITY AS q(person, entity, n)
    JOIN attachment AS a ON a.person_id = q.person AND a.end_date IS NULL
),"""
_ANSWER = "\n)\nSELECT n, entity_id, begin_date, person_sex, person_birth_date FROM asked WHERE entitled ORDER BY n\n"


def read_and_write(write: str) -> str:
    """Return the access log's statement ``write`` with the batch's reads in it (see ``_ASKED``)."""
    if any(write.count(anchor) != 1 for anchor in (_GIVEN, _UNNESTED, _HEADS)):
        raise RuntimeError("the access log's statement changed: see emhana/devtools/bench/floor_async.py")
    head, rest = write.split(_GIVEN)
    rest = rest.replace(
        _UNNESTED,
        _UNNESTED[:-1].replace(") AS g(", ") WITH ORDINALITY AS g(", 1) + ", n)"
        " WHERE g.n IN (SELECT n FROM asked WHERE entitled)",
    )
    body, heads = rest.split(_HEADS)
    return head + _ASKED + _GIVEN + body + ",\nmoved AS (" + _HEADS + heads.rstrip() + _ANSWER


READ_AND_WRITE = read_and_write(WRITE)

Found = tuple[Any, ...]  # entity_id, begin_date, person_sex, person_birth_date


@dataclass(eq=False)
class _Read:
    person: int
    entity: int | None  # the reader's
    event: Row  # its access-log event (emhana.audit.service.event_row), written only if the read is entitled
    done: asyncio.Future[Found | None]


@dataclass
class ReadLog:
    """Audited reads of one event loop in batches, group commit as ``emhana.audit.readlog.GroupLog`` does with
    threads: ``read`` returns the person's open attachment once the read's event is committed (None, nothing
    logged: no open attachment, or the reader not of its entity), else raises ReadLogFailed."""

    pool: Pool
    leaders: int = LEADERS
    max_rows: int = MAX_ROWS
    wait: float = WAIT_SECONDS  # a request waits at most this long for its batch, then fails (500, nothing shown)
    batches: int = 0  # statements committed (for tests and benchmarks)
    _queue: deque[_Read] = field(default_factory=deque)
    _writing: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def read(self, person: int, entity: int | None, event: Row) -> Found | None:
        loop = asyncio.get_running_loop()
        waiting = _Read(person, entity, event, loop.create_future())
        self._queue.append(waiting)
        if self._writing < self.leaders:  # a batch more: it takes everything queued when it starts
            self._writing += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        expiry = loop.call_later(self.wait, _expire, waiting)  # (no task per request, as wait_for would make)
        try:
            return await waiting.done  # a request cancelled meanwhile: its batch goes on (an over-report at most)
        finally:
            expiry.cancel()

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self.max_rows, len(self._queue)))]
                await self._write(batch)
        finally:
            self._writing -= 1

    async def _write(self, batch: list[_Read]) -> None:
        try:
            found = await self._run(batch)
        except Exception as exc:  # noqa: BLE001 - each request learns its own outcome below
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            for r in batch:  # one bad row must not fail the others' reads
                try:
                    one = await self._run([r])
                except Exception as failed:  # noqa: BLE001
                    _fail(r, failed)
                else:
                    _succeed(r, one[0])
            return
        for r, f in zip(batch, found, strict=True):
            _succeed(r, f)

    async def _run(self, batch: list[_Read]) -> list[Found | None]:
        params = statement_params([r.event for r in batch])
        params["ask_person"] = [str(r.person) for r in batch]
        params["ask_entity"] = [None if r.entity is None else str(r.entity) for r in batch]
        async with self.pool.connection() as conn:
            for attempt in range(1, RETRIES + 1):
                try:  # autocommit: the statement is the batch's transaction, committed before it answers
                    rows = await (await conn.execute(READ_AND_WRITE, params)).fetchall()
                except psycopg.IntegrityError as exc:
                    # a chain another writer started at once: nothing was written, run it again (as write_linked)
                    if not (exc.diag.constraint_name in STARTED_AT_ONCE and attempt < RETRIES):
                        raise
                else:
                    self.batches += 1
                    by_n = {int(n): tuple(rest) for n, *rest in rows}
                    return [by_n.get(i) for i in range(1, len(batch) + 1)]
        raise AssertionError("unreachable")


def _succeed(r: _Read, found: Found | None) -> None:
    if not r.done.done():
        r.done.set_result(found)


def _expire(r: _Read) -> None:
    if not r.done.done():
        r.done.set_exception(ReadLogFailed("the access log did not answer in time"))


def _fail(r: _Read, exc: BaseException) -> None:
    if not r.done.done():
        failed = ReadLogFailed("the access log could not be written")
        failed.__cause__ = exc
        r.done.set_exception(failed)


@dataclass
class Floor:
    """One event loop's batches of audited reads, on connections of their own."""

    log: ReadLog

    async def close(self) -> None:
        await self.log.pool.close()


_FLOORS = "emhana_bench_floor_async"  # app.state: the Floor of each event loop


def conninfo(app: FastAPI) -> str:
    """The libpq form of the application's database URL (its search_path option kept)."""
    return libpq_url(app.state.engine.url)


def floor_of(app: FastAPI) -> Floor:
    """The application's Floor on the running event loop (made on first use; a TestClient runs its own loop)."""
    floors: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Floor] | None = getattr(app.state, _FLOORS, None)
    if floors is None:
        floors = weakref.WeakKeyDictionary()
        setattr(app.state, _FLOORS, floors)
    loop = asyncio.get_running_loop()
    found = floors.get(loop)
    if found is None:
        found = floors[loop] = Floor(ReadLog(Pool(conninfo(app), LEADERS)))
    return found


async def close(app: FastAPI) -> None:
    """Close the running event loop's connections of the route (at the server's shutdown; tests)."""
    floors = getattr(app.state, _FLOORS, None)
    if floors is not None:
        found = floors.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.close()


@router.get(PATH + "/{person_id}")
async def floor_async(
    person_id: int,
    request: Request,
    actor: Annotated[Actor, require(Can.READ_PERSON_ATTACHMENTS)],
) -> dict[str, Any]:
    """Return a person's open attachment (its entity, start, the person's sex and birth date) to a reader of
    that entity, the read logged before the answer."""
    event = event_row(
        actor=actor,
        action=ACTION,
        object_type="person",
        object_id=person_id,
        subject_person_id=person_id,
        purpose=PURPOSE,
    )
    found = await floor_of(request.app).log.read(person_id, actor.entity_id, event)
    if found is None:
        raise NotFound()
    entity, since, sex, birth = found
    return {
        "person": person_id,
        "entity": entity,
        "since": str(since),
        "sex": sex,
        "birth_date": str(birth) if birth else None,
    }


def install(app: FastAPI) -> None:
    """Add the route to the benchmark server's application (emhana.devtools.bench.floor.create_app), its
    connections closed at shutdown."""
    app.include_router(router)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with inner(application) as state:
            try:
                yield state
            finally:
                await close(application)

    app.router.lifespan_context = lifespan
