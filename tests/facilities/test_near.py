"""Near search against a brute-force great-circle computation over the same sites."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.facilities.io import DistrictRecord
from emhana.facilities.rules import InclusionStatus, haversine_km
from emhana.facilities.service import apply_records, get_entity_by_bin, near, set_inclusion
from emhana.identity.rules import make_bin
from tests.builders.facilities import entity_record, site_record

Sites = list[tuple[str, float, float, str, bool]]  # (site code, lat, lon, profile, included)


@pytest.fixture
def network(sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]) -> Sites:
    """Write 30 entities with 10 sites each spread over Kazakhstan; exclude 5 entities."""
    rnd = random.Random(7)
    actor, _ = make_actor(Role.FUND_ADMIN)
    sites: Sites = []
    records = []
    serial = 1
    for e in range(30):
        bin_ = None
        while bin_ is None:
            bin_ = make_bin(2015, 3, 4, 0, serial)
            serial += 1
        recs = []
        for k in range(10):
            lat, lon = rnd.uniform(41.0, 55.0), rnd.uniform(50.0, 86.0)
            if k < 3:  # clusters, as in cities
                lat, lon = 43.25 + rnd.uniform(-0.1, 0.1), 76.9 + rnd.uniform(-0.1, 0.1)
            profile = rnd.choice(["gp", "therapist", "pediatric"])
            recs.append(
                site_record(
                    f"E{e}S{k}", lat=lat, lon=lon, kato="750000000", districts=[DistrictRecord(profile, 1, 1000)]
                )
            )
            sites.append((f"E{e}S{k}", lat, lon, profile, e >= 5))
        records.append(entity_record(bin_, sites=recs))
    with sessions.begin() as s:
        apply_records(session=s, actor=actor, records=records)
        for rec in records[:5]:
            set_inclusion(
                session=s,
                actor=actor,
                entity=get_entity_by_bin(session=s, bin_=rec.bin),
                status=InclusionStatus.EXCLUDED,
                effective_from=dt.date(2025, 1, 1),
                reason="test",
            )
    return sites


def brute(sites: Sites, lat: float, lon: float, limit: int, profile: str | None) -> list[tuple[float, str]]:
    found = [
        (haversine_km(lat, lon, a, b), code) for code, a, b, p, ok in sites if ok and (profile is None or p == profile)
    ]
    return sorted(found)[:limit]


def test_near_matches_brute_force(network: Sites, sessions: sessionmaker[Session]) -> None:
    rnd = random.Random(11)
    with sessions() as s:
        for _ in range(40):
            lat, lon = rnd.uniform(41.0, 55.0), rnd.uniform(47.0, 87.0)
            limit = rnd.choice([1, 5, 10, 25])
            profile = rnd.choice([None, "gp", "pediatric"])
            got = near(session=s, lat=lat, lon=lon, day=dt.date(2026, 1, 1), limit=limit, profile=profile)
            expected = brute(network, lat, lon, limit, profile)
            assert [n.site.code for n in got] == [c for _, c in expected]
            assert [round(n.distance_km, 6) for n in got] == [round(d, 6) for d, _ in expected]


def test_near_api(client: TestClient, network: Sites) -> None:
    resp = client.get("/api/v1/facilities/near", params={"lat": 43.25, "lon": 76.9, "limit": 5, "profile": "gp"})
    assert resp.status_code == 200
    body = resp.json()
    distances = [b["distance_km"] for b in body]
    assert distances == sorted(distances) and len(body) <= 5
    assert all("gp" in b["profiles"] for b in body)
    expected = brute(network, 43.25, 76.9, 5, "gp")
    assert [b["site_code"] for b in body] == [c for _, c in expected]
    assert {"lat", "lon", "distance_km", "entity_name_kk"} <= set(body[0])


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"lat": 10, "lon": 71}, "geo.outside_kazakhstan"),
        ({"lat": 95, "lon": 71}, "core.invalid_request"),
        ({"lat": 51, "lon": 71, "profile": "surgeon"}, "core.invalid_request"),
        ({"lat": 51, "lon": 71, "limit": 0}, "core.invalid_request"),
        ({"lat": "abc", "lon": 71}, "core.invalid_request"),
    ],
)
def test_near_bad_input(client: TestClient, params: dict[str, str | int], code: str) -> None:
    resp = client.get("/api/v1/facilities/near", params=params)
    assert resp.status_code == 422 and resp.json()["code"] == code
