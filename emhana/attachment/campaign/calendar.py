"""Kazakhstan's working-day calendar and the one-working-day decision deadline (A-52).

Holidays are data (``data/holidays_kz.csv``, sources in ``data/README.md``). Non-religious holidays
that fall on a weekend give the next working day off (Law No. 267-II of 13.12.2001, art. 5);
Orthodox Christmas and Kurban Ait are never moved. Transfers of days off by a legal act (a Government
decree, since 2024 an order of the Minister of Labour) are data rows of kind ``day_off`` / ``working_day``
with their source (2025: Sunday 5 January a working day, Friday 3 January a day off).

A-52: a day outside the years of the file is refused (``CalendarNotCovered``), never counted from
weekends alone: add the next year's rows (holidays, Kurban Ait, transfers) before it begins.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from emhana.kernel.clock import KZ_TIME  # Kazakhstan's one time, UTC+5
from emhana.kernel.errors import CalendarNotCovered

DATA = Path(__file__).parent / "data"

# Working hours of the A-52 processing rule (an older wording: eGov applications accepted "until
# 18:00 on working days"); the opening hour is an L assumption.
OPENS = dt.time(9, 0)
CLOSES = dt.time(18, 0)

HOLIDAY = "holiday"
RELIGIOUS = "religious"
DAY_OFF = "day_off"
WORKING_DAY = "working_day"
KINDS = frozenset({HOLIDAY, RELIGIOUS, DAY_OFF, WORKING_DAY})


@dataclass(frozen=True)
class Holiday:
    """One row of the holiday file."""

    day: dt.date
    kind: str
    name_kk: str
    name_ru: str
    name_en: str
    source: str


@dataclass(frozen=True)
class Calendar:
    """Days off beyond weekends, and weekend days made working days by decree."""

    holidays: tuple[Holiday, ...]
    days_off: frozenset[dt.date]
    working_weekends: frozenset[dt.date]
    substitutes: frozenset[dt.date]
    years: frozenset[int]


def substitute_days(holidays: tuple[Holiday, ...]) -> frozenset[dt.date]:
    """Return the working days that become days off because a holiday fell on a weekend (art. 5)."""
    off = {h.day for h in holidays if h.kind in (HOLIDAY, RELIGIOUS, DAY_OFF)}
    taken: set[dt.date] = set()
    for h in sorted(holidays, key=lambda x: x.day):
        if h.kind != HOLIDAY or h.day.weekday() < 5:
            continue
        candidate = h.day + dt.timedelta(days=1)
        while candidate.weekday() >= 5 or candidate in off or candidate in taken:
            candidate += dt.timedelta(days=1)
        taken.add(candidate)
    return frozenset(taken)


def build(holidays: tuple[Holiday, ...]) -> Calendar:
    """Build a calendar from holiday rows."""
    unknown = {h.kind for h in holidays} - KINDS
    if unknown:
        raise ValueError(f"unknown holiday kinds: {sorted(unknown)}")
    subs = substitute_days(holidays)
    off = {h.day for h in holidays if h.kind in (HOLIDAY, RELIGIOUS, DAY_OFF)} | subs
    working = frozenset(h.day for h in holidays if h.kind == WORKING_DAY)
    return Calendar(
        holidays=holidays,
        days_off=frozenset(off),
        working_weekends=working,
        substitutes=subs,
        years=frozenset(h.day.year for h in holidays),
    )


def read_holidays(path: Path) -> tuple[Holiday, ...]:
    """Read a holiday CSV file."""
    with path.open(encoding="utf-8", newline="") as fh:
        return tuple(
            Holiday(
                day=dt.date.fromisoformat(r["date"]),
                kind=r["kind"],
                name_kk=r["name_kk"],
                name_ru=r["name_ru"],
                name_en=r["name_en"],
                source=r["source"],
            )
            for r in csv.DictReader(fh)
        )


@lru_cache(maxsize=1)
def kazakhstan() -> Calendar:
    """Return the packaged calendar of Kazakhstan."""
    return build(read_holidays(DATA / "holidays_kz.csv"))


def covered(day: dt.date, calendar: Calendar) -> None:
    """A-52: refuse a day of a year the calendar holds no data for (CalendarNotCovered), so that no
    deadline is ever counted from weekends alone."""
    if day.year not in calendar.years:
        raise CalendarNotCovered(day=day.isoformat(), year=day.year)


def is_working_day(day: dt.date, calendar: Calendar | None = None) -> bool:
    """Tell whether a day is a working day (five-day week, holidays, substitute days off and transfers);
    CalendarNotCovered for a day of a year without data (A-52)."""
    cal = calendar or kazakhstan()
    covered(day, cal)
    if day in cal.working_weekends:
        return True
    return day.weekday() < 5 and day not in cal.days_off


def next_working_day(day: dt.date, calendar: Calendar | None = None) -> dt.date:
    """Return the first working day strictly after a day."""
    candidate = day + dt.timedelta(days=1)
    while not is_working_day(candidate, calendar):
        candidate += dt.timedelta(days=1)
    return candidate


def acceptance_day(submitted_at: dt.datetime, calendar: Calendar | None = None) -> dt.date:
    """Return the working day an application counts as filed (A-52: after hours or on a day off, the next)."""
    local = submitted_at.astimezone(KZ_TIME)
    day = local.date()
    if is_working_day(day, calendar) and local.time() < CLOSES:
        return day
    return next_working_day(day, calendar)


def decision_deadline(submitted_at: dt.datetime, calendar: Calendar | None = None) -> dt.datetime:
    """Return when a decision is due under A-52 (one working day), at close of business.

    Filed on a working day before opening: that day. Filed in working hours: the next working day.
    Filed after hours or on a day off: it counts as filed on the next working day, due that day.
    """
    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at must be timezone-aware")
    local = submitted_at.astimezone(KZ_TIME)
    accepted = acceptance_day(submitted_at, calendar)
    if accepted != local.date() or local.time() < OPENS:
        due = accepted
    else:
        due = next_working_day(accepted, calendar)
    return dt.datetime.combine(due, CLOSES, tzinfo=KZ_TIME)


def holidays_of(year: int, calendar: Calendar | None = None) -> list[tuple[dt.date, str, Holiday | None]]:
    """Return the days off of a year beyond weekends: (day, kind, holiday row or None for substitutes)."""
    cal = calendar or kazakhstan()
    if year not in cal.years:  # also a year no date can have (0, 10000): the same refusal, never a 500
        raise CalendarNotCovered(day=str(year), year=year)
    rows: list[tuple[dt.date, str, Holiday | None]] = [(h.day, h.kind, h) for h in cal.holidays if h.day.year == year]
    rows += [(d, "substitute", None) for d in cal.substitutes if d.year == year]
    return sorted(rows, key=lambda r: (r[0], r[1]))
