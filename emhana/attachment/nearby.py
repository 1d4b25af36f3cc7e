"""The nearest participating sites with their districts' free places (journey 1), in one Core statement.

``near_free`` (emhana.attachment.application.service) answers the public near search of the attachment API and
the clinics page. On PostgreSQL one statement does it all (docs/near-search.md): a KNN scan of the GiST index
ix_site_point_squeezed gives the nearest eligible sites by planar distance in degrees of latitude and of longitude
times 0.67 (facilities.models.SQUEEZE, close to the great-circle distance over Kazakhstan), the database itself
ranks those candidates by great-circle distance and keeps the k nearest, nearest first, one row each, and only
those bring their site and entity rows and their active districts with the load the database keeps for them
(``district_load``, emhana.attachment.load), in arrays: no attachment row is counted, no lock is taken or waited
for, no ORM object is built. Every row also carries what proves the answer exact (``reach``); the rare answer it
cannot prove is fetched again with four times the candidates. A session with no transaction open (the public near
search) is answered on the near search's own autocommit connections, one round trip of a statement prepared on
them, its rows in binary. On other databases ``near`` gives the sites and one more statement the districts with
their loads.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import weakref
from collections.abc import Callable, Mapping
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple, Protocol, cast

import psycopg
from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    Table,
    bindparam,
    create_engine,
    event,
    exists,
    func,
    literal_column,
    select,
    true,
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
    one row each, nearest first, with its site and entity and its active districts (of the profile, when asked)
    and their loads as arrays, in one order; every row also carries the number of candidates and the planar
    distance of the farthest, which prove the answer (``reach``), and its site's great-circle distance."""
    lat, lon = bindparam("lat", type_=Float), bindparam("lon", type_=Float)
    planar = squeezed_point(_s.lon, _s.lat).op("<->", return_type=Float)(squeezed_point(lon, lat))
    cond = [_s.active.is_(True), included_on(DAY, _s.entity_id)]
    if profile:
        cond.append(exists().where(_d.site_id == _s.id, _d.profile == bindparam("profile"), _d.active.is_(True)))
    # the candidates carry only what ranks them: their site and entity rows are read for the k kept
    cand = (
        select(_s.id, _s.lat, _s.lon, planar.label("planar"))
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
    top = select(c.id, km).order_by(km, c.id).limit(bindparam("k", type_=Integer)).subquery("top")
    where = [_d.site_id == _s.id, _d.active.is_(True)]
    if profile:
        where.append(_d.profile == bindparam("profile"))
    # a site's districts in arrays, one element each, in the order of their numbers (one a site: the index
    # uq_district_site_number reads them so; the client sorts them should the aggregate not keep it); no active
    # district: NULL arrays
    ordered = (
        select(_d.id, _d.number, _d.profile, _d.capacity, _d.doctor_id, func.coalesce(_l.attached, 0).label("attached"))
        .select_from(DISTRICT.outerjoin(LOAD, _l.district_id == _d.id))
        .where(*where)
        .order_by(_d.number)
        .correlate(SITE)
        .subquery("ordered")
    )
    places = select(*(func.array_agg(col) for col in ordered.c)).lateral("places")
    return Fast(
        select(
            select(func.count()).select_from(cand).scalar_subquery(),
            select(func.max(c.planar)).scalar_subquery(),
            top.c.km,
            *SITE_COLUMNS,
            _e.name_kk,
            _e.name_ru,
            *places.c,
        )
        .select_from(top.join(SITE, _s.id == top.c.id).join(ENTITY, _e.id == _s.entity_id).join(places, true()))
        .order_by(top.c.km, top.c.id)
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
_BY_NUMBER = itemgetter(1, 0)  # a district's number, then its id


def _places(row: tuple[Any, ...]) -> list[tuple[DistrictRow, int]]:
    """The districts of a row of the near statement with their loads, from its arrays, in the order of their
    numbers (the order the aggregate keeps from its sorted input; sorted here should it ever not)."""
    if row[15] is None:
        return []  # no active district (of the profile)
    places: Any = zip(row[15], row[16], row[17], row[18], row[19], row[20], strict=True)
    if row[16] != sorted(row[16]):
        places = sorted(places, key=_BY_NUMBER)
    return [(_tuple(DistrictRow, (i, n, p, c, doctor)), a) for i, n, p, c, doctor, a in places]


def _answer(rows: Rows, lat: float, lon: float, day: dt.date, limit: int, profile: str | None) -> Found:
    """PostgreSQL: the answer of the near statement, exact by great-circle distance.

    The rows come nearest first (by the great-circle distance the database computed with haversine_km's steps,
    then the site id), one a site, its districts in arrays (put here in the order of their numbers). Every
    eligible site nearer in planar distance than the farthest candidate is a candidate, so the answer is exact
    when the candidates are all the eligible sites, or when every point as near as the k-th answer lies nearer in
    planar distance than the farthest candidate (``reach``); otherwise the fetch grows fourfold."""
    params: dict[str, Any] = {"lat": lat, "lon": lon, "day": day, "k": limit, "two_r": TWO_R}
    if profile:
        params["profile"] = profile
    fetch = max(FIRST_FETCH, 2 * limit)
    while True:
        params["fetch"] = fetch
        got = rows(params)
        if not got:
            return []  # no eligible site at all
        candidates, farthest = got[0][0], got[0][1]
        if candidates < fetch or reach(lat, got[-1][2], SQUEEZE) * (1 + 1e-9) + 1e-9 < farthest:
            # (the named tuples made as tuples: half the time of their own __new__, which checks arguments)
            return [
                (_tuple(Nearby, (_tuple(SiteRow, r[3:13]), _tuple(EntityRow, (r[4], r[13], r[14])), r[2])), _places(r))
                for r in got
            ]
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


class _Statement(NamedTuple):
    """A near statement compiled for psycopg: its SQL and its parameters with the values of its constants."""

    sql: str
    constants: dict[str, Any]


def _compiled(stmt: Any, dialect: Any) -> _Statement:
    """Compile a near statement for a dialect once; keep the values of its own constants."""
    compiled = stmt.compile(dialect=dialect)
    keys = {"lat": 0.0, "lon": 0.0, "day": None, "k": 0, "two_r": 0.0, "fetch": 0, "profile": None}
    # (none of the statement's types has a bind processor: psycopg adapts every value itself)
    return _Statement(compiled.string, {k: v for k, v in compiled.construct_params(keys).items() if k not in keys})


class _Own:
    """The near search's own connections to one database: autocommit, outside the application's pool (requests
    that hold every pooled connection never make it wait), checked out without a ping or a reset; its statements
    compiled once and sent, prepared, on a cursor kept with each connection, their rows in binary."""

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
        self.compiled = {k: _compiled(v.stmt, self.engine.dialect) for k, v in NEAR.items()}

    def answer(self, lat: float, lon: float, day: dt.date, limit: int, profile: str | None) -> Found:
        """Answer on one of the connections; a connection found broken (the server restarted since it was last
        used) is dropped and the statement sent once more on a new one."""
        compiled = self.compiled[bool(profile)]
        for attempt in (1, 2):
            pooled = self.engine.raw_connection()
            conn = cast(psycopg.Connection[Any], pooled.driver_connection)
            cursor = pooled.info.get(_CURSOR)
            if cursor is None:
                cursor = pooled.info[_CURSOR] = conn.cursor()  # kept with the connection, closed with it
            try:
                return _answer(partial(_send, cursor, compiled), lat, lon, day, limit, profile)
            except DBAPIError:
                if attempt == 2 or not conn.broken:
                    raise
                pooled.invalidate()
            finally:
                pooled.close()
        raise AssertionError("unreachable")


_CURSOR = "emhana.near.cursor"


def _generic_plans(dbapi_connection: Any, _record: Any) -> None:
    """Plan the near statement once per connection: PostgreSQL's choice between a generic plan and one planned
    for each execution's values goes, on some data, to planning every execution (0.4 ms, more than the
    execution) with a hash join over every district; the generic plan reads the chosen sites' districts by key."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET plan_cache_mode = force_generic_plan")
    cursor.close()
    dbapi_connection.commit()


def _send(cursor: psycopg.Cursor[Any], compiled: _Statement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run a compiled near statement prepared on a connection's cursor, its rows in binary; a driver error becomes
    SQLAlchemy's, its parameters hidden."""
    values = {**compiled.constants, **params}
    try:
        cursor.execute(compiled.sql, values, prepare=True, binary=True)
        return cursor.fetchall()
    except psycopg.Error as exc:
        raise DBAPIError.instance(compiled.sql, values, exc, psycopg.Error, hide_parameters=True) from exc


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
