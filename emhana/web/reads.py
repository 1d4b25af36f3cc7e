"""Reads of personal data served on the event loop (PostgreSQL), and their synchronous path elsewhere.

A route that reads personal data and writes nothing but its access log can be an ``async def`` that asks for
``async_reads(request)``: on PostgreSQL it gets its event loop's ``AsyncReads``, whose ``rows`` reads in batches with
other requests (``emhana.kernel.batched``: one statement and one round trip for all requests waiting, no worker
thread, no SQLAlchemy session) and whose ``log`` writes the read's audit events with those of other requests
(``emhana.audit.readlog_async``) and returns once they are durable: the answer is sent only after. On SQLite it gets
None and runs its synchronous read with ``logged_read``: the same read-only unit of work as
``LoggedReadSessionDep``, in one worker thread, its events written by ``emhana.audit.readlog`` before it returns
(docs/access-log.md, "Reads on the event loop").

Each event loop of an application has its own connections (a server process has one loop; a test client has one
per ``with`` block): a few for the reads and a few for the access log, opened on first use, closed at the
application's shutdown or when its engine is disposed.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from fastapi import FastAPI, Request
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from emhana.audit import readlog
from emhana.audit.readlog_async import AsyncGroupLog
from emhana.kernel.batched import LEADERS, PLANNING, POOL_SIZE, Batched, Batches, Pool, Row
from emhana.kernel.db import libpq_url, read_only_session, unit_of_work
from emhana.trust.chain import readlog as _chain_readlog  # noqa: F401  (registers the access log's writers)

T = TypeVar("T")
# The connections' application_name in pg_stat_activity, with the server process's id.
READS_NAME, LOG_NAME = "emhana reads", "emhana access log"


@dataclass
class AsyncReads:
    """An event loop's batched reads and access log (see the module's docstring)."""

    batches: Batches
    log_: AsyncGroupLog

    async def rows(self, stmt: Batched, params: Mapping[str, Any]) -> list[Row]:
        """The statement's rows for this request's parameters (read in a batch; BatchFailed: not answered)."""
        return await self.batches.rows(stmt, params)

    def ask(self, stmt: Batched, params: Mapping[str, Any]) -> asyncio.Future[list[Row]]:
        """``rows`` without awaiting: the future of the rows (several asked at once share no task)."""
        return self.batches.ask(stmt, params)

    async def log(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Write the read's audit events (``emhana.audit.service.event_row``); return once they are durable
        (ReadLogFailed: the read must not be answered)."""
        await self.log_.append(events)

    async def close(self) -> None:
        await self.batches.pool.close()
        await self.log_.pool.close()

    def abandon(self) -> None:
        self.batches.pool.abandon()
        self.log_.pool.abandon()


_STATE = "emhana_async_reads"  # app.state: the AsyncReads of each event loop
_LOCK = threading.Lock()


def _loops(app: FastAPI) -> dict[asyncio.AbstractEventLoop, AsyncReads]:
    found: dict[asyncio.AbstractEventLoop, AsyncReads] | None = getattr(app.state, _STATE, None)
    if found is None:
        with _LOCK:
            found = getattr(app.state, _STATE, None)
            if found is None:
                found = {}
                setattr(app.state, _STATE, found)
                engine: Engine = app.state.engine
                loops = weakref.ref(app.state)
                event.listen(engine, "engine_disposed", lambda _engine: _abandon(loops()))
    return found


def _abandon(state: Any) -> None:
    loops: dict[asyncio.AbstractEventLoop, AsyncReads] | None = getattr(state, _STATE, None) if state else None
    if loops:
        for loop in list(loops):
            loops.pop(loop).abandon()


def reads_of(app: FastAPI) -> AsyncReads:
    """The application's AsyncReads on the running event loop (made on first use). The connections of a loop that
    has ended meanwhile (a test client's, without the application's shutdown) are closed here: nothing can use
    them any more."""
    loops = _loops(app)
    loop = asyncio.get_running_loop()
    found = loops.get(loop)
    if found is None:
        for ended in [other for other in loops if other.is_closed()]:
            loops.pop(ended).abandon()
        conninfo = libpq_url(app.state.engine.url)
        found = loops[loop] = AsyncReads(
            Batches(Pool(conninfo, POOL_SIZE, f"{READS_NAME} {os.getpid()}", PLANNING)),
            AsyncGroupLog(Pool(conninfo, LEADERS, f"{LOG_NAME} {os.getpid()}")),
        )
    return found


async def close(app: FastAPI) -> None:
    """Close the running event loop's connections of the application (at its shutdown)."""
    loops = getattr(app.state, _STATE, None)
    if loops is not None:
        found = loops.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.close()


def async_reads(request: Request) -> AsyncReads | None:
    """The request's event loop's AsyncReads on PostgreSQL; None elsewhere (the route reads synchronously). Called
    by the route itself (on the event loop), not declared as a dependency: each dependency FastAPI solves costs a
    read on this path several per cent of its time."""
    if request.app.state.engine.dialect.name != "postgresql":
        return None
    return reads_of(request.app)


async def logged_read(request: Request, read: Callable[[Session], T]) -> T:
    """Run a synchronous read of personal data in one worker thread: a read-only unit of work on the primary whose
    audit events are written by the access log before this returns (as ``LoggedReadSessionDep``); shielded from
    cancellation so that a client that goes away leaves no connection checked out."""
    with anyio.CancelScope(shield=True):
        result = await run_in_threadpool(_read_and_log, request.app.state.sessions, request.app.state.engine, read)
    return result


def _read_and_log(sessions: Any, engine: Engine, read: Callable[[Session], T]) -> T:
    session = read_only_session(sessions)
    readlog.attach(session, engine)
    try:
        result = read(session)
        primary, rows = readlog.take(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    readlog.log_of(primary).append(rows)  # the read's connection is back in the pool while it waits
    return result


async def in_read_only_session(request: Request, read: Callable[[Session], T]) -> T:
    """Run a synchronous read that logs nothing (reference data an answer needs) in a worker thread, in a
    read-only unit of work of its own."""
    sessions = request.app.state.sessions

    def run() -> T:
        with unit_of_work(sessions, read_only=True) as session:
            return read(session)

    return await run_in_threadpool(run)
