"""The nearest participating sites with their districts' free places (journey 1), in one Core statement.

``near_free`` (emhana.attachment.application.service) answers the public near search of the attachment API and
the clinics page. On PostgreSQL one statement does it all (docs/near-search.md): a KNN scan of the GiST index
ix_site_point_squeezed gives the nearest eligible sites by planar distance in degrees of latitude and of longitude
times 0.67 (facilities.models.SQUEEZE, close to the great-circle distance over Kazakhstan), the database itself
ranks those candidates by great-circle distance and keeps the k nearest, nearest first, and only those bring
their entities and their active districts with the load the database keeps for them (``district_load``,
emhana.attachment.load): no attachment row is counted, no lock is taken or waited for, no ORM object is built.
Every row also carries what proves the answer exact (``reach``); the rare answer it cannot prove is fetched again
with four times the candidates. A session with no transaction open (the public near search) is answered on the
near search's own autocommit connections, one round trip. On other databases ``near`` gives the sites and one more
statement the districts with their loads.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import weakref
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple, Protocol, cast

import psycopg
from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    Table,
    and_,
    bindparam,
    create_engine,
    event,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from emhana.attachment.models import DistrictLoad
from emhana.facilities.inclusion import included_on
from emhana.facilities.models import SQUEEZE, District, Entity, Site, squeezed_point
from emhana.facilities.rules import EARTH_RADIUS_KM
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


class SiteRow(NamedTuple):
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


class EntityRow(NamedTuple):
    id: int
    name_kk: str
    name_ru: str


class DistrictRow(NamedTuple):
    id: int
    number: int
    profile: str
    capacity: int
    doctor_id: int | None


class Nearby(NamedTuple):
    """A site near a point, with its entity and its great-circle distance."""

    site: SiteRow
    entity: EntityRow
    distance_km: float


Found = list[tuple[Nearby, list[tuple[DistrictRow, int]]]]
Rows = Callable[[Mapping[str, Any]], list[tuple[Any, ...]]]

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
TWO_R = 2 * EARTH_RADIUS_KM  # as haversine_km multiplies: (2 R) asin(...)
# candidates of the first fetch, on the squeezed point: enough to prove the answer of about 99 queries in 100 at k = 10
# (1 M persons; plain degrees needed 48 for 98 in 100)
FIRST_FETCH = 24


def _statement(profile: bool) -> Fast:
    """Return the near statement: the ``fetch`` nearest eligible sites by planar distance on the squeezed point
    (``cand``, the index ix_site_point_squeezed), of them the ``k`` nearest by great-circle distance (``top``),
    each with its entity and its active districts (of the profile, when asked) and their loads, nearest first;
    every row also carries the number of candidates and the planar distance of the farthest, which prove the
    answer (``reach``), and its site's great-circle distance."""
    lat, lon = bindparam("lat", type_=Float), bindparam("lon", type_=Float)
    planar = squeezed_point(_s.lon, _s.lat).op("<->", return_type=Float)(squeezed_point(lon, lat))
    cond = [_s.active.is_(True), included_on(DAY)]
    if profile:
        cond.append(exists().where(_d.site_id == _s.id, _d.profile == bindparam("profile"), _d.active.is_(True)))
    cand = (
        select(*SITE_COLUMNS, _e.name_kk.label("e_kk"), _e.name_ru.label("e_ru"), planar.label("planar"))
        .select_from(SITE.join(ENTITY, _e.id == _s.entity_id))
        .where(*cond)
        .order_by(planar)
        .limit(bindparam("fetch", type_=Integer))
        .cte("cand")
    )
    c = cand.c
    two = literal_column("2", Float)
    # haversine_km's own steps in its order, so that both give the same number for the same site
    a = func.power(func.sin((func.radians(c.lat) - func.radians(lat)) / two), two) + func.cos(
        func.radians(lat)
    ) * func.cos(func.radians(c.lat)) * func.power(func.sin(func.radians(c.lon - lon) / two), two)
    km = (bindparam("two_r", type_=Float) * func.asin(func.least(literal_column("1", Float), func.sqrt(a)))).label("km")
    top = (
        select(*(col for col in c if col.key != "planar"), km)
        .order_by(km, c.id)
        .limit(bindparam("k", type_=Integer))
        .subquery("top")
    )
    on = [_d.site_id == top.c.id, _d.active.is_(True)]
    if profile:
        on.append(_d.profile == bindparam("profile"))
    return Fast(
        select(
            select(func.count()).select_from(cand).scalar_subquery(),
            select(func.max(c.planar)).scalar_subquery(),
            top.c.km,
            *(top.c[col.key] for col in SITE_COLUMNS),
            top.c.e_kk,
            top.c.e_ru,
            _d.id,
            _d.number,
            _d.profile,
            _d.capacity,
            _d.doctor_id,
            func.coalesce(_l.attached, 0),
        )
        .select_from(top.outerjoin(DISTRICT, and_(*on)).outerjoin(LOAD, _l.district_id == _d.id))
        .order_by(top.c.km, top.c.id, _d.number, _d.id)
    )


