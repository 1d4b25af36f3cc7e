"""Read and search use cases of the FHIR door over the registry; reads of a Patient are audit-logged.

The directory resources (Organization, Location, Practitioner, PractitionerRole) are served with the ``meta`` of
their recorded version (emhana/fhir/versions.py); a Patient's ``meta`` is derived (``patient_meta``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment.models import Attachment
from emhana.audit.models import ChainLink
from emhana.audit.readlog import log_read
from emhana.audit.service import event_row, record_event
from emhana.facilities.inclusion import included_on
from emhana.facilities.models import Entity, Post, Practitioner, Site
from emhana.facilities.service import list_participating, within
from emhana.fhir import resources, versions
from emhana.fhir.versions import LOCATION, ORGANIZATION, PRACTITIONER, ROLE, Bounds
from emhana.identity import service as identity
from emhana.identity.access import attachment_known
from emhana.identity.models import Person
from emhana.kernel import clock
from emhana.kernel.fastsql import pipeline

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
    out = resources.patient(person, _attached(session, person.id, day), day)
    return versions.with_meta(out, *patient_meta(session, person, out))


def patient_meta(session: Session, person: Person, resource: dict[str, Any]) -> tuple[str, dt.datetime]:
    """Return a Patient's versionId and lastUpdated. A Patient is not kept version by version: its versionId is
    the first 16 hex digits of the SHA-256 of what is served (so its ETag changes exactly when its content does)
    and lastUpdated the last change recorded of the person's identity or attachment (their hash-chain links),
    or when the person was registered (docs/fhir-versions.md)."""
    linked = session.scalar(
        select(func.max(ChainLink.linked_at)).where(
            ChainLink.kind.in_(("person", "attachment")), ChainLink.chain_key == str(person.id)
        )
    )
    moments = [versions.utc(m) for m in (linked, person.created_at) if m is not None]
    return versions.content_hash(resource)[:16], max(moments) if moments else clock.now()


def read_patient(
    *, session: Session, actor: Actor, person_id: int, day: dt.date, now: dt.datetime, purpose: str
) -> dict[str, Any] | None:
    """Return a Patient by id (logging the read), or None; outside the reader's population only for a stated
    purpose (the X-Purpose-Of-Use header), asked before existence is told (no existence oracle).

    One round trip on PostgreSQL (``resources.patient_later``: the person, the organizations of the population check
    and of ``generalPractitioner``, the last change of its chains, its addresses; and the first statement of the read
    volume's check, ``identity.volume_later``), then the checks in the order of the search's ``_patient``: the
    purpose, the person, the read logged, the read volume counted."""
    conn = session.connection()
    with pipeline(conn):
        found = resources.patient_later(conn, person_id, day)
        volume = identity.volume_later(session=session, actor=actor, day=day)
    rows = found()
    if rows is not None:  # the population check's organization, read above (no query of its own)
        attachment_known(session, person_id, day, rows[0].open_entity_id)
    # the purpose before existence: the same answer whether or not the person exists
    identity.require_purpose(session=session, actor=actor, person_id=person_id, purpose=purpose, day=day)
    if rows is None:
        return None
    person, addresses = rows
    # batched with other reads' events when the session only reads (docs/access-log.md)
    log_read(session, patient_read_event(actor, person.id, purpose, now))
    identity.flag_checked(session=session, check=volume)
    return patient_answer(person, addresses, day)


def patient_read_event(actor: Actor, person_id: int, purpose: str, now: dt.datetime) -> dict[str, Any]:
    """The audit event of a read of a Patient."""
    return event_row(
        actor=actor,
        action=READ_ACTION,
        object_type="person",
        object_id=person_id,
        subject_person_id=person_id,
        purpose=purpose[:200],
        at=now,
    )


def patient_answer(person: resources.PatientRow, addresses: list[resources.AddressRow], day: dt.date) -> dict[str, Any]:
    """The Patient of the rows read, with its meta (version and last update)."""
    out = resources.patient_of(person, addresses, day)
    moments = [versions.utc(m) for m in (person.linked_at, person.created_at) if m is not None]
    return versions.with_meta(out, versions.content_hash(out)[:16], max(moments) if moments else clock.now())


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


def read_organization(*, session: Session, entity_id: int, day: dt.date, now: dt.datetime) -> dict[str, Any] | None:
    """Return an Organization by id with its ``meta``, or None."""
    return versions.current(session, ORGANIZATION, entity_id, day, now)


def search_organizations(
    *,
    session: Session,
    bin_: str | None,
    name: str | None,
    entity_id: int | None,
    updated: Bounds,
    day: dt.date,
    now: dt.datetime,
    count: int,
    offset: int,
) -> Page:
    """Return Organizations by BIN or id (any status), or the participating ones filtered by name; ``updated``:
    the ``_lastUpdated`` range of their latest version."""
    if bin_ is not None or entity_id is not None or updated:
        query = select(Entity.id)
        if bin_ is not None:
            query = query.where(Entity.bin == bin_)
        if entity_id is not None:
            query = query.where(Entity.id == entity_id)
        if bin_ is None and entity_id is None:  # by _lastUpdated and name: the participating ones, as below
            query = query.where(included_on(day))
            if name:
                like = f"%{name.lower()}%"
                query = query.where(or_(func.lower(Entity.name_ru).like(like), func.lower(Entity.name_kk).like(like)))
        if updated:
            query = query.where(versions.updated_within(ORGANIZATION, Entity.id, updated))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        ids = list(session.scalars(query.order_by(Entity.id).limit(count).offset(offset)))
    else:
        total, entities = list_participating(session=session, day=day, q=name or "", limit=count, offset=offset)
        ids = [e.id for e in entities]
    return total, _served(session, ORGANIZATION, ids, day, now)


def _served(session: Session, rtype: str, ids: list[int], day: dt.date, now: dt.datetime) -> list[dict[str, Any]]:
    """Return the resources of a type by id, in order, with their ``meta`` (recording the versions they need)."""
    rendered = versions.render(session, rtype, ids, day)
    return versions.served(session, rtype, [rendered[i] for i in ids if i in rendered], now)


def read_location(*, session: Session, site_id: int, day: dt.date, now: dt.datetime) -> dict[str, Any] | None:
    """Return a Location by id with its ``meta``, or None."""
    return versions.current(session, LOCATION, site_id, day, now)


Extensions = dict[str, list[dict[str, Any]]]


def search_locations(
    *,
    session: Session,
    near_point: tuple[float, float, float] | None,
    entity_id: int | None,
    site_id: int | None,
    updated: Bounds,
    day: dt.date,
    now: dt.datetime,
    count: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]], Extensions]:
    """Return Locations nearest first within a distance (participating sites: the total is exact, the distance of
    each match is its ``entry.search.extension``), or by organization or id; and the extensions by id."""
    cond = []
    if entity_id is not None:
        cond.append(Site.entity_id == entity_id)
    if site_id is not None:
        cond.append(Site.id == site_id)
    if updated:
        cond.append(versions.updated_within(LOCATION, Site.id, updated))
    if near_point is not None:
        lat, lon, radius = near_point
        total, page = within(
            session=session, lat=lat, lon=lon, radius_km=radius, day=day, limit=count, offset=offset, where=tuple(cond)
        )
        found = versions.served(session, LOCATION, [resources.location(n.site, n.entity) for n in page], now)
        return total, found, {str(n.site.id): [resources.distance(n.distance_km)] for n in page}
    query = select(Site.id).where(Site.active.is_(True), *cond)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(session.scalars(query.order_by(Site.id).limit(count).offset(offset)))
    return total, _served(session, LOCATION, ids, day, now), {}


def read_practitioner(
    *, session: Session, practitioner_id: int, day: dt.date, now: dt.datetime
) -> dict[str, Any] | None:
    """Return a Practitioner by id with its ``meta``, or None."""
    return versions.current(session, PRACTITIONER, practitioner_id, day, now)


def search_practitioners(
    *,
    session: Session,
    iin: str | None,
    practitioner_id: int | None,
    updated: Bounds,
    day: dt.date,
    now: dt.datetime,
    count: int,
    offset: int,
) -> Page:
    """Return Practitioners by IIN or id, or all of them by surname."""
    query = select(Practitioner.id)
    if iin is not None:
        query = query.where(Practitioner.iin == iin)
    if practitioner_id is not None:
        query = query.where(Practitioner.id == practitioner_id)
    if updated:
        query = query.where(versions.updated_within(PRACTITIONER, Practitioner.id, updated))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(session.scalars(query.order_by(Practitioner.surname, Practitioner.id).limit(count).offset(offset)))
    return total, _served(session, PRACTITIONER, ids, day, now)


def read_role(*, session: Session, post_id: int, day: dt.date, now: dt.datetime) -> dict[str, Any] | None:
    """Return a PractitionerRole by id with its ``meta``, or None."""
    return versions.current(session, ROLE, post_id, day, now)


def search_roles(
    *,
    session: Session,
    practitioner_id: int | None,
    entity_id: int | None,
    post_id: int | None,
    updated: Bounds,
    day: dt.date,
    now: dt.datetime,
    count: int,
    offset: int,
) -> Page:
    """Return PractitionerRoles of a practitioner or at an organization."""
    query = select(Post.id)
    if practitioner_id is not None:
        query = query.where(Post.practitioner_id == practitioner_id)
    if entity_id is not None:
        query = query.where(Post.entity_id == entity_id)
    if post_id is not None:
        query = query.where(Post.id == post_id)
    if updated:
        query = query.where(versions.updated_within(ROLE, Post.id, updated))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(session.scalars(query.order_by(Post.id).limit(count).offset(offset)))
    return total, _served(session, ROLE, ids, day, now)


def history(
    *,
    session: Session,
    rtype: str,
    rid: int | None,
    since: dt.datetime | None,
    day: dt.date,
    now: dt.datetime,
    count: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]] | None:
    """Return the versions of a directory resource (its current one recorded first, if new), newest first, or
    of every resource of the type with ``rid`` None; None when the resource does not exist."""
    if rid is not None and versions.current(session, rtype, rid, day, now) is None:
        return None
    return versions.history(session, rtype, rid, since=since, count=count, offset=offset)


def vread(
    *, session: Session, rtype: str, rid: int, version_id: int, day: dt.date, now: dt.datetime
) -> dict[str, Any] | None:
    """Return one version of a directory resource as it was served, or None (unknown resource or version)."""
    if versions.current(session, rtype, rid, day, now) is None:
        return None
    return versions.version(session, rtype, rid, version_id)
