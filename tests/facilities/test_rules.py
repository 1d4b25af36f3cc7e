"""Pure rules of the healthcare-entity database."""

from __future__ import annotations

import datetime as dt

import pytest

from emhana.facilities.rules import (
    InclusionPeriod,
    InclusionStatus,
    bounding_box,
    haversine_km,
    participates,
    status_on,
)
from emhana.reference.rules import in_kazakhstan

D = dt.date
INC, EXC = InclusionStatus.INCLUDED, InclusionStatus.EXCLUDED


@pytest.mark.parametrize(
    ("periods", "day", "expected"),
    [
        ([], D(2026, 1, 1), None),
        ([InclusionPeriod(INC, D(2020, 1, 1), None)], D(2019, 12, 31), None),
        ([InclusionPeriod(INC, D(2020, 1, 1), None)], D(2020, 1, 1), INC),
        (
            [InclusionPeriod(INC, D(2020, 1, 1), D(2026, 3, 1)), InclusionPeriod(EXC, D(2026, 3, 1), None)],
            D(2026, 2, 28),
            INC,
        ),
        (
            [InclusionPeriod(INC, D(2020, 1, 1), D(2026, 3, 1)), InclusionPeriod(EXC, D(2026, 3, 1), None)],
            D(2026, 3, 1),
            EXC,
        ),
    ],
)
def test_status_on(periods: list[InclusionPeriod], day: dt.date, expected: InclusionStatus | None) -> None:
    assert status_on(periods, day) == expected
    assert participates(periods, day) is (expected is INC)


def test_haversine_known_distance() -> None:
    # Astana to Almaty is about 970 km by great circle.
    assert 960 < haversine_km(51.1694, 71.4491, 43.2220, 76.8512) < 980
    assert haversine_km(50, 70, 50, 70) == 0


def test_bounding_box_contains_the_circle() -> None:
    lat, lon, r = 50.0, 70.0, 100.0
    lat_min, lat_max, lon_min, lon_max = bounding_box(lat, lon, r)
    for bearing_point in [(lat_max, lon), (lat_min, lon), (lat, lon_max), (lat, lon_min)]:
        assert haversine_km(lat, lon, *bearing_point) >= r * 0.999


def test_kazakhstan_extent() -> None:
    assert in_kazakhstan(51.13, 71.43) and in_kazakhstan(43.25, 76.91)
    assert not in_kazakhstan(55.75, 37.62) and not in_kazakhstan(0, 0)
