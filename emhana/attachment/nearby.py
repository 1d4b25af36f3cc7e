"""The nearest participating sites with their districts' free places (journey 1), in one Core statement.

``near_free`` (emhana.attachment.application.service) answers the public near search of the attachment API and
the clinics page. On PostgreSQL one statement does it all: a KNN scan of the GiST index ix_site_point gives the
nearest eligible sites by planar distance with their entities, and each brings its active districts with the load
the database keeps for them (``district_load``, emhana.attachment.load): no attachment row is counted and no ORM
object built. The great-circle re-ranking and its proof of exactness are those of
``emhana.facilities.service.near`` (the fetch grows fourfold when it cannot prove the answer). On other databases
``near`` gives the sites and one more statement the districts with their loads.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Date, Integer, Table, and_, bindparam, exists, func, select
from sqlalchemy.orm import Session

from emhana.attachment.models import DistrictLoad
from emhana.facilities.inclusion import included_on
from emhana.facilities.models import District, Entity, Site
from emhana.facilities.rules import bounding_box, haversine_km
from emhana.facilities.service import near
from emhana.kernel.fastsql import Fast

SITE = cast(Table, Site.__table__)
ENTITY = cast(Table, Entity.__table__)
DISTRICT = cast(Table, District.__table__)
LOAD = cast(Table, DistrictLoad.__table__)
_s, _e, _d, _l = SITE.c, ENTITY.c, DISTRICT.c, LOAD.c


class Place(Protocol):
    """A district as the near search and the free-places answers show it (an ORM row or a Core read)."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> int: ...
    @property
    def profile(self) -> str: ...
    @property
    def capacity(self) -> int: ...
    @property
    def doctor_id(self) -> int | None: ...


@dataclass(frozen=True)
class SiteRow:
    id: int
    entity_id: int
    kind: str
    name_kk: str
    name_ru: str
    address_kk: str
    address_ru: str
    kato_code: str
    lat: float
    lon: float


@dataclass(frozen=True)
class EntityRow:
    id: int
    name_kk: str
    name_ru: str


@dataclass(frozen=True)
class DistrictRow:
    id: int
    number: int
    profile: str
    capacity: int
    doctor_id: int | None


@dataclass(frozen=True)
class Nearby:
    """A site near a point, with its entity and its great-circle distance."""

    site: SiteRow
    entity: EntityRow
    distance_km: float


Found = list[tuple[Nearby, list[tuple[DistrictRow, int]]]]

DAY = bindparam("day", type_=Date)
SITE_COLUMNS = (
    _s.id,
    _s.entity_id,
    _s.kind,
    _s.name_kk,
    _s.name_ru,
    _s.address_kk,
    _s.address_ru,
    _s.kato_code,
    _s.lat,
    _s.lon,
)


def _statement(profile: bool) -> Fast:
    """Return the KNN statement: the ``fetch`` nearest eligible sites by planar distance, each with its active
    districts (of the profile, when asked) and their loads, nearest first."""
    planar = func.point(_s.lon, _s.lat).op("<->")(func.point(bindparam("lon"), bindparam("lat")))
    cond = [_s.active.is_(True), included_on(DAY)]
    if profile:
        cond.append(exists().where(_d.site_id == _s.id, _d.profile == bindparam("profile"), _d.active.is_(True)))
    nearest = (
        select(*SITE_COLUMNS, _e.name_kk.label("e_kk"), _e.name_ru.label("e_ru"), planar.label("planar"))
        .select_from(SITE.join(ENTITY, _e.id == _s.entity_id))
        .where(*cond)
        .order_by(planar)
        .limit(bindparam("fetch", type_=Integer))
        .subquery("nearest")
    )
    on = [_d.site_id == nearest.c.id, _d.active.is_(True)]
    if profile:
        on.append(_d.profile == bindparam("profile"))
    return Fast(
        select(
            *nearest.c,
            _d.id,
            _d.number,
            _d.profile,
            _d.capacity,
            _d.doctor_id,
            func.coalesce(_l.attached, 0),
        )
        .select_from(nearest.outerjoin(DISTRICT, and_(*on)).outerjoin(LOAD, _l.district_id == _d.id))
        .order_by(nearest.c.planar, nearest.c.id, _d.number, _d.id)
    )


