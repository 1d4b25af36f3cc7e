"""Use cases of the healthcare-entity database: import, publication, inclusion, practitioners, near search."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, inspect, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.facilities import events
from emhana.facilities.contract import lost as contract_lost
from emhana.facilities.inclusion import included_on
from emhana.facilities.io import DistrictRecord, EntityRecord, SiteRecord
from emhana.facilities.models import District, Entity, Inclusion, Licence, Post, Practitioner, Site
from emhana.facilities.rules import (
    REASON_STATUS_BEFORE_CURRENT,
    InclusionStatus,
    bounding_box,
    haversine_km,
    in_force,
)
from emhana.facilities.schemas import EntityIn
from emhana.kernel.errors import DuplicateBIN, InvalidDates, NotFound
from emhana.reference.loader import KATO_VERSION
from emhana.reference.models import KatoUnit
from emhana.reference.rules import oblast_of
from emhana.reference.service import check_places


@dataclass(frozen=True)
class ImportResult:
    entities_created: int
    entities_updated: int
    sites_created: int
    sites_updated: int
    districts_written: int


def known_kato(session: Session) -> set[str]:
    """Return every KATO code of the classifier."""
    return set(session.scalars(select(KatoUnit.code)))


def _current_inclusion(entity: Entity) -> Inclusion | None:
    open_periods = [p for p in entity.inclusions if p.effective_to is None]
    return max(open_periods, key=lambda p: p.effective_from) if open_periods else None


def set_inclusion(
    *,
    session: Session,
    actor: Actor | None,
    entity: Entity,
    status: InclusionStatus,
    effective_from: dt.date,
    reason: str,
) -> Inclusion:
    """Close the open inclusion period and open a new one; history is never overwritten (B-05)."""
    current = _current_inclusion(entity)
    if current is not None:
        if effective_from < current.effective_from:
            raise InvalidDates(reason=REASON_STATUS_BEFORE_CURRENT)
        if current.status == status.value:
            return current
        current.effective_to = effective_from
    period = Inclusion(
        entity_id=entity.id, status=status.value, effective_from=effective_from, effective_to=None, reason=reason
    )
    session.add(period)
    entity.inclusions.append(period)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action=f"entity.{status.value}",
        object_type="entity",
        object_id=str(entity.id),
        purpose=reason[:200],
    )
    return period


def change_inclusion(
    *,
    session: Session,
    actor: Actor | None,
    entity: Entity,
    status: InclusionStatus,
    effective_from: dt.date,
    reason: str,
) -> Inclusion:
    """Include or exclude an entity from a date (B-05, B-06); an exclusion tells the subscribers of
    ``facilities.events`` in the same transaction (the attachment campaign redistributes, A-94)."""
    period = set_inclusion(
        session=session, actor=actor, entity=entity, status=status, effective_from=effective_from, reason=reason
    )
    if period.status == InclusionStatus.EXCLUDED.value:
        events.excluded(session, actor, events.EntityExcluded(entity.id, period.effective_from))
    return period


def _apply_site(session: Session, entity: Entity, rec: SiteRecord) -> tuple[bool, int]:
    site = next((s for s in entity.sites if s.code == rec.code), None)
    created = site is None
    if site is None:
        site = Site(entity_id=entity.id, code=rec.code)
        session.add(site)
        entity.sites.append(site)
    site.kind, site.name_kk, site.name_ru = rec.kind, rec.name_kk, rec.name_ru
    site.address_kk, site.address_ru = rec.address_kk, rec.address_ru
    site.kato_code, site.kato_version, site.lat, site.lon = rec.kato, KATO_VERSION, rec.lat, rec.lon
    site.active = True
    session.flush()
    existing = {d.number: d for d in site.districts}
    for d in rec.districts:
        row = existing.get(d.number)
        if row is None:
            row = District(site_id=site.id, number=d.number)
            session.add(row)
            site.districts.append(row)
        row.profile, row.capacity, row.active = d.profile, d.capacity, True
    return created, len(rec.districts)


def apply_records(
    *, session: Session, actor: Actor | None, records: list[EntityRecord], create_only: bool = False
) -> ImportResult:
    """Write validated records: create or update entities by BIN, sites by code, districts by number."""
    bins = [r.bin for r in records]
    existing = (
        {
            e.bin: e
            for e in session.scalars(
                select(Entity)
                .where(Entity.bin.in_(bins))
                .options(
                    selectinload(Entity.sites).selectinload(Site.districts),
                    selectinload(Entity.inclusions),
                    selectinload(Entity.licences),
                )
            )
        }
        if bins
        else {}
    )
    if create_only and existing:
        raise DuplicateBIN()
    counts = {"ec": 0, "eu": 0, "sc": 0, "su": 0, "d": 0}
    for rec in records:
        entity = existing.get(rec.bin)
        if entity is None:
            entity = Entity(bin=rec.bin)
            session.add(entity)
            counts["ec"] += 1
        else:
            counts["eu"] += 1
        entity.name_kk, entity.name_ru = rec.name_kk, rec.name_ru
        entity.legal_form, entity.ownership = rec.legal_form, rec.ownership
        entity.program_gobmp, entity.program_osms = rec.program_gobmp, rec.program_osms
        ended = entity.id is not None and contract_lost(entity.contract_to, rec.contract_to)  # B-06
        entity.contract_from, entity.contract_to = rec.contract_from, rec.contract_to
        entity.sur_registered_on = rec.sur_registered_on
        if rec.sites:
            entity.region_kato = oblast_of(rec.sites[0].kato)
        session.flush()
        licence = next((lic for lic in entity.licences if lic.number == rec.licence_number), None)
        if licence is None:
            licence = Licence(entity_id=entity.id, number=rec.licence_number)
            session.add(licence)
            entity.licences.append(licence)
        licence.issued_on, licence.valid_until = rec.licence_issued_on, rec.licence_valid_until
        licence.subtypes = rec.licence_subtypes
        set_inclusion(
            session=session,
            actor=actor,
            entity=entity,
            status=InclusionStatus(rec.status),
            effective_from=rec.status_from,
            reason=rec.status_reason,
        )
        for site_rec in rec.sites:
            created, n = _apply_site(session, entity, site_rec)
            counts["sc" if created else "su"] += 1
            counts["d"] += n
        if ended and rec.contract_to is not None:  # the contract lost: its people are redistributed
            session.flush()
            events.contract_ended(session, actor, entity.id, rec.contract_to)
    session.flush()
    return ImportResult(counts["ec"], counts["eu"], counts["sc"], counts["su"], counts["d"])


def get_entity(*, session: Session, entity_id: int) -> Entity:
    """Return an entity with its licences, inclusion history and sites, or raise NotFound."""
    entity = session.scalar(
        select(Entity)
        .where(Entity.id == entity_id)
        .options(
            selectinload(Entity.sites).selectinload(Site.districts),
            selectinload(Entity.inclusions),
            selectinload(Entity.licences),
        )
    )
    if entity is None:
        raise NotFound()
    return entity


def get_entity_by_bin(*, session: Session, bin_: str) -> Entity:
    """Return the entity with a BIN, or raise NotFound."""
    entity = session.scalar(select(Entity).where(Entity.bin == bin_))
    if entity is None:
        raise NotFound()
    return get_entity(session=session, entity_id=entity.id)


def list_participating(
    *, session: Session, day: dt.date, q: str = "", region: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[Entity]]:
    """Return the count and a page of entities included on the day, filtered by name, BIN or region."""
    cond = [included_on(day)]
    if q:
        like = f"%{q.lower()}%"
        cond.append(
            or_(
                func.lower(Entity.name_ru).like(like),
                func.lower(Entity.name_kk).like(like),
                Entity.bin.like(f"{q}%"),
                exists().where(
                    Site.entity_id == Entity.id,
                    or_(
                        func.lower(Site.name_ru).like(like),
                        func.lower(Site.name_kk).like(like),
                        func.lower(Site.address_ru).like(like),
                    ),
                ),
            )
        )
    if region:
        cond.append(Entity.region_kato == oblast_of(region))
    where = and_(*cond)
    total = session.scalar(select(func.count()).select_from(Entity).where(where)) or 0
    rows = session.scalars(
        select(Entity)
        .where(where)
        .order_by(Entity.name_ru, Entity.id)
        .limit(limit)
        .offset(offset)
        .options(
            selectinload(Entity.sites).selectinload(Site.districts),
            selectinload(Entity.inclusions),
            selectinload(Entity.licences),
        )
    ).all()
    return total, list(rows)


def to_record(entity: Entity, day: dt.date) -> EntityRecord:
    """Return the published record of an entity (its status on the day)."""
    periods = [p for p in entity.inclusions if in_force(p.effective_from, p.effective_to, day)]
    period = max(periods, key=lambda p: p.effective_from) if periods else entity.inclusions[-1]
    licence = entity.licences[-1] if entity.licences else None
    return EntityRecord(
        bin=entity.bin,
        name_kk=entity.name_kk,
        name_ru=entity.name_ru,
        legal_form=entity.legal_form,
        ownership=entity.ownership,
        program_gobmp=entity.program_gobmp,
        program_osms=entity.program_osms,
        licence_number=licence.number if licence else "",
        licence_issued_on=licence.issued_on if licence else dt.date.min,
        licence_valid_until=licence.valid_until if licence else None,
        licence_subtypes=licence.subtypes if licence else "",
        status=period.status,
        status_from=period.effective_from,
        status_reason=period.reason,
        contract_from=entity.contract_from,
        contract_to=entity.contract_to,
        sur_registered_on=entity.sur_registered_on,
        sites=[
            SiteRecord(
                code=s.code,
                kind=s.kind,
                name_kk=s.name_kk,
                name_ru=s.name_ru,
                address_kk=s.address_kk,
                address_ru=s.address_ru,
                kato=s.kato_code,
                lat=s.lat,
                lon=s.lon,
                districts=[DistrictRecord(d.profile, d.number, d.capacity) for d in s.districts if d.active],
            )
            for s in entity.sites
            if s.active
        ],
    )


def published_records(*, session: Session, day: dt.date) -> list[EntityRecord]:
    """Return the published list: every entity included on the day, as records."""
    _, entities = list_participating(session=session, day=day, limit=1_000_000)
    return [to_record(e, day) for e in entities]


@dataclass(frozen=True)
class NearSite:
    site: Site
    entity: Entity
    distance_km: float


def _eligible(day: dt.date, profile: str | None) -> list:  # type: ignore[type-arg]
    cond = [Site.active.is_(True), included_on(day)]
    if profile:
        cond.append(exists().where(District.site_id == Site.id, District.profile == profile, District.active.is_(True)))
    return cond


def _knn(session: Session, lat: float, lon: float, limit: int, cond: list) -> list[tuple[float, int, Site, Entity]]:  # type: ignore[type-arg]
    """PostgreSQL: candidates with their entities, nearest first by planar distance in degrees (a KNN
    scan of the GiST index ix_site_point), re-ranked by great-circle distance.

    Every eligible site nearer in degrees than the farthest fetched candidate has been fetched. The
    answer is exact once the bounding box of the k-th great-circle distance lies inside that planar
    disc; otherwise the fetch grows fourfold (a short fetch holds every eligible site).
    """
    planar = func.point(Site.lon, Site.lat).op("<->")(func.point(lon, lat))
    fetch = max(4 * limit, 32)
    while True:
        rows = session.execute(
            select(Site, Entity, planar.label("planar"))
            .join(Entity, Entity.id == Site.entity_id)
            .where(*cond)
            .order_by(planar)
            .limit(fetch)
        ).all()
        found = sorted(
            ((haversine_km(lat, lon, s.lat, s.lon), s.id, s, e) for s, e, _ in rows), key=lambda t: (t[0], t[1])
        )
        if len(rows) < fetch:
            return found
        if len(found) >= limit:
            lat_min, lat_max, lon_min, lon_max = bounding_box(lat, lon, found[limit - 1][0])
            corner = math.hypot(max(lat_max - lat, lat - lat_min), max(lon_max - lon, lon - lon_min))
            if corner * (1 + 1e-9) + 1e-9 < float(rows[-1].planar):
                return found
        fetch *= 4


def _box(session: Session, lat: float, lon: float, limit: int, cond: list) -> list[tuple[float, int]]:  # type: ignore[type-arg]
    """Any database: a bounding box on (lat, lon) that doubles until the k-th nearest lies inside
    the box's inscribed circle."""
    base = select(Site.id, Site.lat, Site.lon).join(Entity, Entity.id == Site.entity_id).where(*cond)
    radius = 25.0
    while True:
        lat_min, lat_max, lon_min, lon_max = bounding_box(lat, lon, radius)
        whole = radius >= 5000.0
        query = base if whole else base.where(Site.lat.between(lat_min, lat_max), Site.lon.between(lon_min, lon_max))
        found = sorted((haversine_km(lat, lon, r.lat, r.lon), r.id) for r in session.execute(query))
        if whole or (len(found) >= limit and found[limit - 1][0] <= radius):
            return found
        radius *= 2


