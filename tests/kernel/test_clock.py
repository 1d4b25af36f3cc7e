"""The kernel clock: Kazakhstan's date, a fixed clock seen everywhere, an aware system clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from emhana.kernel import clock
from emhana.kernel.clock import KZ_TIME


@pytest.fixture
def fixed() -> Iterator[clock.Fixed]:
    stand = clock.Fixed(dt.datetime(2025, 9, 10, 10, 0, tzinfo=KZ_TIME))
    with clock.use(stand):
        yield stand


def test_kazakhstan_keeps_utc_plus_five() -> None:
    assert KZ_TIME.utcoffset(None) == dt.timedelta(hours=5)


@pytest.mark.parametrize("hour", [19, 20, 23])
def test_kazakhstan_is_a_day_ahead_of_utc_from_19_to_24_utc(fixed: clock.Fixed, hour: int) -> None:
    fixed.set(dt.datetime(2025, 12, 31, hour, 30, tzinfo=dt.UTC))
    assert clock.now().date() == dt.date(2025, 12, 31)
    assert clock.today() == dt.date(2026, 1, 1)


@pytest.mark.parametrize("hour", [0, 12, 18])
def test_kazakhstan_and_utc_share_the_date_before_19_utc(fixed: clock.Fixed, hour: int) -> None:
    fixed.set(dt.datetime(2025, 12, 31, hour, 59, tzinfo=dt.UTC))
    assert clock.today() == clock.now().date() == dt.date(2025, 12, 31)


def test_a_fixed_clock_is_what_now_and_today_return(fixed: clock.Fixed) -> None:
    assert clock.current() is fixed
    assert clock.now() == dt.datetime(2025, 9, 10, 5, 0, tzinfo=dt.UTC)
    assert clock.now().utcoffset() == dt.timedelta(0)
    assert clock.today() == dt.date(2025, 9, 10)
    fixed.advance(dt.timedelta(days=1))
    assert clock.today() == dt.date(2025, 9, 11)
    assert clock.now() == clock.now()  # it stands still


def test_a_fixed_clock_reaches_a_route_through_the_dependency(fixed: clock.Fixed) -> None:
    app = FastAPI()

    @app.get("/now")
    def read(c: clock.Clock = Depends(clock.current)) -> dict[str, str]:  # noqa: B008
        return {"now": c.now().isoformat(), "today": clock.today().isoformat()}

    with TestClient(app) as client:
        body = client.get("/now").json()
    assert body == {"now": "2025-09-10T05:00:00+00:00", "today": "2025-09-10"}


def test_use_puts_the_previous_clock_back_after_a_with_block() -> None:
    before = clock.current()
    with clock.use(clock.Fixed(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))) as inner:
        assert clock.current() is inner
        with clock.use(clock.Fixed(dt.datetime(2031, 1, 1, tzinfo=dt.UTC))):
            assert clock.today() == dt.date(2031, 1, 1)
        assert clock.current() is inner
    assert clock.current() is before


def test_a_fixed_clock_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.Fixed(dt.datetime(2025, 1, 1))


def test_the_system_clock_is_aware_and_in_use_by_default() -> None:
    assert clock.current() is clock.SYSTEM
    moment = clock.SYSTEM.now()
    assert moment.tzinfo is not None and moment.utcoffset() == dt.timedelta(0)
    assert abs(clock.now() - moment) < dt.timedelta(seconds=5)
    today = clock.today()  # Kazakhstan's date, whatever the machine's own time zone
    assert today in {moment.astimezone(KZ_TIME).date(), clock.now().astimezone(KZ_TIME).date()}
