"""The access log of reads, written with group commit: many requests' audit events, one transaction, one fsync.

A read of personal data is answered only once its audit event is durable (docs/access-log.md). Written in the
read's own transaction, that costs every read a write transaction, a chain-head lock and an fsync at commit.
Here a read that runs in a read-only unit of work instead hands its events to :func:`log_read`; they wait on
the session until it commits, and its ``before_commit`` hands them to the process's :class:`GroupLog` of the
primary engine and blocks until they are committed:

* a request whose events no leader has taken leads when fewer than ``leaders`` batches are being written (two
  on PostgreSQL, one on SQLite, whose writes take turns anyway): it waits ``gather`` seconds for others (nothing
  when it is alone), takes every waiting request's events (up to ``max_rows``), writes them in one transaction
  through the registered writer (on PostgreSQL one statement on an autocommit connection, its own transaction:
  one round trip; see ``emhana.trust.chain.readlog``), then wakes the requests whose events it wrote, and only
  them (each request waits on a lock of its own);
* the others wait for the batch that took their events, or for the lead, which a leader that is done hands to
  the first request still waiting;
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
from collections import deque
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

_writer: list[tuple[Writer, bool]] = []


def set_writer(writer: Writer, *, one_statement: bool = False) -> None:
    """Register how a batch is written on a connection (the trust layer links the chain).

    ``one_statement``: on PostgreSQL the writer writes a batch with one statement, atomic on its own, so the log's
    connections stay in autocommit and that statement is the batch's whole transaction (one round trip, one
    fsync). Any other writer runs there between a BEGIN and a COMMIT of the log's; elsewhere (SQLite) every writer
    runs in the log's transaction."""
    _writer[:] = [(writer, one_statement)]


class ReadLogFailed(RuntimeError):
    """The events of a read could not be made durable: the read must not be answered."""


def _locked() -> Any:
    """A lock already held: released to wake the one request that waits on it."""
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Ticket:
    """One request's events, and how it learns their outcome: its own lock, released to wake only it."""

    rows: Sequence[Row]
    taken: bool = False  # in a leader's batch
    done: bool = False
    leading: bool = False  # its request leads (or has been handed the lead)
    lead: bool = False  # handed the lead by a leader that is done while this one still waited
    error: BaseException | None = None
    signaled: bool = False  # the wake lock is released and not yet taken again by its request
    wake: Any = field(default_factory=_locked)


