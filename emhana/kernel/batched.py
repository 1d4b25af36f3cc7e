"""Reads of many requests in one statement, on the event loop: PostgreSQL over psycopg's async connections.

A read that serves one request is a statement with a few scalar parameters (a person's id, the reader's
organization). Under load many requests of a server process wait for the same statement at once; sent one by
one, each costs a round trip, a thread and a SQLAlchemy session (benchmarks/RESULTS.md: an audited read at a
seventh of ping, most of it spent there). ``Batches.rows`` instead queues the request's parameters and returns its
rows once a batch that took them has run: the statement once for all requests waiting at that moment,

    SELECT q.n, x.* FROM unnest(%(person)s::text[]::bigint[], ...) WITH ORDINALITY AS q(person, ..., n)
    CROSS JOIN LATERAL (<the statement, its parameters read from q>) AS x

one round trip and one snapshot for the batch (each request's rows are one consistent read, as in a read-only
transaction). The statement is the one the synchronous path runs (a Core statement, compiled here once for
PostgreSQL), so both answer from the same SQL. A request's rows come in the statement's own order: the LATERAL
subquery is run once per request, in the order of ``q`` (a parameterised nested loop: a subquery that reads
``q`` cannot be joined any other way), and each run keeps its ORDER BY; tests/kernel/test_batched.py checks it.

Batches are gathered as the access log gathers its writes (``emhana.audit.readlog``): at most ``leaders``
statements of a kind run at once, and a request that no batch has taken yet joins the next one; a failed batch is
run again one request at a time, so a bad parameter fails only its own request. Connections are a few
autocommit connections of the event loop's own (``Pool``), never the application's SQLAlchemy pool.

PostgreSQL only: on SQLite the routes keep their synchronous path (a read-only unit of work in a worker thread).
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import literal_column
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.expression import Executable

Row = tuple[Any, ...]

LEADERS = 2  # batches of one statement run at once
MAX_REQUESTS = 500  # requests in one batch
WAIT_SECONDS = 30.0  # a request waits at most this long for its batch, then fails (its read is not answered)
POOL_SIZE = 4  # connections of an event loop's reads


class Reader(Protocol):
    """What a read served on the event loop needs (``emhana.web.reads.AsyncReads``): its statements' rows, awaited
    (``rows``) or asked ahead (``ask``, then ``each``)."""

    async def rows(self, stmt: Batched, params: Mapping[str, Any]) -> list[Row]: ...

    def ask(self, stmt: Batched, params: Mapping[str, Any]) -> asyncio.Future[list[Row]]: ...


class BatchFailed(RuntimeError):
    """A batched read did not answer (it failed, or not in time): the request is not answered."""


# How a batched statement is planned on these connections: once (prepared, a generic plan), and as what it is, a few
# probes by key for each request of the batch. PostgreSQL's default would plan it anew for each execution's arrays
# after its first five (their custom plans look cheaper), and that planning cost several times the execution (0.7 ms
# against 0.12 ms for a FHIR Patient's batch of four). A plan made once must not hang on the statistics of its
# moment: with seq scans and hash joins allowed, the plan of a key lookup made while a table was small (a fresh
# audit_event, a few medical examinations) scans the whole table at every execution once it has grown, until the
# table is analysed again. Without them every statement is planned as index probes (web tests: the plans). And
# no JIT: a probe's plan costed over jit_above_cost (a book's jobs, estimated at a thousand rows a book at 20.5 M
# persons) was compiled at every execution, 17 ms for a statement that runs in 0.05 ms.
PLANNING = "SELECT " + ", ".join(
    f"set_config('{name}', '{value}', false)"
    for name, value in (
        ("plan_cache_mode", "force_generic_plan"),
        ("enable_seqscan", "off"),
        ("enable_hashjoin", "off"),
        ("enable_mergejoin", "off"),
        ("jit", "off"),
    )
)


class Pool:
    """A few autocommit connections of one event loop, opened on first use, a broken one replaced on its next use;
    ``setup``: a statement each runs once opened (``PLANNING`` for batched reads)."""

    def __init__(self, conninfo: str, size: int, name: str = "emhana", setup: str | None = None) -> None:
        self.conninfo = conninfo
        self.name = name  # the connections' application_name (pg_stat_activity)
        self.setup = setup  # settings as a statement: as connection options they would replace the URL's own
        self._free: asyncio.LifoQueue[psycopg.AsyncConnection[Any] | None] = asyncio.LifoQueue()
        self._open: set[psycopg.AsyncConnection[Any]] = set()
        for _ in range(size):
            self._free.put_nowait(None)  # a slot whose connection is not open yet

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await self._free.get()
        try:
            if conn is None or conn.closed:
                if conn is not None:
                    self._open.discard(conn)
                conn = None
                conn = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, prepare_threshold=0, application_name=self.name
                )
                if self.setup is not None:
                    await conn.execute(self.setup, prepare=False)
                self._open.add(conn)
            yield conn
        finally:
            # a statement cut off midway (a cancelled request) leaves the connection busy: drop it
            if conn is not None and conn.info.transaction_status != TransactionStatus.IDLE:
                self._open.discard(conn)
                await conn.close()
                conn = None
            self._free.put_nowait(conn)

    async def close(self) -> None:
        for conn in list(self._open):
            await conn.close()
        self._open.clear()

    def abandon(self) -> None:
        """Close the connections without their event loop (it may be gone): the sockets only."""
        for conn in list(self._open):
            conn.pgconn.finish()
        self._open.clear()


_DIALECT = pg_psycopg.dialect()  # type: ignore[no-untyped-call]
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Batched:
    """A statement of one request's read, to be run for many requests at once (see the module's docstring).

    ``params``: the per-request parameters and their PostgreSQL types (``{"person": "bigint"}``)."""

    name: str
    sql: str
    params: tuple[str, ...]

    @classmethod
    def of(cls, name: str, stmt: Executable | str, params: Mapping[str, str]) -> Batched:
        """``stmt``: a Core statement whose bound parameters named in ``params`` are the request's (its other bound
        values, constants of the statement, are written into it as literals), or SQL text reading them as
        ``%(name)s``."""
        if isinstance(stmt, str):
            found = set(_PLACEHOLDER.findall(stmt))
            lateral = _PLACEHOLDER.sub(lambda m: f'q."{m.group(1)}"' if m.group(1) in params else m.group(0), stmt)
        else:
            found = set()

            def from_q(element: Any, **_kw: Any) -> Any:
                if isinstance(element, BindParameter) and element.key in params:
                    found.add(element.key)
                    return literal_column(f'q."{element.key}"')  # quoted: a name may be a keyword (end)
                return None

            replaced: Any = visitors.replacement_traverse(cast(Any, stmt), {}, from_q)
            lateral = str(replaced.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
        if not set(params) <= found:
            raise ValueError(f"{name}: parameters {sorted(set(params) - found)} are not in the statement")
        arrays = ", ".join(f"%({p})s::text[]::{t}[]" for p, t in params.items())
        names = ", ".join(f'"{p}"' for p in params)
        sql = (
            f"SELECT q.n, x.* FROM unnest({arrays}) WITH ORDINALITY AS q({names}, n)\n"
            f"CROSS JOIN LATERAL (\n{lateral}\n) AS x"
        )
        return cls(name, sql, tuple(params))

    def batch_params(self, requests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The batch's parameters: one array (as text) per request parameter."""
        return {p: [_text(r[p]) for r in requests] for p in self.params}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@dataclass(eq=False)