def near(
    *, session: Session, lat: float, lon: float, day: dt.date, limit: int = 10, profile: str | None = None
) -> list[NearSite]:
    """Return the nearest participating sites, nearest first, by great-circle distance (exact).

    On PostgreSQL one KNN query on the GiST index of point(lon, lat) returns the candidate sites with
    their entities (it is repeated, larger, only when it cannot prove the answer); on other databases a
    bounding box that doubles gives the candidates, then one query loads the chosen sites and entities.
    A last query loads the districts of the chosen sites that the session does not hold yet.
    """
    if limit <= 0:
        return []
    cond = _eligible(day, profile)
    if session.get_bind().dialect.name == "postgresql":
        picked = _knn(session, lat, lon, limit, cond)[:limit]
        chosen = [(d, i) for d, i, _, _ in picked]
        loaded = {i: (s, e) for _, i, s, e in picked}
    else:
        chosen = _box(session, lat, lon, limit, cond)[:limit]
        loaded = (
            {
                s.id: (s, e)
                for s, e in session.execute(
                    select(Site, Entity)
                    .join(Entity, Entity.id == Site.entity_id)
                    .where(Site.id.in_([i for _, i in chosen]))
                )
            }
            if chosen
            else {}
        )
    unloaded = [i for _, i in chosen if "districts" in inspect(loaded[i][0]).unloaded]
    if unloaded:
        by_site: dict[int, list[District]] = {i: [] for i in unloaded}
        for d in session.scalars(
            select(District)
            .where(District.site_id.in_(unloaded))
            .order_by(District.site_id, District.number, District.id)
        ):
            by_site[d.site_id].append(d)
        for i, districts in by_site.items():
            set_committed_value(loaded[i][0], "districts", districts)
    return [NearSite(site=loaded[i][0], entity=loaded[i][1], distance_km=d) for d, i in chosen]


