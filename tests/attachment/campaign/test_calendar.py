"""The working-day calendar of Kazakhstan and the one-working-day deadline (A-52)."""

from __future__ import annotations

import datetime as dt

import pytest

from emhana.attachment.campaign import calendar
from emhana.attachment.campaign.calendar import Holiday, build, decision_deadline, is_working_day, next_working_day
from emhana.kernel.clock import KZ_TIME


def kz(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=KZ_TIME)


def test_every_year_has_the_fixed_holidays_and_kurban_ait() -> None:
    cal = calendar.kazakhstan()
    for year in (2025, 2026, 2027):
        rows = [h for h in cal.holidays if h.day.year == year]
        assert len(rows) == 15, year  # 14 fixed days + the first day of Kurban Ait
        assert {h.day for h in rows} >= {
            dt.date(year, m, d)
            for m, d in (
                (1, 1),
                (1, 2),
                (1, 7),
                (3, 8),
                (3, 21),
                (3, 22),
                (3, 23),
                (5, 1),
                (5, 7),
                (5, 9),
                (7, 6),
                (8, 30),
                (10, 25),
                (12, 16),
            )
        }
        assert all(h.name_kk and h.name_ru and h.name_en and h.source for h in rows)
    assert dt.date(2025, 6, 6) in cal.days_off and dt.date(2026, 5, 27) in cal.days_off


@pytest.mark.parametrize(
    ("year", "substitutes"),
    [
        # Law No. 267-II art. 5: a holiday on a weekend gives the next working day off.
        (2025, {(3, 10), (3, 24), (3, 25), (7, 7), (9, 1), (10, 27)}),
        (2026, {(3, 9), (3, 24), (3, 25), (5, 11), (8, 31), (10, 26)}),
        (2027, {(1, 4), (3, 24), (5, 3), (5, 10)}),
    ],
)
def test_weekend_holidays_move_to_the_next_working_day(year: int, substitutes: set[tuple[int, int]]) -> None:
    got = {(d.month, d.day) for d in calendar.kazakhstan().substitutes if d.year == year}
    assert got == substitutes


def test_religious_holidays_are_not_moved() -> None:
    # Kurban Ait 2027 (estimated 16 May) falls on a Sunday: Monday 17 May stays a working day.
    assert dt.date(2027, 5, 16).weekday() == 6
    assert is_working_day(dt.date(2027, 5, 17))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2025, 9, 1), False),  # Monday after Constitution Day (Saturday 30 August)
        (dt.date(2025, 9, 2), True),
        (dt.date(2025, 9, 6), False),  # Saturday
        (dt.date(2025, 12, 16), False),  # Independence Day
        (dt.date(2026, 5, 27), False),  # Kurban Ait
        (dt.date(2028, 1, 3), True),  # a year without data: weekends only
    ],
)
def test_is_working_day(day: dt.date, working: bool) -> None:
    assert is_working_day(day) is working


def test_next_working_day_skips_weekends_holidays_and_substitutes() -> None:
    assert next_working_day(dt.date(2025, 3, 7)) == dt.date(2025, 3, 11)
    assert next_working_day(dt.date(2025, 12, 31)) == dt.date(2026, 1, 5)


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        (kz(2025, 9, 8, 10), dt.date(2025, 9, 9)),  # working hours: the next working day
        (kz(2025, 9, 8, 7), dt.date(2025, 9, 8)),  # before opening: the same day
        (kz(2025, 9, 8, 19), dt.date(2025, 9, 9)),  # after hours: counts from the next working day
        (kz(2025, 9, 6, 12), dt.date(2025, 9, 8)),  # Saturday
        (kz(2025, 10, 24, 12), dt.date(2025, 10, 28)),  # Friday before Republic Day and its substitute Monday
        (kz(2025, 12, 31, 20), dt.date(2026, 1, 5)),  # New Year
        (dt.datetime(2025, 9, 8, 4, 30, tzinfo=dt.UTC), dt.date(2025, 9, 9)),  # 09:30 in Kazakhstan
        (dt.datetime(2025, 9, 8, 13, 30, tzinfo=dt.UTC), dt.date(2025, 9, 9)),  # 18:30 in Kazakhstan
    ],
)
def test_decision_deadline(submitted: dt.datetime, due: dt.date) -> None:
    deadline = decision_deadline(submitted)
    assert deadline.astimezone(KZ_TIME).date() == due
    assert deadline.astimezone(KZ_TIME).time() == calendar.CLOSES


def test_deadline_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError):
        decision_deadline(dt.datetime(2025, 9, 8, 10))


def test_decree_transfers_are_data() -> None:
    cal = build(
        (
            Holiday(dt.date(2025, 1, 4), "working_day", "", "", "", "decree"),
            Holiday(dt.date(2025, 1, 3), "day_off", "", "", "", "decree"),
        )
    )
    assert is_working_day(dt.date(2025, 1, 4), cal) and not is_working_day(dt.date(2025, 1, 3), cal)
    with pytest.raises(ValueError):
        build((Holiday(dt.date(2025, 1, 4), "festival", "", "", "", ""),))
