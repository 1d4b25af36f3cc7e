"""The one clock of the process: the only source of "now" (an aware UTC instant) and "today" (Kazakhstan's date).

Everything asks this module (``clock.now()``, ``clock.today()``); nothing else reads the wall clock. The process
runs on the system clock; tests, the demo and jobs put another one in its place with ``use`` (for the rest of the
process, or for a ``with`` block)::

    fixed = clock.Fixed(dt.datetime(2025, 9, 10, 10, tzinfo=clock.KZ_TIME))
    with clock.use(fixed):
        ...  # every page, route, service and job now stands on 10 September 2025
        fixed.set(dt.datetime(2025, 12, 10, 10, tzinfo=clock.KZ_TIME))

Routes and pages that prefer a FastAPI dependency take ``Depends(clock.current)``.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Protocol

# Since 1 March 2024 the whole of Kazakhstan keeps one time, UTC+5.
KZ_TIME = dt.timezone(dt.timedelta(hours=5), "KZ")


class Clock(Protocol):
    """A source of the current instant."""

    def now(self) -> dt.datetime:
        """Return the current instant, timezone-aware."""
        ...


def kz_date(moment: dt.datetime) -> dt.date:
    """Return Kazakhstan's date at an aware instant."""
    return moment.astimezone(KZ_TIME).date()


class System:
    """The wall clock of the machine (the process's clock unless something else is in use)."""

    def now(self) -> dt.datetime:
        """Return the current instant (UTC)."""
        return dt.datetime.now(dt.UTC)


class Fixed:
    """A clock that stands still until it is set or advanced (tests, the demo, replays)."""

    def __init__(self, at: dt.datetime) -> None:
        self.set(at)

    def set(self, at: dt.datetime) -> None:
        """Stand at an aware instant."""
        if at.tzinfo is None:
            raise ValueError("a clock stands at a timezone-aware instant")
        self._at = at.astimezone(dt.UTC)

    def advance(self, by: dt.timedelta) -> None:
        """Move forward (or back, with a negative delta)."""
        self._at += by

    def now(self) -> dt.datetime:
        """Return the instant it stands at (UTC)."""
        return self._at


SYSTEM = System()
_current: list[Clock] = [SYSTEM]


def current() -> Clock:
    """Return the clock in use (also a FastAPI dependency: ``clock: Clock = Depends(current)``)."""
    return _current[0]


def now() -> dt.datetime:
    """Return the current instant (aware, UTC) of the clock in use."""
    return current().now().astimezone(dt.UTC)


def machine_now() -> dt.datetime:
    """Return the machine's own time (aware, UTC), whatever clock is in use.

    Only for a time another machine stamped with its own clock and that the process's clock must not shift: the
    ``exp`` and ``iat`` of a client assertion (a system client signs them with its real time, also while the demo
    or a test runs on a clock of its own). Everything the registry decides and records reads ``now()``.
    """
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Return today's date in Kazakhstan by the clock in use."""
    return kz_date(now())


class use:  # noqa: N801  (reads as a verb: clock.use(fixed))
    """Put a clock in use for the process at once; used as a ``with`` block, put the previous one back after it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.previous = _current[0]
        _current[0] = clock

    def __enter__(self) -> Clock:
        return self.clock

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        _current[0] = self.previous