def within(
    *,
    session: Session,
    lat: float,
    lon: float,
    radius_km: float,
    day: dt.date,
    limit: int,
    offset: int = 0,
    where: tuple[ColumnElement[bool], ...] = (),
) -> tuple[int, list[NearSite]]:
    """Return how many participating sites lie within a distance of a point (exact) and a page of them,
    nearest first (the FHIR ``near`` search; ``where``: more conditions on the site and its entity).

    One query reads the id and position of the eligible sites in the bounding box of the circle (a range
    on the latitude index); their great-circle distances are computed here, so the count costs the sites
    in the box, never all sites. A second query loads the page's sites with their entities.
    """
    lat_min, lat_max, lon_min, lon_max = bounding_box(lat, lon, radius_km)
    rows = session.execute(
        select(Site.id, Site.lat, Site.lon)
        .join(Entity, Entity.id == Site.entity_id)
        .where(*_eligible(day, None), *where, Site.lat.between(lat_min, lat_max), Site.lon.between(lon_min, lon_max))
    )
    inside = sorted((d, r.id) for r in rows if (d := haversine_km(lat, lon, r.lat, r.lon)) <= radius_km)
    page = inside[offset : offset + limit] if limit > 0 else []
    loaded = (
        {
            s.id: (s, e)
            for s, e in session.execute(
                select(Site, Entity).join(Entity, Entity.id == Site.entity_id).where(Site.id.in_([i for _, i in page]))
            )
        }
        if page
        else {}
    )
    return len(inside), [NearSite(site=loaded[i][0], entity=loaded[i][1], distance_km=d) for d, i in page]