KNN = {False: _statement(False), True: _statement(True)}


def _knn(conn: Connection, lat: float, lon: float, day: dt.date, limit: int, profile: str | None) -> Found:
    """PostgreSQL: the answer from the KNN statement, re-ranked by great-circle distance (exact)."""
    fetch = max(6 * limit, 64)  # a short first fetch has to grow for about 1 query in 10
    params: dict[str, Any] = {"lat": lat, "lon": lon, "day": day}
    if profile:
        params["profile"] = profile
    while True:
        rows = KNN[bool(profile)].rows(conn, {**params, "fetch": fetch})
        sites: dict[int, tuple[Nearby, list[tuple[DistrictRow, int]]]] = {}
        farthest = 0.0
        for r in rows:
            found = sites.get(r[0])
            if found is None:
                site = SiteRow(*r[:10])
                found = sites[r[0]] = (
                    Nearby(site, EntityRow(site.entity_id, r[10], r[11]), haversine_km(lat, lon, r[8], r[9])),
                    [],
                )
                farthest = float(r[12])
            if r[13] is not None:
                found[1].append((DistrictRow(r[13], r[14], r[15], r[16], r[17]), int(r[18])))
        ranked = sorted(sites.values(), key=lambda t: (t[0].distance_km, t[0].site.id))
        if len(sites) < fetch:
            return ranked[:limit]
        if len(ranked) >= limit:
            lat_min, lat_max, lon_min, lon_max = bounding_box(lat, lon, ranked[limit - 1][0].distance_km)
            corner = math.hypot(max(lat_max - lat, lat - lat_min), max(lon_max - lon, lon - lon_min))
            if corner * (1 + 1e-9) + 1e-9 < farthest:
                return ranked[:limit]
        fetch *= 4


def _loads(session: Session, site_ids: list[int], profile: str | None) -> dict[int, list[tuple[DistrictRow, int]]]:
    """Return the active districts of sites (of a profile, when given) with their loads, by site."""
    by_site: dict[int, list[tuple[DistrictRow, int]]] = {i: [] for i in site_ids}
    if not site_ids:
        return by_site
    query = (
        select(_d.site_id, _d.id, _d.number, _d.profile, _d.capacity, _d.doctor_id, func.coalesce(_l.attached, 0))
        .select_from(DISTRICT.outerjoin(LOAD, _l.district_id == _d.id))
        .where(_d.site_id.in_(site_ids), _d.active.is_(True))
        .order_by(_d.site_id, _d.number, _d.id)
    )
    if profile:
        query = query.where(_d.profile == profile)
    for site_id, *row, attached in session.execute(query):
        by_site[site_id].append((DistrictRow(*row), int(attached)))
    return by_site


def near_free(*, session: Session, lat: float, lon: float, day: dt.date, limit: int, profile: str | None) -> Found:
    """Return the nearest participating sites, nearest first, each with its active districts (of the profile, when
    given) and their open attachments."""
    if limit <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        if session.in_transaction():
            return _knn(session.connection(), lat, lon, day, limit, profile)
        # The first statement of its session (the public near search): one statement needs no transaction of its
        # own, so it runs without one (no BEGIN, no ROLLBACK: one round trip), then the session is as it was.
        try:
            return _knn(
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"}), lat, lon, day, limit, profile
            )
        finally:
            session.rollback()  # ends the session's transaction: a later statement begins an ordinary one
    found = near(session=session, lat=lat, lon=lon, day=day, limit=limit, profile=profile)
    districts = _loads(session, [n.site.id for n in found], profile)
    return [
        (
            Nearby(
                SiteRow(*(getattr(n.site, c.key) for c in SITE_COLUMNS)),
                EntityRow(n.entity.id, n.entity.name_kk, n.entity.name_ru),
                n.distance_km,
            ),
            districts[n.site.id],
        )
        for n in found
    ]
