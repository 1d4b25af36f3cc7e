"""The load the database keeps per district (migration 0031, emhana.attachment.load) equals a count of its open
attachment rows after every kind of write, and the near search built on it answers as a brute-force scan does."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.attachment import load, placement
from emhana.attachment.application import service
from emhana.attachment.enums import Channel, EndReason
from emhana.attachment.models import Attachment
from emhana.attachment.schemas import ApplicationIn
from emhana.facilities.inclusion import included_on
from emhana.facilities.models import District, Entity, Site
from emhana.facilities.rules import haversine_km
from tests.builders.attachment import IN_WINDOW, Country

D = dt.date


def _apply(sessions: sessionmaker[Session], actor: Actor, person_id: int, district_id: int) -> None:
    with sessions.begin() as s:
        service.submit(
            session=s,
            actor=actor,
            data=ApplicationIn(person_id=person_id, district_id=district_id),
            channel=Channel.EGOV,
            now=IN_WINDOW,
        )


def _kept(sessions: sessionmaker[Session], district_id: int) -> int:
    with sessions() as s:
        return load.loads(s, [district_id])[district_id]


def _no_drift(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        assert load.drift(s.connection()) == []


def test_every_writer_keeps_the_load(
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
) -> None:
    a1, b1 = country.districts[("A1", 1)], country.districts[("B1", 1)]
    _no_drift(sessions)  # every district has its row, at zero
    first, second = person(), person()
    _apply(sessions, citizen(first), first, a1)
    _apply(sessions, citizen(second), second, a1)
    assert _kept(sessions, a1) == 2
    _apply(sessions, citizen(first), first, b1)  # a transfer: one leaves A1, one joins B1
    assert (_kept(sessions, a1), _kept(sessions, b1)) == (1, 1)
    _no_drift(sessions)
    with sessions.begin() as s:
        placement.detach(
            session=s,
            actor=None,
            person_id=second,
            reason=EndReason.EMIGRATION,
            on=D(2025, 9, 20),
            today=D(2025, 9, 10),
        )
    assert _kept(sessions, a1) == 0
    # A row written outside the application's writers (an ORM insert, an update, a delete) is counted as well.
    third = person()
    with sessions.begin() as s:
        row = Attachment(
            person_id=third,
            entity_id=country.a,
            site_id=country.sites["A1"],
            district_id=a1,
            place_basis="residence_permanent",
            cause="first_attachment",
            begin_date=D(2025, 1, 1),
            decided_on=D(2025, 1, 1),
        )
        s.add(row)
        s.flush()
        row_id = row.id
    assert _kept(sessions, a1) == 1
    with sessions.begin() as s:
        s.execute(text("UPDATE attachment SET district_id = :d WHERE id = :i"), {"d": b1, "i": row_id})
    assert (_kept(sessions, a1), _kept(sessions, b1)) == (0, 2)
    with sessions.begin() as s:
        s.execute(text("DELETE FROM attachment WHERE id = :i"), {"i": row_id})
    assert _kept(sessions, b1) == 1
    _no_drift(sessions)
    with sessions() as s:
        for district in (a1, b1):
            assert load.loads(s, [district])[district] == placement.attached_count(s, district)


def test_recount_repairs_a_load_that_drifted(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    a1 = country.districts[("A1", 1)]
    pid = person()
    _apply(sessions, citizen(pid), pid, a1)
    with sessions.begin() as s:  # as after a bulk load with the triggers off
        s.execute(text("UPDATE district_load SET attached = attached + 7 WHERE district_id = :d"), {"d": a1})
        s.execute(text("DELETE FROM district_load WHERE district_id = :d"), {"d": country.districts[("B1", 1)]})
    with sessions.begin() as s:
        assert load.drift(s.connection()) == sorted([a1, country.districts[("B1", 1)]])
        assert load.recount(s.connection()) == 2
    _no_drift(sessions)
    assert _kept(sessions, a1) == 1


def _brute(s: Session, lat: float, lon: float, day: dt.date, k: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """Every eligible site by great-circle distance, then each chosen site's active districts counted row by row."""
    sites = s.execute(
        select(Site.id, Site.lat, Site.lon)
        .join(Entity, Entity.id == Site.entity_id)
        .where(Site.active.is_(True), included_on(day))
    ).all()
    top = sorted((haversine_km(lat, lon, a, b), i) for i, a, b in sites)[:k]
    out = []
    for _, site_id in top:
        districts = s.scalars(
            select(District).where(District.site_id == site_id, District.active.is_(True)).order_by(District.number)
        ).all()
        out.append((site_id, [(d.id, placement.attached_count(s, d.id)) for d in districts]))
    return out


def test_near_free_equals_a_brute_force_scan(
    sessions: sessionmaker[Session], country: Country, person: Callable[..., int], citizen: Callable[[int], Actor]
) -> None:
    for district in (country.districts[("A1", 1)], country.districts[("B1", 1)], country.districts[("A2", 1)]):
        pid = person()
        _apply(sessions, citizen(pid), pid, district)
    day = IN_WINDOW.date()
    points = [(51.13, 71.43), (51.16, 71.47), (43.25, 76.91), (48.0, 67.0), (51.15 + 1e-4, 71.45)]
    for lat, lon in points:
        for k in (1, 2, 3, 10):
            with sessions() as s:
                got = service.near_free(session=s, lat=lat, lon=lon, day=day, limit=k, profile=None)
                want = _brute(s, lat, lon, day, k)
            assert [(n.site.id, [(d.id, c) for d, c in rows]) for n, rows in got] == want
            assert all(math.isclose(n.distance_km, haversine_km(lat, lon, n.site.lat, n.site.lon)) for n, _ in got)
    with sessions() as s:
        gp = service.near_free(session=s, lat=51.13, lon=71.43, day=day, limit=10, profile="pediatric")
    assert [n.site.id for n, _ in gp] == [country.sites["A1"]]
    assert [d.profile for _, rows in gp for d, _ in rows] == ["pediatric"]