def add_practitioner(
    *,
    session: Session,
    actor: Actor,
    iin: str,
    surname: str,
    given_name: str,
    patronymic: str | None,
    specialties: list[str],
    entity_id: int,
    site_id: int | None,
    title: str,
    rate: float,
    valid_from: dt.date,
) -> Practitioner:
    """Register a practitioner (or reuse one by IIN) and give them a post at an entity."""
    entity = get_entity(session=session, entity_id=entity_id)
    if site_id is not None and site_id not in {s.id for s in entity.sites}:
        raise NotFound()
    person = session.scalar(select(Practitioner).where(Practitioner.iin == iin))
    if person is None:
        person = Practitioner(
            iin=iin, surname=surname, given_name=given_name, patronymic=patronymic, specialties=",".join(specialties)
        )
        session.add(person)
        session.flush()
    session.add(
        Post(
            practitioner_id=person.id,
            entity_id=entity_id,
            site_id=site_id,
            title=title,
            rate=rate,
            valid_from=valid_from,
        )
    )
    session.flush()
    record_event(
        session=session, actor=actor, action="practitioner.post", object_type="practitioner", object_id=str(person.id)
    )
    return person


def practitioners_of(*, session: Session, entity_id: int, day: dt.date) -> list[tuple[Practitioner, Post]]:
    """Return the practitioners holding a post at an entity on a day."""
    rows = session.execute(
        select(Practitioner, Post)
        .join(Post, Post.practitioner_id == Practitioner.id)
        .where(Post.entity_id == entity_id, Post.valid_from <= day, or_(Post.valid_to.is_(None), Post.valid_to > day))
        .order_by(Practitioner.surname, Practitioner.id)
    ).all()
    return [(p, post) for p, post in rows]


