"""An organization's administrator keeps its own sites, catchment districts, their capacity and doctors, and its
practitioners' posts (issue 16, item 2). One writer per kind of row: ``update_site`` (a site's names, address and
point), ``write_district`` (a district created or changed), ``end_post`` (a post closed; posts are opened by
``service.add_practitioner``). Every write is audited with the fields it changed; a record of another
organization answers as a missing one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.facilities.models import District, Entity, Post, Site
from emhana.facilities.rules import Profile
from emhana.facilities.service import get_entity
from emhana.kernel.errors import (
    CapacityInvalid,
    DistrictNumberTaken,
    DoctorNotAtEntity,
    Forbidden,
    InvalidDates,
    InvalidInput,
    NameRequired,
    NotFound,
    OutsideKazakhstan,
)
from emhana.kernel.i18n import N_
from emhana.reference.rules import in_kazakhstan

MAX_CAPACITY = 10_000
REASON_POST_END = N_("a post cannot end before it begins")
MAX_NUMBER = 9999


@dataclass(frozen=True)
class SiteChange:
    name_kk: str
    name_ru: str
    address_kk: str
    address_ru: str
    lat: float
    lon: float


@dataclass(frozen=True)
class DistrictChange:
    number: int
    profile: str
    capacity: int
    doctor_id: int | None


def own_entity(*, session: Session, actor: Actor) -> Entity:
    """Return the administrator's organization with its sites and districts (Forbidden without one)."""
    if actor.entity_id is None:
        raise Forbidden()
    return get_entity(session=session, entity_id=actor.entity_id)


def _own_site(session: Session, actor: Actor, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None or actor.entity_id is None or site.entity_id != actor.entity_id:
        raise NotFound()
    return site


def update_site(*, session: Session, actor: Actor, site_id: int, change: SiteChange) -> Site:
    """Change a site's names, address and point (the one writer of these fields outside the Fund's import)."""
    site = _own_site(session, actor, site_id)
    name_kk, name_ru = change.name_kk.strip(), change.name_ru.strip()
    if not name_kk or not name_ru or len(name_kk) > 300 or len(name_ru) > 300:
        raise NameRequired()
    if not in_kazakhstan(change.lat, change.lon):
        raise OutsideKazakhstan(lat=change.lat, lon=change.lon)
    values = {
        "name_kk": name_kk,
        "name_ru": name_ru,
        "address_kk": change.address_kk.strip()[:500],
        "address_ru": change.address_ru.strip()[:500],
        "lat": round(change.lat, 6),
        "lon": round(change.lon, 6),
    }
    changed = [k for k, v in values.items() if getattr(site, k) != v]
    if not changed:
        return site
    for key in changed:
        setattr(site, key, values[key])
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="site.update",
        object_type="site",
        object_id=str(site.id),
        purpose="changed: " + ", ".join(changed),
    )
    return site


def _check_district(session: Session, site: Site, change: DistrictChange, district_id: int | None) -> None:
    """Refuse an unknown profile, a capacity or number out of range, or a number the site already uses."""
    if change.profile not in {p.value for p in Profile}:
        raise InvalidInput(errors=[{"field": "profile", "code": "facilities.profile_unknown"}])
    if not 1 <= change.capacity <= MAX_CAPACITY:
        raise CapacityInvalid(limit=MAX_CAPACITY)
    if not 1 <= change.number <= MAX_NUMBER:
        raise InvalidInput(errors=[{"field": "number", "code": "facilities.number_invalid"}])
    taken = session.scalar(
        select(District.id).where(
            District.site_id == site.id, District.number == change.number, District.id != (district_id or 0)
        )
    )
    if taken is not None:
        raise DistrictNumberTaken(number=change.number)


def _doctor_holds_post(session: Session, entity_id: int, doctor_id: int, day: dt.date) -> bool:
    return (
        session.scalar(
            select(Post.id).where(
                Post.practitioner_id == doctor_id,
                Post.entity_id == entity_id,
                Post.valid_from <= day,
                or_(Post.valid_to.is_(None), Post.valid_to > day),
            )
        )
        is not None
    )


def write_district(
    *,
    session: Session,
    actor: Actor,
    site_id: int,
    change: DistrictChange,
    day: dt.date,
    district_id: int | None = None,
) -> District:
    """Create a district of a site (``district_id`` None) or change one: number, profile, capacity and doctor
    (a practitioner holding a post at the organization on the day). Lowering the capacity detaches nobody: a
    full district takes no new application (A-80)."""
    site = _own_site(session, actor, site_id)
    district = None
    if district_id is not None:
        district = session.get(District, district_id)
        if district is None or district.site_id != site.id:
            raise NotFound()
    _check_district(session, site, change, district_id)
    if change.doctor_id is not None and not _doctor_holds_post(session, site.entity_id, change.doctor_id, day):
        raise DoctorNotAtEntity()
    values = {
        "number": change.number,
        "profile": change.profile,
        "capacity": change.capacity,
        "doctor_id": change.doctor_id,
    }
    if district is None:
        district = District(site_id=site.id, active=True, **values)
        session.add(district)
        session.flush()
        record_event(
            session=session,
            actor=actor,
            action="district.create",
            object_type="district",
            object_id=str(district.id),
            purpose=f"site {site.id}: number {change.number}, {change.profile}, capacity {change.capacity}",
        )
        return district
    changed = [k for k, v in values.items() if getattr(district, k) != v]
    if not changed:
        return district
    before = {k: getattr(district, k) for k in changed}
    for key in changed:
        setattr(district, key, values[key])
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="district.update",
        object_type="district",
        object_id=str(district.id),
        purpose="; ".join(f"{k}: {before[k]} -> {values[k]}" for k in changed)[:200],
    )
    return district


def end_post(*, session: Session, actor: Actor, post_id: int, last_day: dt.date) -> Post:
    """Close a practitioner's post at the organization after its last day (valid_to is the day after)."""
    post = session.get(Post, post_id)
    if post is None or actor.entity_id is None or post.entity_id != actor.entity_id:
        raise NotFound()
    end = last_day + dt.timedelta(days=1)
    if end <= post.valid_from:
        raise InvalidDates(reason=REASON_POST_END)
    post.valid_to = end
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="practitioner.post_end",
        object_type="post",
        object_id=str(post.id),
        purpose=f"last day {last_day.isoformat()}",
    )
    return post
