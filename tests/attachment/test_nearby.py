"""The near search with free places (emhana.attachment.nearby): the same answer as a scan of every site among
hundreds of them, the proof of exactness it rests on, loads never stale after a write, and (PostgreSQL) no wait
for the row locks of a transaction that is deciding an application."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.attachment import load, nearby
from emhana.attachment.application import service
from emhana.attachment.enums import Channel
from emhana.attachment.schemas import ApplicationIn
from emhana.facilities.models import District, Site
from emhana.facilities.rules import EARTH_RADIUS_KM, haversine_km
from emhana.reference.rules import KZ_LAT, KZ_LON
from tests.builders.attachment import IN_WINDOW, Country

DAY = IN_WINDOW.date()


def _scatter(sessions: sessionmaker[Session], country: Country, n: int, seed: int) -> None:
    """Add n sites of entity A at random points of Kazakhstan's extent (one in nine inactive), each with one to
    three districts (a pediatric one now and then, an inactive one now and then)."""
    rng = random.Random(seed)
    with sessions.begin() as s:
        model = s.get(Site, country.sites["A1"])
        assert model is not None
        for i in range(n):
            site = Site(
                entity_id=country.a,
                code=f"R{i}",
                kind="polyclinic",
                name_kk=f"емхана {i}",
                name_ru=f"поликлиника {i}",
                kato_code=model.kato_code,
                kato_version=model.kato_version,
                lat=rng.uniform(*KZ_LAT),
                lon=rng.uniform(*KZ_LON),
                active=i % 9 != 0,
            )
            s.add(site)
            s.flush()
            for number in range(1, rng.randint(1, 3) + 1):
                s.add(
                    District(
                        site_id=site.id,
                        number=number,
                        profile="pediatric" if rng.random() < 0.3 else "gp",
                        capacity=rng.randint(1, 2000),
                        active=rng.random() < 0.9,
                    )
                )


def _scan(
    s: Session, lat: float, lon: float, k: int, profile: str | None
) -> list[tuple[int, float, list[tuple[int, int, int]]]]:
    """Every active site with an active district (of the profile) by great-circle distance, the k nearest, each
    with its active districts (of the profile) and their kept loads: (site, km, [(district, capacity, load)])."""
    districts = s.scalars(select(District).where(District.active.is_(True)).order_by(District.number)).all()
    by_site: dict[int, list[District]] = {}
    for d in districts:
        if profile is None or d.profile == profile:
            by_site.setdefault(d.site_id, []).append(d)
    sites = s.execute(select(Site.id, Site.lat, Site.lon).where(Site.active.is_(True))).all()
    eligible = [(haversine_km(lat, lon, a, b), i) for i, a, b in sites if profile is None or i in by_site]
    kept = load.loads(s, [d.id for d in districts])
    return [(i, km, [(d.id, d.capacity, kept[d.id]) for d in by_site.get(i, [])]) for km, i in sorted(eligible)[:k]]


@pytest.fixture
def scattered(sessions: sessionmaker[Session], country: Country) -> None:
    """Three hundred more sites scattered over Kazakhstan's extent."""
    _scatter(sessions, country, 300, seed=18)


def test_near_free_among_hundreds_of_sites_equals_a_scan_of_them_all(
    sessions: sessionmaker[Session], country: Country
) -> None:
    _scatter(sessions, country, 300, seed=18)
    rng = random.Random(36)
    points = [(rng.uniform(*KZ_LAT), rng.uniform(*KZ_LON)) for _ in range(40)] + [(51.13, 71.43), (43.25, 76.91)]
    for lat, lon in points:
        for k, profile in ((10, None), (1, None), (25, None), (10, "pediatric"), (3, "therapist")):
            with sessions() as s:
                got = service.near_free(session=s, lat=lat, lon=lon, day=DAY, limit=k, profile=profile)
                want = _scan(s, lat, lon, k, profile)
            assert [(n.site.id, [(d.id, d.capacity, c) for d, c in rows]) for n, rows in got] == [
                (i, rows) for i, _, rows in want
            ]
            assert [n.distance_km for n, _ in got] == pytest.approx([km for _, km, _ in want], rel=1e-12)


def test_a_session_in_a_transaction_sees_its_own_writes(sessions: sessionmaker[Session], country: Country) -> None:
    with sessions() as s:
        s.execute(
            text("UPDATE district_load SET attached = 4 WHERE district_id = :d"), {"d": country.districts[("B1", 1)]}
        )
        got = service.near_free(session=s, lat=51.15, lon=71.45, day=DAY, limit=1, profile=None)
        assert [(d.id, c) for _, rows in got for d, c in rows] == [(country.districts[("B1", 1)], 4)]
        s.rollback()