def record_of(data: EntityIn) -> EntityRecord:
    """Turn a validated entity request into a record."""
    return EntityRecord(
        bin=data.bin,
        name_kk=data.name_kk,
        name_ru=data.name_ru,
        legal_form=data.legal_form.value,
        ownership=data.ownership.value,
        program_gobmp=data.program_gobmp,
        program_osms=data.program_osms,
        licence_number=data.licence_number,
        licence_issued_on=data.licence_issued_on,
        licence_valid_until=data.licence_valid_until,
        licence_subtypes=data.licence_subtypes,
        sur_registered_on=data.sur_registered_on,
        status=data.status.value,
        status_from=data.status_from,
        status_reason=data.status_reason,
        contract_from=data.contract_from,
        contract_to=data.contract_to,
        sites=[
            SiteRecord(
                code=s.code,
                kind=s.kind.value,
                name_kk=s.name_kk,
                name_ru=s.name_ru,
                address_kk=s.address_kk,
                address_ru=s.address_ru,
                kato=s.kato,
                lat=s.lat,
                lon=s.lon,
                districts=[DistrictRecord(d.profile.value, d.number, d.capacity) for d in s.districts],
            )
            for s in data.sites
        ],
    )


def create_entity(*, session: Session, actor: Actor, data: EntityIn) -> Entity:
    """Register a new entity with its sites; refuse a known BIN, an unknown KATO code or a point abroad."""
    if session.scalar(select(Entity.id).where(Entity.bin == data.bin)) is not None:
        raise DuplicateBIN()
    check_places(session, ((s.kato, s.lat, s.lon) for s in data.sites))
    apply_records(session=session, actor=actor, records=[record_of(data)], create_only=True)
    return get_entity_by_bin(session=session, bin_=data.bin)
