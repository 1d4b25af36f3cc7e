"""Engine, sessions and the unit of work; SQLite runs in WAL mode with foreign keys on.

Writes are serialized alike on both databases (issue 14). PostgreSQL takes row locks (SELECT ... FOR UPDATE)
where a use case reads, checks and then writes: the person row of an attachment, the application being
decided, the district whose load is counted. SQLite ignores FOR UPDATE, and Python's sqlite3 driver, left to
itself, sends no BEGIN before a SELECT: each read then ran on its own, and two requests could both read
"version 1, no application pending" before either wrote. So on SQLite SQLAlchemy, not the driver, begins
every transaction, with ``BEGIN IMMEDIATE``: the transaction holds the database's one write lock from its
first statement to its end, and a read-check-write sequence cannot interleave with another. The second
request waits (up to the busy timeout) and then reads what the first committed, as behind PostgreSQL's row
lock: the same 412 or 409.

Every unit of work takes the lock unless it says it will only read (``unit_of_work(..., read_only=True)``,
``reader(engine)``). A request cannot say so in advance: reads of personal data are themselves logged, and
the audit event is chained at commit (a read of the chain's head, then a write), so most GETs write. A
deferred transaction that reads and then writes fails outright (SQLITE_BUSY_SNAPSHOT, a 500) whenever
another one committed in between, which is worse than waiting a few milliseconds for the lock. A read-only
unit of work (long reports, `audit verify`, the cookie lookup of an error page) instead runs in a plain
deferred transaction, one consistent snapshot that never blocks or waits for writers (WAL), and the database
refuses any write in it (``PRAGMA query_only``; a READ ONLY transaction on PostgreSQL), so the flag cannot
hide a write from the lock.

Durability: SQLite runs with ``synchronous=FULL``: the WAL is synced to disk at every commit, so a
transaction acknowledged to a client survives a crash of the process, of the operating system or a power
loss (docs/architecture.md, "Transactions and durability").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, BigInteger, Connection, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The execution option of a unit of work that only reads (see the module's docstring).
READ_ONLY = "emhana_read_only"
# Where a pooled SQLite connection remembers whether it is in query-only mode.
_QUERY_ONLY = "emhana_query_only"

# The application's pooled PostgreSQL connections are checked (a round trip) before use only after this long idle.
PING_AFTER_IDLE_SECONDS = 1.0
# Where a pooled connection's record remembers when it was last given back to the pool.
_CHECKED_IN = "emhana_checked_in"

# 64-bit keys on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base for every table of every domain."""

    metadata = MetaData(naming_convention=NAMING)


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: URL, drivername: str = "postgresql") -> str:
    """Render a PostgreSQL URL as text libpq reads too: a space in its query (between two server ``options``) as
    ``%20``, not as the ``+`` SQLAlchemy writes, which libpq would keep as a plus."""
    text_form = url.set(drivername=drivername).render_as_string(hide_password=False)
    head, sep, query = text_form.partition("?")
    return head + sep + query.replace("+", "%20")  # a plus of the values themselves is written %2B


def make_engine(url: str, *, ping_after_idle: float | None = None, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, synchronous=FULL and a busy timeout on every
    connection, and BEGIN IMMEDIATE (or a read-only BEGIN) on every transaction. On PostgreSQL a pooled
    connection is pinged before each use (``pool_pre_ping``), or with ``ping_after_idle`` only after it has been
    idle that many seconds (``_ping_when_idle``; the application's primary engine, emhana.app).

    Personal data never reaches a log through the engine: bound parameters are hidden from its log lines
    and error messages, and its DEBUG level (which prints result rows) is capped at INFO
    (tests/hardening/test_no_iin_in_logs.py)."""
    url = normalize_url(url)
    kwargs.setdefault("hide_parameters", True)
    engine_log = logging.getLogger("sqlalchemy.engine.Engine")
    if engine_log.getEffectiveLevel() < logging.INFO:
        engine_log.setLevel(logging.INFO)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # the driver sends no BEGIN of its own: _sqlite_begin does
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()
            # SQLite's lower() folds ASCII only; search must fold Cyrillic and Kazakh letters too.
            dbapi_conn.create_function("lower", 1, _lower, deterministic=True)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            options = conn.get_execution_options()
            read_only = bool(options.get(READ_ONLY))
            if conn.info.get(_QUERY_ONLY, False) != read_only:  # a pooled connection keeps the pragma
                conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
                conn.info[_QUERY_ONLY] = read_only
            if options.get("isolation_level") != "AUTOCOMMIT":
                conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    if ping_after_idle is None:
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, ping_after_idle)
    return engine


def _ping_when_idle(engine: Engine, seconds: float) -> None:
    """Check a pooled connection before handing it out only when it has been idle for ``seconds``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip per request on a busy server, whose
    connections come back within milliseconds. Here a connection that was idle longer (after a quiet spell, when a
    restarted or failed-over server, a firewall or ``idle_session_timeout`` may have cut it) is pinged, and one that
    does not answer is replaced before use, as with ``pool_pre_ping``. A connection cut while the server is busy is
    found by the statement that uses it: that request fails (5xx, nothing written) and SQLAlchemy marks every
    connection of the pool made before that moment for replacement at its next checkout, so the requests after
    it connect again."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < seconds:
            return  # just connected, or back from a request a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool replaces it and checks out again (DisconnectionError)
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to the engine."""
    return sessionmaker(bind=engine, expire_on_commit=False)


_READER = "_emhana_reader"  # the engine's reader, kept on the engine itself (it goes with it)


def reader(engine: Engine) -> Engine:
    """Return the engine for units of work that only read: one snapshot, no write lock, writes refused (made once
    per engine: an option view of it, which costs more to make than a short read)."""
    found: Engine | None = engine.__dict__.get(_READER)
    if found is not None:
        return found
    options: dict[str, Any] = {READ_ONLY: True}
    if is_postgres(engine):  # a read-only snapshot there too; it can never fail to serialize
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    found = engine.__dict__[_READER] = engine.execution_options(**options)
    return found


def read_only_session(factory: sessionmaker[Session]) -> Session:
    """Return a session of a read-only unit of work (``unit_of_work(..., read_only=True)``), for a caller that
    ends it itself (commit or rollback, then close)."""
    return factory(bind=reader(factory.kw["bind"]))


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """Open one transaction: commit on success, roll back on any error.

    On SQLite it holds the write lock from its first statement, unless it is ``read_only`` (see the
    module's docstring); a read-only one that tries to write fails."""
    session = read_only_session(factory) if read_only else factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgres(engine: Engine) -> bool:
    """Tell whether the engine talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"