class _Ask:
    params: Mapping[str, Any]
    done: asyncio.Future[list[Row]]


@dataclass
class _Queue:
    waiting: deque[_Ask] = field(default_factory=deque)
    running: int = 0


@dataclass
class Batches:
    """The batched reads of one event loop (see the module's docstring)."""

    pool: Pool
    leaders: int = LEADERS
    max_requests: int = MAX_REQUESTS
    wait: float = WAIT_SECONDS
    batches: int = 0  # statements run (for tests and benchmarks)
    _queues: dict[str, _Queue] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def rows(self, stmt: Batched, params: Mapping[str, Any]) -> list[Row]:
        """Return the rows of the statement for one request's parameters, read in a batch with other requests'."""
        return await self.ask(stmt, params)

    def ask(self, stmt: Batched, params: Mapping[str, Any]) -> asyncio.Future[list[Row]]:
        """Queue one request's read of the statement; return the future of its rows (several asked before any is
        awaited run at once, each in its statement's batch, without a task each as ``asyncio.gather`` would make)."""
        loop = asyncio.get_running_loop()
        ask = _Ask(params, loop.create_future())
        queue = self._queues.setdefault(stmt.name, _Queue())
        queue.waiting.append(ask)
        if queue.running < self.leaders:  # a batch more: it takes everything queued when it starts
            queue.running += 1
            task = loop.create_task(self._drain(stmt, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        expiry = loop.call_later(self.wait, _expire, ask)
        ask.done.add_done_callback(lambda _done: expiry.cancel())
        return ask.done

    async def _drain(self, stmt: Batched, queue: _Queue) -> None:
        try:
            while queue.waiting:
                batch = [queue.waiting.popleft() for _ in range(min(self.max_requests, len(queue.waiting)))]
                await self._run_batch(stmt, batch)
        finally:
            queue.running -= 1

    async def _run_batch(self, stmt: Batched, batch: list[_Ask]) -> None:
        try:
            found = await self._run(stmt, batch)
        except Exception as exc:  # noqa: BLE001 - each request learns its own outcome below
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            for ask in batch:  # one bad parameter must not fail the others' reads
                try:
                    one = await self._run(stmt, [ask])
                except Exception as failed:  # noqa: BLE001
                    _fail(ask, failed)
                else:
                    _answer(ask, one[0])
            return
        for ask, rows in zip(batch, found, strict=True):
            _answer(ask, rows)

    async def _run(self, stmt: Batched, batch: list[_Ask]) -> list[list[Row]]:
        params = stmt.batch_params([a.params for a in batch])
        for attempt in (1, 2):
            try:
                async with self.pool.connection() as conn:
                    rows = await (await conn.execute(stmt.sql, params)).fetchall()
                break
            except psycopg.OperationalError:  # a kept connection the server dropped (a restart): once more
                if attempt == 2:
                    raise
        self.batches += 1
        out: list[list[Row]] = [[] for _ in batch]
        for n, *rest in rows:
            out[int(n) - 1].append(tuple(rest))
        return out


async def each(*asked: asyncio.Future[list[Row]]) -> list[list[Row]]:
    """Await the futures of ``Batches.ask`` in turn; when one fails, the others' outcomes are still taken when they
    come (no "exception never retrieved")."""
    try:
        return [await a for a in asked]
    except BaseException:
        for a in asked:
            a.add_done_callback(_taken)
        raise


def _taken(future: asyncio.Future[list[Row]]) -> None:
    if not future.cancelled():
        future.exception()


def _answer(ask: _Ask, rows: list[Row]) -> None:
    if not ask.done.done():
        ask.done.set_result(rows)


def _expire(ask: _Ask) -> None:
    if not ask.done.done():
        ask.done.set_exception(BatchFailed("the database did not answer in time"))


def _fail(ask: _Ask, exc: BaseException) -> None:
    if not ask.done.done():
        failed = BatchFailed("the read failed")
        failed.__cause__ = exc
        ask.done.set_exception(failed)
