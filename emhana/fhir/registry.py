"""Read and search use cases of the FHIR door over the registry; reads of a Patient are audit-logged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment.models import Attachment
from emhana.audit.service import record_event
from emhana.facilities.inclusion import is_included
from emhana.facilities.models import Entity, Post, Practitioner, Site
from emhana.facilities.service import list_participating, near
from emhana.fhir import resources
from emhana.identity import service as identity
from emhana.identity.models import Person

Page = tuple[int, list[dict[str, Any]]]
READ_ACTION = "fhir.patient.read"


def _attached(session: Session, person_id: int, day: dt.date) -> Entity | None:
    return session.scalar(
        select(Entity)
        .join(Attachment, Attachment.entity_id == Entity.id)
        .where(
            Attachment.person_id == person_id,
            Attachment.begin_date <= day,
            or_(Attachment.end_date.is_(None), Attachment.end_date > day),
        )
        .order_by(Attachment.begin_date.desc())
    )


def _patient(
    session: Session, actor: Actor, person: Person, day: dt.date, now: dt.datetime, purpose: str
) -> dict[str, Any]:
    identity.require_purpose(session=session, actor=actor, person_id=person.id, purpose=purpose, day=day)
    record_event(
        session=session,
        actor=actor,
        action=READ_ACTION,
        object_type="person",
        object_id=str(person.id),
        subject_person_id=person.id,
        purpose=purpose[:200],
        now=now,
    )
    identity.flag_reads(session=session, actor=actor, day=day)
    return resources.patient(person, _attached(session, person.id, day), day)


def read_patient(
    *, session: Session, actor: Actor, person_id: int, day: dt.date, now: dt.datetime, purpose: str
) -> dict[str, Any] | None:
    """Return a Patient by id (logging the read), or None; outside the reader's population only for a stated
    purpose (the X-Purpose-Of-Use header), asked before the person is looked up (no existence oracle)."""
    identity.require_purpose(session=session, actor=actor, person_id=person_id, purpose=purpose, day=day)
    person = session.get(Person, person_id)
    return _patient(session, actor, person, day, now, purpose) if person else None


def search_patients(
    *,
    session: Session,
    actor: Actor,
    iin: str | None,
    person_id: int | None,
    day: dt.date,
    now: dt.datetime,
    purpose: str,
) -> Page:
    """Return the Patients with an IIN or id (at most one), logging the read of each."""
    query = select(Person)
    if iin is not None:
        query = query.where(Person.iin == iin)
    if person_id is not None:
        query = query.where(Person.id == person_id)
    found = list(session.scalars(query.limit(2)))
    return len(found), [_patient(session, actor, p, day, now, purpose) for p in found]


def read_organization(*, session: Session, entity_id: int, day: dt.date) -> dict[str, Any] | None:
    """Return an Organization by id, or None."""
    entity = session.get(Entity, entity_id)
    return (
        resources.organization(entity, is_included(session=session, entity_id=entity.id, day=day)) if entity else None
    )


def search_organizations(
    *,
    session: Session,
    bin_: str | None,
    name: str | None,
    entity_id: int | None,
    day: dt.date,
    count: int,
    offset: int,
) -> Page:
    """Return Organizations by BIN or id (any status), or the participating ones filtered by name."""
    if bin_ is not None or entity_id is not None:
        query = select(Entity)
        if bin_ is not None:
            query = query.where(Entity.bin == bin_)
        if entity_id is not None:
            query = query.where(Entity.id == entity_id)
        found = list(session.scalars(query))
        return len(found), [
            resources.organization(e, is_included(session=session, entity_id=e.id, day=day))
            for e in found[offset : offset + count]
        ]
    total, entities = list_participating(session=session, day=day, q=name or "", limit=count, offset=offset)
    return total, [resources.organization(e, True) for e in entities]


def read_location(*, session: Session, site_id: int) -> dict[str, Any] | None:
    """Return a Location by id, or None."""
    row = session.execute(
        select(Site, Entity).join(Entity, Entity.id == Site.entity_id).where(Site.id == site_id)
    ).first()
    return resources.location(row[0], row[1]) if row else None


MAX_NEAR = 1000


def search_locations(
    *,
    session: Session,
    near_point: tuple[float, float, float] | None,
    entity_id: int | None,
    site_id: int | None,
    day: dt.date,
    count: int,
    offset: int,
) -> Page:
    """Return Locations nearest first within a distance (participating sites), or by organization or id."""
    if near_point is not None:
        lat, lon, radius = near_point
        wanted = min(offset + count + 1, MAX_NEAR)
        found = near(session=session, lat=lat, lon=lon, day=day, limit=wanted)
        inside = [
            n
            for n in found
            if n.distance_km <= radius
            and (entity_id is None or n.entity.id == entity_id)
            and (site_id is None or n.site.id == site_id)
        ]
        # ``total`` is exact when fewer than ``wanted`` sites were fetched; otherwise at least this many.
        return len(inside), [
            resources.location(n.site, n.entity, n.distance_km) for n in inside[offset : offset + count]
        ]
    query = select(Site, Entity).join(Entity, Entity.id == Site.entity_id).where(Site.active.is_(True))
    if entity_id is not None:
        query = query.where(Site.entity_id == entity_id)
    if site_id is not None:
        query = query.where(Site.id == site_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Site.id).limit(count).offset(offset)).all()
    return total, [resources.location(s, e) for s, e in rows]


def read_practitioner(*, session: Session, practitioner_id: int) -> dict[str, Any] | None:
    """Return a Practitioner by id, or None."""
    p = session.get(Practitioner, practitioner_id)
    return resources.practitioner(p) if p else None


def search_practitioners(
    *, session: Session, iin: str | None, practitioner_id: int | None, count: int, offset: int
) -> Page:
    """Return Practitioners by IIN or id, or all of them by surname."""
    query = select(Practitioner)
    if iin is not None:
        query = query.where(Practitioner.iin == iin)
    if practitioner_id is not None:
        query = query.where(Practitioner.id == practitioner_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Practitioner.surname, Practitioner.id).limit(count).offset(offset))
    return total, [resources.practitioner(p) for p in rows]


def read_role(*, session: Session, post_id: int, day: dt.date) -> dict[str, Any] | None:
    """Return a PractitionerRole by id, or None."""
    post = session.get(Post, post_id)
    return resources.practitioner_role(post, day) if post else None


def search_roles(
    *,
    session: Session,
    practitioner_id: int | None,
    entity_id: int | None,
    post_id: int | None,
    day: dt.date,
    count: int,
    offset: int,
) -> Page:
    """Return PractitionerRoles of a practitioner or at an organization."""
    query = select(Post)
    if practitioner_id is not None:
        query = query.where(Post.practitioner_id == practitioner_id)
    if entity_id is not None:
        query = query.where(Post.entity_id == entity_id)
    if post_id is not None:
        query = query.where(Post.id == post_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Post.id).limit(count).offset(offset))
    return total, [resources.practitioner_role(p, day) for p in rows]
