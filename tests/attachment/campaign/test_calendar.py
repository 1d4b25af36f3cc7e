"""The working-day calendar of Kazakhstan and the one-working-day deadline (A-52)."""

from __future__ import annotations

import datetime as dt

import pytest

from emhana.attachment.campaign import calendar
from emhana.attachment.campaign.calendar import Holiday, build, decision_deadline, is_working_day, next_working_day
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.errors import CalendarNotCovered
from emhana.kernel.i18n import translate


def kz(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=KZ_TIME)


def test_every_year_has_the_fixed_holidays_and_kurban_ait() -> None:
    cal = calendar.kazakhstan()
    for year in (2025, 2026, 2027):
        rows = [h for h in cal.holidays if h.day.year == year and h.kind in ("holiday", "religious")]
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
        (dt.date(2025, 1, 3), False),  # Friday: the day off moved from Sunday 5 January 2025
        (dt.date(2025, 1, 5), True),  # Sunday made a working day by the 2025 transfer
        (dt.date(2025, 1, 6), True),
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


def test_the_2025_transfer_is_data_with_its_source() -> None:
    rows = {h.day: h for h in calendar.kazakhstan().holidays if h.kind in ("day_off", "working_day")}
    assert rows[dt.date(2025, 1, 3)].kind == "day_off" and rows[dt.date(2025, 1, 5)].kind == "working_day"
    assert all("Minister of Labour" in h.source and h.name_kk and h.name_ru for h in rows.values())
    # Filed on Friday 3 January 2025 (a day off): accepted on Sunday 5 January, a working day, and due then.
    assert decision_deadline(kz(2025, 1, 3, 12)).date() == dt.date(2025, 1, 5)
    assert next_working_day(dt.date(2025, 1, 2)) == dt.date(2025, 1, 5)


@pytest.mark.parametrize("day", [dt.date(2028, 1, 3), dt.date(2024, 12, 30), dt.date(2031, 6, 2)])
def test_a_day_beyond_the_calendar_fails_loudly(day: dt.date) -> None:
    """A-52: no deadline is counted from weekends alone for a year without data."""
    with pytest.raises(CalendarNotCovered) as caught:
        is_working_day(day)
    assert caught.value.code == "attachment.calendar_not_covered" and caught.value.status == 422
    assert caught.value.params == {"day": day.isoformat(), "year": day.year}
    with pytest.raises(CalendarNotCovered):
        decision_deadline(kz(day.year, day.month, day.day))
    with pytest.raises(CalendarNotCovered):
        calendar.holidays_of(day.year)
    texts = {lang: translate(lang, caught.value.template()) for lang in ("kk", "ru", "en")}
    assert len(set(texts.values())) == 3 and all("{day}" in t and "{year}" in t for t in texts.values())


def test_the_last_day_of_the_data_does_not_count_into_an_unknown_year() -> None:
    with pytest.raises(CalendarNotCovered):
        next_working_day(dt.date(2027, 12, 31))
