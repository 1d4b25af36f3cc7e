"""Read replicas: PostgreSQL streaming standbys that serve the requests which only read (docs/replicas.md).

A ``Replicas`` router holds one engine per standby. ``choose(client)`` returns the engine a read-only unit of
work should use, and whether it is a replica:

* a client that wrote within the read-your-writes window (``note_write``) reads from the primary;
* a standby is used only while its replay lag is within the bound. The lag is 0 when the standby has replayed
  everything the primary has written (``pg_last_wal_replay_lsn() >= pg_current_wal_lsn()``), else the age of the
  last transaction it replayed (``now() - pg_last_xact_replay_timestamp()``): a standby whose replay stopped, or
  fell behind, ages past the bound and is no longer used. Each standby's lag is checked at most once a second;
* a standby that refuses connections (``mark_down``, or its lag check failing) is skipped for a few seconds, then
  tried again; with no healthy standby the primary serves the read (failover);
* read-your-writes across processes: a write's response carries the primary's WAL position after its commit
  (``write_position``, in a cookie and a header, docs/replicas.md); a read that presents it goes to a standby
  only if that standby has replayed up to it (``choose(client, after=...)``), else to the primary. No state is
  shared between processes: the position travels with the client.

A read-only unit of work (on a standby, or on the primary) never writes. The rare read that needs something
recorded first (a FHIR directory version that a day's change made new, a trust list to publish or re-sign)
asks ``primary_writer(session)`` for a unit of work of its own on the primary, never the read's session.

Time here is a duration (``time.monotonic``), never a date, so the kernel clock is not involved.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from emhana.kernel.db import make_engine, make_sessionmaker, normalize_url, reader

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0  # seconds a lag check is trusted
RETRY_DOWN_AFTER = 5.0  # seconds a standby that refused connections is left alone
MAX_REMEMBERED_WRITERS = 100_000

_PRIMARY_LSN = text("SELECT pg_current_wal_lsn()")
_STANDBY_LAG = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= CAST(:primary AS pg_lsn),"
    " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), pg_last_wal_replay_lsn()"
)
_REPLAYED = text("SELECT pg_last_wal_replay_lsn()")
_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})[/-]([0-9A-Fa-f]{1,8})$")  # "-" in a cookie, where "/" would be quoted

# session.info key: a factory of a unit of work on the primary, set on the read-only units of work of the routes
# that only read (emhana/web/deps.py), for the rare read that must record something first (module docstring).
PRIMARY_WRITER = "emhana.replicas.primary_writer"
Writer = Callable[[], AbstractContextManager[Session]]


def primary_writer(session: Session) -> Writer | None:
    """Return the factory of a unit of work on the primary when the session is a read-only one that must not
    write (docs/replicas.md), else None: the session may write itself."""
    found: Writer | None = session.info.get(PRIMARY_WRITER)
    return found


def lsn_value(lsn: str | None) -> int | None:
    """Return a WAL position (``16/B374D848``, or ``16-B374D848``) as a number, or None when it is not one."""
    match = _LSN.match(lsn.strip()) if lsn else None
    return (int(match.group(1), 16) << 32) + int(match.group(2), 16) if match else None


def replica_urls(setting: str) -> list[str]:
    """Split the comma-separated setting into URLs (empty: none)."""
    return [u.strip() for u in setting.split(",") if u.strip()]


def client_key(token: str | None, address: str | None) -> str:
    """Name a client for read-your-writes without keeping its token: a hash of the token, else its address."""
    if token:
        return "t:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return "a:" + (address or "")


@dataclass
class Standby:
    """One standby: its engine and sessions, its last lag check and when it was last found down."""

    url: str
    engine: Engine  # read-only, as every use of a standby is (a read-write BEGIN is refused during recovery)
    base: Engine
    sessions: sessionmaker[Session]
    checked_at: float = -1e18
    lag: float | None = None  # seconds; None: not usable (down, or not a standby)
    replayed: int = 0  # WAL position replayed at the last check (lsn_value)
    down_until: float = -1e18
    lock: threading.Lock = field(default_factory=threading.Lock)


class Replicas:
    """Route read-only units of work to a standby within the lag bound, or to the primary."""

    def __init__(
        self,
        primary: Engine,
        urls: list[str],
        *,
        max_lag: float,
        read_your_writes: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.max_lag = max_lag
        self.read_your_writes = read_your_writes
        self.monotonic = monotonic
        self.standbys = [
            Standby(url, reader(base), base, make_sessionmaker(reader(base))) for url in urls for base in [_engine(url)]
        ]
        self._writers: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next = 0

    # --- read-your-writes --------------------------------------------------------------------------------------

    def note_write(self, client: str) -> None:
        """Remember that the client has just committed a write: its reads go to the primary for a while."""
        now = self.monotonic()
        with self._lock:
            if len(self._writers) >= MAX_REMEMBERED_WRITERS:
                self._writers = {k: t for k, t in self._writers.items() if t > now}
            self._writers[client] = now + self.read_your_writes

    def wrote_recently(self, client: str) -> bool:
        until = self._writers.get(client)
        return until is not None and until > self.monotonic()

    # --- health and lag ----------------------------------------------------------------------------------------

    def mark_down(self, standby: Standby) -> None:
        """A standby refused a connection: skip it until RETRY_DOWN_AFTER seconds have passed."""
        standby.lag = None
        standby.down_until = self.monotonic() + RETRY_DOWN_AFTER
        log.warning("read replica unavailable, reads go to the primary: %s", _safe(standby.url))

    def _check(self, standby: Standby, primary_lsn: str | None) -> float | None:
        now = self.monotonic()
        if now < standby.down_until:
            return None
        with standby.lock:
            if now - standby.checked_at < CHECK_EVERY:
                return standby.lag
            if primary_lsn is None:
                return None  # the primary's position is unknown: do not guess
            try:
                with standby.engine.connect() as conn:
                    row = conn.execute(_STANDBY_LAG, {"primary": primary_lsn}).one()
            except SQLAlchemyError as error:
                log.warning("lag check of a read replica failed: %s", type(error).__name__)
                self.mark_down(standby)
                return None
            in_recovery, caught_up, age, replayed = row
            standby.replayed = lsn_value(str(replayed) if replayed is not None else None) or 0
            if not in_recovery:  # promoted, or not a standby at all: not a replica of this primary
                standby.lag = None
            elif caught_up:
                standby.lag = 0.0
            else:  # behind, and nothing replayed yet to date it: as good as infinitely behind
                standby.lag = float(age) if age is not None else float("inf")
            standby.checked_at = now
            return standby.lag

    def _primary_lsn(self) -> str | None:
        try:
            with self.primary.connect() as conn:
                return str(conn.execute(_PRIMARY_LSN).scalar_one())
        except SQLAlchemyError:
            return None

    def healthy(self) -> list[Standby]:
        """Return the standbys whose lag is within the bound (checked at most once a second each)."""
        now = self.monotonic()
        due = any(now >= s.down_until and now - s.checked_at >= CHECK_EVERY for s in self.standbys)
        primary_lsn = self._primary_lsn() if due else None
        found = []
        for standby in self.standbys:
            lag = self._check(standby, primary_lsn)
            if lag is not None and lag <= self.max_lag:
                found.append(standby)
        return found

    def write_position(self) -> str | None:
        """Return the primary's WAL position now (after a write's commit: at or past that commit), or None."""
        return self._primary_lsn()

    def has_replayed(self, standby: Standby, after: int) -> bool:
        """Tell whether the standby has replayed the WAL up to ``after``: from its last check, else asked now."""
        if standby.replayed >= after:
            return True
        try:
            with standby.engine.connect() as conn:
                found = conn.execute(_REPLAYED).scalar_one()
        except SQLAlchemyError:
            self.mark_down(standby)
            return False
        standby.replayed = max(standby.replayed, lsn_value(str(found) if found is not None else None) or 0)
        return standby.replayed >= after

    def choose(self, client: str, *, after: int | None = None) -> Standby | None:
        """Return the standby that should serve this client's read, or None for the primary. ``after``: the WAL
        position of the client's last write (read-your-writes across processes); a standby serves only once it
        has replayed it."""
        if self.wrote_recently(client):
            return None
        found = self.healthy()
        if not found:
            return None
        with self._lock:
            self._next = (self._next + 1) % len(found)
            order = found[self._next :] + found[: self._next]
        for standby in order:
            if after is None or self.has_replayed(standby, after):
                return standby
        return None

    def dispose(self) -> None:
        for standby in self.standbys:
            standby.base.dispose()


def _engine(url: str) -> Engine:
    """A standby's engine: a small pool, and a short connect timeout so that a dead standby is noticed quickly."""
    if normalize_url(url).startswith("postgresql"):
        return make_engine(url, pool_size=5, max_overflow=5, pool_timeout=5, connect_args={"connect_timeout": 3})
    return make_engine(url)


def _safe(url: str) -> str:
    """The URL without its password, for a log line."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a log line must not fail
        return "<replica>"