def test_free_places_are_never_stale_after_an_application(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    b1 = country.districts[("B1", 1)]

    def free() -> int:
        with sessions() as s:
            found = service.near_free(session=s, lat=51.15, lon=71.45, day=DAY, limit=1, profile=None)
        return {d.id: d.capacity - c for _, rows in found for d, c in rows}[b1]

    assert free() == 5
    for expected in (4, 3):
        pid = person()
        with sessions.begin() as s:
            service.submit(
                session=s,
                actor=citizen(pid),
                data=ApplicationIn(person_id=pid, district_id=b1),
                channel=Channel.EGOV,
                now=IN_WINDOW,
            )
        assert free() == expected  # the next search, on any connection, counts the place just taken


@pytest.mark.parametrize("squeeze", [1.0, 0.67])
@pytest.mark.parametrize("lat", [-80.0, -60.0, -30.0, 0.0, 25.0, 40.6, 47.0, 55.4, 70.0, 85.0])
def test_reach_holds_every_point_within_the_distance(lat: float, squeeze: float) -> None:
    """Points at the distance in every direction (and inside it) lie within reach of the planar distance (plain
    degrees, or longitude's squeezed as a projection closer to the sphere would)."""
    rng = random.Random(int(lat * 10))
    for km in (0.5, 12.0, 150.0, 900.0):
        bound = nearby.reach(lat, km, squeeze)
        d = km / EARTH_RADIUS_KM
        p = math.radians(lat)
        for _ in range(400):
            bearing, part = rng.uniform(0, 2 * math.pi), rng.choice((1.0, rng.random()))
            angle = d * part
            q = math.asin(math.sin(p) * math.cos(angle) + math.cos(p) * math.sin(angle) * math.cos(bearing))
            dl = math.atan2(
                math.sin(bearing) * math.sin(angle) * math.cos(p), math.cos(angle) - math.sin(p) * math.sin(q)
            )
            planar = math.hypot(math.degrees(q) - lat, squeeze * math.degrees(dl))
            assert planar <= bound * (1 + 1e-9) + 1e-9
    assert nearby.reach(89.0, 200.0) == math.inf  # past the pole: no bound, the fetch grows to every site


@pytest.mark.postgres
def test_the_search_never_waits_for_a_deciding_transactions_row_locks(
    engine: Engine, sessions: sessionmaker[Session], country: Country
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    b1 = country.districts[("B1", 1)]
    holder = engine.connect()
    try:
        holder.begin()
        load.lock_loads(holder, [b1])  # as the capacity check of an application holds them until it commits
        holder.execute(text("UPDATE district_load SET attached = attached + 1 WHERE district_id = :d"), {"d": b1})
        answers: list[int] = []

        def search() -> None:
            with sessions() as s:
                found = service.near_free(session=s, lat=51.15, lon=71.45, day=DAY, limit=1, profile=None)
            answers.extend(c for _, rows in found for _, c in rows)

        searcher = threading.Thread(target=search, daemon=True)
        searcher.start()
        searcher.join(timeout=60)  # a reader that waited for the lock would wait until the rollback below
        assert answers == [0]  # answered while the lock is held, from the last committed load
    finally:
        holder.rollback()
        holder.close()


def test_no_eligible_site_is_an_empty_answer(sessions: sessionmaker[Session], country: Country) -> None:
    with sessions() as s:
        assert service.near_free(session=s, lat=51.15, lon=71.45, day=DAY, limit=5, profile="dental") == []
        assert service.near_free(session=s, lat=51.15, lon=71.45, day=DAY, limit=0, profile=None) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lat=st.floats(35.0, 60.0),
    lon=st.floats(40.0, 95.0),
    k=st.integers(1, 30),
    profile=st.sampled_from([None, "pediatric", "gp"]),
    in_transaction=st.booleans(),
)
def test_near_free_anywhere_around_the_country_equals_a_scan(
    sessions: sessionmaker[Session],
    scattered: None,
    lat: float,
    lon: float,
    k: int,
    profile: str | None,
    in_transaction: bool,
) -> None:
    """Any point in and around Kazakhstan's extent (far in the steppe, past its borders), any k, with and without
    a profile, on the near search's own connections or in a session's transaction: the same sites, in the same
    order, with the same districts and loads as a scan of every site."""
    with sessions() as s:
        if in_transaction:
            s.execute(select(1))
        got = service.near_free(session=s, lat=lat, lon=lon, day=DAY, limit=k, profile=profile)
        want = _scan(s, lat, lon, k, profile)
    assert [(n.site.id, [(d.id, d.capacity, c) for d, c in rows]) for n, rows in got] == [
        (i, rows) for i, _, rows in want
    ]
    assert [n.distance_km for n, _ in got] == pytest.approx([km for _, km, _ in want], rel=1e-12)


@pytest.mark.postgres
def test_an_answer_the_first_fetch_cannot_prove_is_fetched_again_and_exact(
    engine: Engine, sessions: sessionmaker[Session], scattered: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a first fetch of two candidates (for the nearest one) many answers cannot be proved from it: the
    statement is sent again with four times as many, and the answer is still the scan's."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the KNN statement: PostgreSQL")
    monkeypatch.setattr(nearby, "FIRST_FETCH", 1)
    sent: list[int] = []
    send = nearby._send

    def counted(conn: object, compiled: object, params: dict[str, object]) -> list[tuple[object, ...]]:
        sent.append(int(str(params["fetch"])))
        return send(conn, compiled, params)  # type: ignore[arg-type]

    monkeypatch.setattr(nearby, "_send", counted)
    rng = random.Random(5)
    # half in the country, half far away (every site thousands of kilometres off, nearly as far as the nearest)
    points = [(rng.uniform(*KZ_LAT), rng.uniform(*KZ_LON)) for _ in range(10)]
    points += [(rng.uniform(0.0, 20.0), rng.uniform(100.0, 140.0)) for _ in range(10)]
    for lat, lon in points:
        with sessions() as s:
            got = service.near_free(session=s, lat=lat, lon=lon, day=DAY, limit=1, profile=None)
            want = _scan(s, lat, lon, 1, None)
        assert [n.site.id for n, _ in got] == [i for i, _, _ in want]
    assert sent.count(2) == 20  # each search began with 2 x 1 candidates
    assert 8 in sent  # and some were fetched again, four times as many