NEAR = {False: _statement(False), True: _statement(True)}


def reach(lat: float, km: float, squeeze: float = 1.0) -> float:
    """Return a planar distance (degrees of latitude, and of longitude times ``squeeze``) within which lies every
    point at most ``km`` (great-circle) from a point at latitude ``lat``; infinity when none can be given.

    With d the angle of ``km``, a point (φ', λ') is that near when sin²(Δφ/2) + cos φ cos φ' sin²(Δλ/2) <= sin²(d/2),
    and there cos φ' >= cos(|φ| + d). For a given Δφ the planar distance grows with Δλ; at the largest Δλ its square
    is a convex function of sin²(Δφ/2) (each term is 4 asin²(√x) of a linear function of it, a series of positive
    powers of x), so it is largest at an end: Δφ = d with Δλ = 0, or Δφ = 0 with sin²(Δλ/2) at most
    sin²(d/2) / (cos φ cos(|φ| + d)). Longitudes are not taken round the antimeridian (nor does the index's
    planar distance take them so)."""
    d = km / EARTH_RADIUS_KM
    far = abs(math.radians(lat)) + d
    if far >= math.pi / 2:
        return math.inf
    x = math.sin(d / 2) ** 2 / (math.cos(math.radians(lat)) * math.cos(far))
    if x >= 1.0:
        return math.inf
    return math.degrees(max(d, squeeze * 2 * math.asin(math.sqrt(x))))


_tuple: Any = tuple.__new__  # a named tuple from a tuple of its fields, in order


def _answer(rows: Rows, lat: float, lon: float, day: dt.date, limit: int, profile: str | None) -> Found:
    """PostgreSQL: the answer of the near statement, exact by great-circle distance.

    The rows come nearest first (by the great-circle distance the database computed with haversine_km's steps,
    then the site id), a site's districts together. Every eligible site nearer in planar distance than the
    farthest candidate is a candidate, so the answer is exact when the candidates are all the eligible sites, or
    when every point as near as the k-th answer lies nearer in planar distance than the farthest candidate
    (``reach``); otherwise the fetch grows fourfold."""
    params: dict[str, Any] = {"lat": lat, "lon": lon, "day": day, "k": limit, "two_r": TWO_R}
    if profile:
        params["profile"] = profile
    fetch = max(FIRST_FETCH, 2 * limit)
    while True:
        params["fetch"] = fetch
        got = rows(params)
        if not got:
            return []  # no eligible site at all
        ranked: Found = []
        last = None
        districts: list[tuple[DistrictRow, int]] = []
        for r in got:  # (the named tuples made as tuples: half the time of their own __new__, which checks arguments)
            if r[3] != last:
                last, districts = r[3], []
                site, entity = _tuple(SiteRow, r[3:13]), _tuple(EntityRow, (r[4], r[13], r[14]))
                ranked.append((_tuple(Nearby, (site, entity, r[2])), districts))
            if r[15] is not None:
                districts.append((_tuple(DistrictRow, r[15:20]), r[20]))
        candidates, farthest = got[0][0], got[0][1]
        if candidates < fetch or reach(lat, got[-1][2], SQUEEZE) * (1 + 1e-9) + 1e-9 < farthest:
            return ranked
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