@dataclass
class GroupLog:
    """Group commit of read events for one engine in one process (see the module's docstring)."""

    engine: Engine
    gather: float = GATHER_SECONDS
    max_rows: int = MAX_ROWS
    leaders: int = 0  # batches written at once (0: LEADERS on PostgreSQL, 1 on SQLite, whose writes take turns)
    batches: int = 0  # transactions committed (for tests and benchmarks)
    _mutex: Any = field(default_factory=threading.Lock)
    _queue: deque[_Ticket] = field(default_factory=deque)
    _leading: int = 0  # leaders writing now (or handed the lead and about to)
    _last: int = 0  # requests in the last batch
    _own: Engine | None = None
    _idle: list[Connection] = field(default_factory=list)  # the log's own connections, between batches

    def __post_init__(self) -> None:
        self._postgres = self.engine.dialect.name == "postgresql"
        if self.leaders <= 0:
            self.leaders = LEADERS if self._postgres else 1

    def append(self, rows: Sequence[Row], timeout: float = WAIT_SECONDS) -> None:
        """Write the rows durably with those of concurrent requests; return once committed, else raise."""
        if not rows:
            return
        ticket = _Ticket(rows)
        deadline = time.monotonic() + timeout
        with self._mutex:
            self._queue.append(ticket)
            lead = ticket.leading = self._leading < self.leaders
            if lead:
                self._leading += 1
        if lead or self._wait(ticket, deadline):  # at once, or handed over by a leader that is done
            self._lead(ticket, deadline)
        if ticket.error is not None:
            raise ReadLogFailed("the access log could not be written") from ticket.error

    def _wait(self, ticket: _Ticket, deadline: float) -> bool:
        """Wait until the ticket's events are written (or failed), or it is handed the lead (then True: the
        request must lead, even if its own events are written meanwhile, to hand the lead on)."""
        while True:
            woken = ticket.wake.acquire(timeout=max(deadline - time.monotonic(), 0.05 if ticket.taken else 0.0))
            with self._mutex:
                if woken:
                    ticket.signaled = False
                if ticket.lead:
                    ticket.lead = False
                    return True
                if ticket.done:
                    return False
                if not woken and not ticket.taken:  # never written: nobody will write it now
                    self._queue.remove(ticket)
                    raise ReadLogFailed("the access log did not answer in time")
                # (taken by a leader that is still writing: its outcome decides, wait for it)

    def _lead(self, mine: _Ticket, deadline: float) -> None:
        """Write batches from the head of the queue until the leader's own events are written, or another leader
        has taken them; then hand the lead to the first request still waiting (or give it up) and, if another
        leader took the events, wait for its outcome like any other request."""
        try:
            while not mine.done:
                if self.gather > 0 and self._last > 1:  # others were reading a moment ago: let them join
                    time.sleep(self.gather)
                with self._mutex:
                    batch: list[_Ticket] = []
                    size = 0
                    while self._queue and (not batch or size + len(self._queue[0].rows) <= self.max_rows):
                        t = self._queue.popleft()
                        t.taken = True
                        batch.append(t)
                        size += len(t.rows)
                if not batch:
                    break
                self._write(batch)
        finally:
            with self._mutex:
                following = next((t for t in self._queue if not t.leading), None)
                if following is not None:  # the lead passes on: the count of leaders stays
                    following.leading = following.lead = True
                    _signal(following)
                else:
                    self._leading -= 1
        if not mine.done:
            self._wait(mine, max(deadline, time.monotonic() + 0.05))

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
        with self._mutex:
            for t in batch:
                t.done = True
                _signal(t)

    def _commit(self, rows: Sequence[Row]) -> None:
        if not _writer:
            raise ReadLogFailed("no access-log writer is registered (import emhana.trust.chain.readlog)")
        writer, one_statement = _writer[0]
        for attempt in (1, 2):
            conn, kept = self._connection()
            try:
                with conn.begin():
                    if self._postgres and not one_statement:  # autocommit: a transaction of the log's own
                        conn.exec_driver_sql("BEGIN")
                        writer(conn, rows)
                        conn.exec_driver_sql("COMMIT")
                    else:  # one statement: its own transaction (PostgreSQL), else the log's (SQLite)
                        writer(conn, rows)
            except BaseException as exc:
                conn.invalidate()  # whatever went wrong, the next batch starts on a fresh connection
                conn.close()
                # A kept connection the server dropped meanwhile (a restart): once more on a new one. The events
                # are at most written twice, never lost (docs/access-log.md, "What a crash can lose").
                if attempt == 1 and kept and isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    continue
                raise
            with self._mutex:
                self._idle.append(conn)
                self.batches += 1
            return

    def _connection(self) -> tuple[Connection, bool]:
        """One of the log's own connections, and whether it was kept open since an earlier batch (no checkout and
        no ping per batch)."""
        with self._mutex:
            if self._idle:
                return self._idle.pop(), True
            if self._own is None:
                # Connections of its own, outside the application's pool: the requests waiting for a batch may hold
                # every pooled connection (one per leader). On PostgreSQL in autocommit: a batch written with one
                # statement commits with it, in the same round trip.
                url = self.engine.url.render_as_string(hide_password=False)
                options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if self._postgres else {}
                own = self._own = make_engine(url, pool_size=self.leaders, max_overflow=0, **options)
                me = weakref.ref(self)
                event.listen(self.engine, "engine_disposed", lambda _engine: _close(me()))  # ends with the app's
                weakref.finalize(self, own.dispose)
            own = self._own
        return own.connect(), False

    def close(self) -> None:
        """Close the log's own connections (they open again on the next batch)."""
        with self._mutex:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        if self._own is not None:
            self._own.dispose()


def _signal(ticket: _Ticket) -> None:
    """Wake the ticket's request (under the log's mutex; at most one release until it has woken)."""
    if not ticket.signaled:
        ticket.signaled = True
        ticket.wake.release()


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
