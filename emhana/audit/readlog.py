"""The access log of reads, written with group commit: many requests' audit events, one transaction, one fsync.

A read of personal data is answered only once its audit event is durable (docs/access-log.md). Written in the
read's own transaction, that costs every read a write transaction, a chain-head lock and an fsync at commit.
Here a read that runs in a read-only unit of work instead hands its events to :func:`log_read`; they wait on
the session until it commits, and its ``before_commit`` hands them to the process's :class:`GroupLog` of the
primary engine and blocks until they are committed:

* a request whose events no leader has taken leads when fewer than ``leaders`` batches are being written (two
  on PostgreSQL, one on SQLite, whose writes take turns anyway): it waits ``gather`` seconds for others (nothing
  when it is alone), takes every waiting request's events (up to ``max_rows``), writes them in one transaction
  through the registered writer (one multi-row INSERT and their chain links, see
  ``emhana.trust.chain.readlog``) and commits, then wakes the requests whose events it wrote;
* the others wait for the batch that took their events, or lead the next one;
* a batch that fails is retried one request at a time, so a bad row fails only its own read; a request whose
  events could not be written gets the error (its commit fails, the read answers 5xx, never unlogged);
* each leader writes on a connection of the log's own, kept open between batches (no checkout and no ping per
  batch); a kept connection that the server dropped (a restart) is replaced and the batch written once more.

No thread of its own: a waiting request becomes the leader when the leader before it is done, so it works the
same under uvicorn, in tests and in a command. A session that is not read-only writes its read events in its
own transaction, as before (``record_event``), linked at its commit with the rest of what it wrote: a request
that already writes pays its fsync anyway, and one that holds locks must not wait for another transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction

from emhana.audit.models import AuditEvent
from emhana.kernel.db import READ_ONLY, make_engine

Row = Mapping[str, Any]
Writer = Callable[[Connection, Sequence[Row]], None]

READS = "emhana.readlog.rows"  # session.info: the read events waiting for the session's commit
ENGINE = "emhana.readlog.engine"  # session.info: the primary engine that logs them (else the session's own)
GATHER_SECONDS = 0.001
MAX_ROWS = 500
LEADERS = 2  # batches of one process written at once on PostgreSQL (each on a connection of the log's own)
WAIT_SECONDS = 30.0

_writer: list[Writer] = []


def set_writer(writer: Writer) -> None:
    """Register how a batch is written on a connection in its transaction (the trust layer links the chain)."""
    _writer[:] = [writer]


class ReadLogFailed(RuntimeError):
    """The events of a read could not be made durable: the read must not be answered."""


@dataclass(eq=False)
class _Ticket:
    rows: list[dict[str, Any]]
    taken: bool = False  # in a leader's batch
    done: bool = False
    error: BaseException | None = None


@dataclass
class GroupLog:
    """Group commit of read events for one engine in one process (see the module's docstring)."""

    engine: Engine
    gather: float = GATHER_SECONDS
    max_rows: int = MAX_ROWS
    leaders: int = 0  # batches written at once (0: LEADERS on PostgreSQL, 1 on SQLite, whose writes take turns)
    batches: int = 0  # transactions committed (for tests and benchmarks)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _queue: list[_Ticket] = field(default_factory=list)
    _leading: int = 0  # leaders writing now
    _last: int = 0  # requests in the last batch
    _own: Engine | None = None
    _idle: list[Connection] = field(default_factory=list)  # the log's own connections, between batches

    def __post_init__(self) -> None:
        if self.leaders <= 0:
            self.leaders = LEADERS if self.engine.dialect.name == "postgresql" else 1

    def append(self, rows: Sequence[Row], timeout: float = WAIT_SECONDS) -> None:
        """Write the rows durably with those of concurrent requests; return once committed, else raise."""
        ticket = _Ticket([dict(r) for r in rows])
        if not ticket.rows:
            return
        deadline = time.monotonic() + timeout
        with self._cond:
            self._queue.append(ticket)
        while True:
            with self._cond:
                while not ticket.done and (ticket.taken or self._leading >= self.leaders):
                    left = deadline - time.monotonic()
                    if left <= 0 and not ticket.taken:  # never written: nobody will write it now
                        self._queue.remove(ticket)
                        raise ReadLogFailed("the access log did not answer in time")
                    # (taken by a leader that is still writing: its outcome decides, wait for it)
                    self._cond.wait(max(left, 0.05))
                if ticket.done:
                    break
                self._leading += 1
            try:
                self._lead(ticket)
            finally:
                with self._cond:
                    self._leading -= 1
                    self._cond.notify_all()
        if ticket.error is not None:
            raise ReadLogFailed("the access log could not be written") from ticket.error

    def _lead(self, mine: _Ticket) -> None:
        """Write batches from the head of the queue until the leader's own events are written, or another leader
        has taken them (it then waits for that one's outcome like any other request)."""
        while not mine.done:
            if self.gather > 0 and self._last > 1:  # others were reading a moment ago: let them join
                time.sleep(self.gather)
            with self._cond:
                batch: list[_Ticket] = []
                size = 0
                while self._queue and (not batch or size + len(self._queue[0].rows) <= self.max_rows):
                    t = self._queue.pop(0)
                    t.taken = True
                    batch.append(t)
                    size += len(t.rows)
            if not batch:
                return
            self._write(batch)
            with self._cond:
                self._cond.notify_all()

    def _write(self, batch: list[_Ticket]) -> None:
        try:
            self._commit([r for t in batch for r in t.rows])
        except BaseException as exc:  # noqa: BLE001 - each request learns its own outcome below
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for t in batch:  # one bad row must not fail the others' reads
                    try:
                        self._commit(t.rows)
                    except BaseException as one:  # noqa: BLE001
                        t.error = one
        self._last = len(batch)
        with self._cond:
            for t in batch:
                t.done = True

    def _commit(self, rows: Sequence[Row]) -> None:
        if not _writer:
            raise ReadLogFailed("no access-log writer is registered (import emhana.trust.chain.readlog)")
        for attempt in (1, 2):
            conn, kept = self._connection()
            try:
                with conn.begin():
                    _writer[0](conn, rows)
            except BaseException as exc:
                conn.invalidate()  # whatever went wrong, the next batch starts on a fresh connection
                conn.close()
                # A kept connection the server dropped meanwhile (a restart): once more on a new one. The events
                # are at most written twice, never lost (docs/access-log.md, "What a crash can lose").
                if attempt == 1 and kept and isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    continue
                raise
            with self._cond:
                self._idle.append(conn)
            self.batches += 1
            return

    def _connection(self) -> tuple[Connection, bool]:
        """One of the log's own connections, and whether it was kept open since an earlier batch (no checkout and
        no ping per batch)."""
        with self._cond:
            if self._idle:
                return self._idle.pop(), True
            if self._own is None:
                # Connections of its own, outside the application's pool: the requests waiting for a batch may hold
                # every pooled connection (one per leader).
                url = self.engine.url.render_as_string(hide_password=False)
                own = self._own = make_engine(url, pool_size=self.leaders, max_overflow=0)
                me = weakref.ref(self)
                event.listen(self.engine, "engine_disposed", lambda _engine: _close(me()))  # ends with the app's
                weakref.finalize(self, own.dispose)
            own = self._own
        return own.connect(), False

    def close(self) -> None:
        """Close the log's own connections (they open again on the next batch)."""
        with self._cond:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        if self._own is not None:
            self._own.dispose()


def _close(log: GroupLog | None) -> None:
    if log is not None:
        log.close()


_LOGS: weakref.WeakKeyDictionary[Engine, GroupLog] = weakref.WeakKeyDictionary()
_LOGS_LOCK = threading.Lock()


def log_of(engine: Engine) -> GroupLog:
    """Return the process's group log of an engine (made on first use)."""
    found = _LOGS.get(engine)
    if found is None:
        with _LOGS_LOCK:
            found = _LOGS.get(engine)
            if found is None:
                found = _LOGS[engine] = GroupLog(engine)
    return found


def attach(session: Session, engine: Engine) -> None:
    """Have the read events of a read-only session written through the primary ``engine`` (a read on a replica
    is logged on the primary)."""
    session.info[ENGINE] = engine


def is_read_only(session: Session) -> bool:
    """Tell whether the session runs in a read-only unit of work (``kernel.db.unit_of_work(read_only=True)``)."""
    bind = session.get_bind()
    return bool(bind.get_execution_options().get(READ_ONLY)) if isinstance(bind, Engine) else False


def log_read(session: Session, row: Row) -> None:
    """Log one read (an ``emhana.audit.service.event_row``): batched at the commit of a read-only session,
    else added to the session's own transaction."""
    if is_read_only(session):
        if not session.in_transaction():
            session.begin()  # so that a rollback of the read, which drops its events, is seen
        session.info.setdefault(READS, []).append(dict(row))
    else:
        session.add(AuditEvent(**row))


def _primary(session: Session) -> Engine:
    engine = session.info.get(ENGINE)
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    return getattr(bind, "_proxied", bind)  # a reader() is an option view of the primary engine


_COLUMNS = ("at", "account_id", "action", "subject_person_id", "object_type", "object_id", "purpose")


@event.listens_for(Session, "before_flush")
def _take_events(session: Session, _flush: Any, _instances: Any) -> None:
    """Audit events added to a read-only session's ORM (``record_event``: a read's own event, or the flag of an
    account that read too much) join its read events instead of being written in it (where writes are refused)."""
    if not session.new or not is_read_only(session):
        return
    for obj in [o for o in session.new if isinstance(o, AuditEvent)]:
        row = {c: getattr(obj, c) for c in _COLUMNS}
        row["at"] = row["at"].astimezone(dt.UTC)
        row["purpose"] = row["purpose"] or ""
        session.info.setdefault(READS, []).append(row)
        session.expunge(obj)


def take(session: Session) -> tuple[Engine, list[dict[str, Any]]]:
    """Take the read events waiting on a read-only session, with the engine that logs them, to append them to its
    log (``log_of(engine).append``) once the session has ended and given its connection back."""
    if READS not in session.info and not (session.new and is_read_only(session)):
        return _primary(session), []
    session.flush()  # events still in the ORM join the others (``_take_events``)
    return _primary(session), session.info.pop(READS, [])


@event.listens_for(Session, "before_commit")
def _write_reads(session: Session) -> None:
    engine, rows = take(session)
    if rows:
        log_of(engine).append(rows)  # raises: the commit fails, the read is not answered


@event.listens_for(Session, "after_soft_rollback")
def _drop_reads(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole read rolled back: it was not answered, nothing to log
        session.info.pop(READS, None)
