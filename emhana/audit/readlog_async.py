"""The access log of reads served on the event loop: group commit with asyncio (PostgreSQL only).

The same promise as ``emhana.audit.readlog`` (docs/access-log.md): a read of personal data is answered only once its
audit event is durable. A read served on the event loop (``emhana.web.reads.async_reads``) hands its events to
its loop's ``AsyncGroupLog`` and awaits them:

* a request whose events no batch has taken starts one when fewer than ``leaders`` batches are being written,
  else it waits for the next; a batch takes every request waiting (up to ``max_rows`` events) and writes them
  with the registered writer (the trust layer's one statement, ``emhana.trust.chain.readlog.write_async``: the
  events, their chain links and the moved heads, on an autocommit connection: the statement is the batch's whole
  transaction, committed, with its fsync, before any of its requests is answered);
* a failed batch is written again one request at a time: a bad row fails only its own read (500, nothing shown);
* a request that is not written within ``wait`` seconds fails; a request cancelled meanwhile leaves its batch to
  go on (its events may be written for a read that was not answered: an over-report, never an under-report).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from emhana.audit.readlog import LEADERS, MAX_ROWS, WAIT_SECONDS, ReadLogFailed
from emhana.kernel.batched import Pool

Row = Mapping[str, Any]
AsyncWriter = Callable[[psycopg.AsyncConnection[Any], Sequence[Row]], Awaitable[None]]

_writer: list[AsyncWriter] = []


def set_writer(writer: AsyncWriter) -> None:
    """Register how a batch is written on an autocommit connection, as one statement (the trust layer links the
    chain)."""
    _writer[:] = [writer]


@dataclass(eq=False)
class _Entry:
    rows: Sequence[Row]
    done: asyncio.Future[None]


@dataclass
class AsyncGroupLog:
    """Group commit of read events for one event loop (see the module's docstring)."""

    pool: Pool
    leaders: int = LEADERS
    max_rows: int = MAX_ROWS
    wait: float = WAIT_SECONDS
    batches: int = 0  # statements committed (for tests and benchmarks)
    _queue: deque[_Entry] = field(default_factory=deque)
    _writing: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def append(self, rows: Sequence[Row]) -> None:
        """Write the rows durably with those of concurrent requests; return once committed, else raise
        ReadLogFailed."""
        if not rows:
            return
        loop = asyncio.get_running_loop()
        entry = _Entry(rows, loop.create_future())
        self._queue.append(entry)
        if self._writing < self.leaders:
            self._writing += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        expiry = loop.call_later(self.wait, _expire, entry)
        try:
            await entry.done
        finally:
            expiry.cancel()

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch: list[_Entry] = []
                size = 0
                while self._queue and (not batch or size + len(self._queue[0].rows) <= self.max_rows):
                    entry = self._queue.popleft()
                    batch.append(entry)
                    size += len(entry.rows)
                await self._write(batch)
        finally:
            self._writing -= 1

    async def _write(self, batch: list[_Entry]) -> None:
        try:
            await self._commit([r for e in batch for r in e.rows])
        except Exception as exc:  # noqa: BLE001 - each request learns its own outcome below
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            for entry in batch:  # one bad row must not fail the others' reads
                try:
                    await self._commit(entry.rows)
                except Exception as one:  # noqa: BLE001
                    _fail(entry, one)
                else:
                    _succeed(entry)
            return
        for entry in batch:
            _succeed(entry)

    async def _commit(self, rows: Sequence[Row]) -> None:
        if not _writer:
            raise ReadLogFailed("no access-log writer is registered (import emhana.trust.chain.readlog)")
        for attempt in (1, 2):
            try:
                async with self.pool.connection() as conn:
                    await _writer[0](conn, rows)
            except psycopg.OperationalError:
                # a kept connection the server dropped meanwhile (a restart): once more on a new one; the events
                # are at most written twice, never lost (docs/access-log.md, "What a crash can lose")
                if attempt == 2:
                    raise
                continue
            self.batches += 1
            return


def _succeed(entry: _Entry) -> None:
    if not entry.done.done():
        entry.done.set_result(None)


def _expire(entry: _Entry) -> None:
    if not entry.done.done():
        entry.done.set_exception(ReadLogFailed("the access log did not answer in time"))


def _fail(entry: _Entry, exc: BaseException) -> None:
    if not entry.done.done():
        failed = ReadLogFailed("the access log could not be written")
        failed.__cause__ = exc
        entry.done.set_exception(failed)