class _Own:
    """The near search's own connections to one database: autocommit, outside the application's pool (requests
    that hold every pooled connection never make it wait), checked out without a ping; its statements compiled
    once and sent, prepared, on psycopg's cursor."""

    def __init__(self, bind: Engine) -> None:
        # no reset on return: in autocommit no transaction is ever left open
        self.engine = create_engine(
            bind.url,
            isolation_level="AUTOCOMMIT",
            pool_size=4,
            max_overflow=4,
            pool_reset_on_return=None,
            hide_parameters=True,
        )
        event.listen(self.engine, "connect", _generic_plans)
        self.compiled = {k: v.stmt.compile(dialect=self.engine.dialect) for k, v in NEAR.items()}  # type: ignore[attr-defined]

    def answer(self, lat: float, lon: float, day: dt.date, limit: int, profile: str | None) -> Found:
        """Answer on one of the connections; a connection found broken (the server restarted since it was last
        used) is dropped and the statement sent once more on a new one."""
        compiled = self.compiled[bool(profile)]
        for attempt in (1, 2):
            pooled = self.engine.raw_connection()
            conn = cast(psycopg.Connection[Any], pooled.driver_connection)
            try:
                return _answer(partial(_send, conn, compiled), lat, lon, day, limit, profile)
            except DBAPIError:
                if attempt == 2 or not conn.broken:
                    raise
                pooled.invalidate()
            finally:
                pooled.close()
        raise AssertionError("unreachable")


def _generic_plans(dbapi_connection: Any, _record: Any) -> None:
    """Plan the near statement once per connection: PostgreSQL's choice between a generic plan and one planned
    for each execution's values goes, on some data, to planning every execution (0.4 ms, more than the
    execution) with a hash join over every district; the generic plan reads the chosen sites' districts by key."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET plan_cache_mode = force_generic_plan")
    cursor.close()
    dbapi_connection.commit()


def _send(conn: psycopg.Connection[Any], compiled: Any, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run a compiled statement (none of whose types has a bind processor) prepared on a psycopg connection;
    a driver error becomes SQLAlchemy's, its parameters hidden."""
    sql, values = compiled.string, compiled.construct_params(dict(params))
    try:
        return conn.execute(sql, values, prepare=True).fetchall()
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, values, exc, psycopg.Error, hide_parameters=True) from exc


_OWN: weakref.WeakKeyDictionary[Pool, _Own] = weakref.WeakKeyDictionary()
_OWN_LOCK = threading.Lock()


def _own(bind: Engine) -> _Own:
    """Return the near search's own connections to the database of an engine (made on first use, disposed with
    the engine, or with its pool)."""
    pool = bind.pool
    found = _OWN.get(pool)
    if found is None:
        with _OWN_LOCK:
            found = _OWN.get(pool)
            if found is None:
                found = _OWN[pool] = _Own(bind)
                engine, root = found.engine, bind
                while isinstance(getattr(root, "_proxied", None), Engine):  # an engine with options: its own
                    root = root._proxied  # type: ignore[attr-defined]
                event.listen(root, "engine_disposed", lambda _root: engine.dispose())  # ends with the app's
                weakref.finalize(pool, engine.dispose)
    return found


def _on(conn: Connection) -> Callable[[bool], Rows]:
    def statement(profile: bool) -> Rows:
        return lambda params: NEAR[profile].rows(conn, params)

    return statement


def near_free(*, session: Session, lat: float, lon: float, day: dt.date, limit: int, profile: str | None) -> Found:
    """Return the nearest participating sites, nearest first, each with its active districts (of the profile, when
    given) and their open attachments.

    On PostgreSQL a session in a transaction (which may hold writes of its own) is answered on its connection; any
    other (the public near search, whose first statement this is) on the near search's own connections, which read
    the latest committed loads as the session would have."""
    if limit <= 0:
        return []
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" and bind.dialect.driver == "psycopg":
        if session.in_transaction():
            return _answer(_on(session.connection())(bool(profile)), lat, lon, day, limit, profile)
        return _own(cast(Engine, bind)).answer(lat, lon, day, limit, profile)
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
