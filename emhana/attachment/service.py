"""Use cases of the attachment campaign: apply by three channels, decide, read attachments and free places.

A refused application raises its RuleViolation before anything is written, so the request's
unit of work leaves the database as it was. Ownership checks live here, after the route's role check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.calendar import KZ_TIME, decision_deadline
from emhana.attachment.enums import Cause, ChangeReason, Channel, Holder, Outcome, PlaceBasis, State
from emhana.attachment.models import Application, ApplicationDocument, Attachment
from emhana.attachment.placement import (
    Placement,
    address_of,
    attached_count,
    attached_counts,
    lock_district,
    lock_persons,
    place,
)
from emhana.attachment.policy import policy_for
from emhana.attachment.rules import (
    REFUSAL_REASONS,
    ApplicationFacts,
    CurrentFacts,
    Decision,
    DocumentFacts,
    PersonFacts,
    TargetFacts,
    evaluate,
)
from emhana.attachment.schemas import ApplicationIn, DecisionIn
from emhana.audit.service import record_event
from emhana.errors import (
    AlreadyDecided,
    ApplicationPending,
    Forbidden,
    InvalidInput,
    NotFound,
    RepresentativeRequired,
    VersionConflict,
)
from emhana.facilities.models import District, Entity, Site
from emhana.facilities.service import NearSite, included_on, near
from emhana.identity.models import IdentityDocument, Person
from emhana.identity.service import may_read, represented_ids
from emhana.notify import events as notify


def utcnow() -> dt.datetime:
    """Return the current instant (UTC)."""
    return dt.datetime.now(dt.UTC)


def local_day(moment: dt.datetime) -> dt.date:
    """Return the calendar day in Kazakhstan of an instant."""
    return moment.astimezone(KZ_TIME).date()


@dataclass(frozen=True)
class Upload:
    """A scanned document of a written application (A-51)."""

    file_name: str
    content_type: str
    content: bytes


def _applicant(session: Session, actor: Actor, data: ApplicationIn, channel: Channel,
               day: dt.date) -> tuple[bool, int, bool]:
    """Return (by self, applicant person id, representation valid) or refuse the actor (A-24, A-50, A-65)."""
    if actor.role is Role.CITIZEN:
        if channel is not Channel.EGOV or actor.person_id is None:
            raise Forbidden()
        if data.documents or data.applicant_person_id not in (None, actor.person_id):
            raise InvalidInput()
        if data.person_id == actor.person_id:
            return True, actor.person_id, False
        if data.person_id in represented_ids(session=session, representative_id=actor.person_id, day=day):
            return False, actor.person_id, True
        raise RepresentativeRequired()
    if actor.role is Role.REGISTRAR and channel is not Channel.EGOV and actor.entity_id is not None:
        applicant = data.applicant_person_id
        if applicant is None or applicant == data.person_id:
            return True, data.person_id, False
        if session.get(Person, applicant) is None:
            raise NotFound()
        valid = data.person_id in represented_ids(session=session, representative_id=applicant, day=day)
        return False, applicant, valid
    raise Forbidden()


def _documents_on_file(session: Session, person_id: int, holder: Holder) -> list[DocumentFacts]:
    """Return the identity documents the state systems hold for a person (A-53)."""
    rows = session.scalars(select(IdentityDocument).where(IdentityDocument.person_id == person_id))
    return [DocumentFacts(kind=d.kind, holder=holder, expires_on=d.expires_on) for d in rows]


def _history(session: Session, person_id: int) -> list[Attachment]:
    """Return every attachment of a person, earliest first (read once, after the person's lock)."""
    return list(session.scalars(select(Attachment).where(Attachment.person_id == person_id)
                                .order_by(Attachment.begin_date, Attachment.id)))


def _voluntary_changes(history: Sequence[Attachment], year: int) -> int:
    """Return the voluntary changes decided for a person in a calendar year (A-41)."""
    return sum(1 for a in history if a.cause == Cause.VOLUNTARY_CHANGE.value and a.decided_on is not None
               and a.decided_on.year == year)


def _open(history: Sequence[Attachment]) -> Attachment | None:
    """Return the open attachment among a person's history (at most one, A-01)."""
    return next((a for a in history if a.end_date is None), None)


def _entities(session: Session, ids: set[int], day: dt.date) -> dict[int, tuple[Entity, bool]]:
    """Return entities by id with whether each is included in the database on a day, in one query."""
    rows = session.execute(select(Entity, included_on(day).label("included")).where(Entity.id.in_(sorted(ids))))
    return {e.id: (e, bool(inc)) for e, inc in rows}


def _participates(entity: Entity, included: bool, day: dt.date) -> bool:
    """Tell whether an entity is included on a day with a Fund contract not yet ended (A-04, B-06)."""
    return included and (entity.contract_to is None or entity.contract_to >= day)


@dataclass(frozen=True)
class Request:
    """An application as the rules see it, before or after it is stored."""

    person: Person
    applicant_id: int
    by_self: bool
    representative_valid: bool
    channel: Channel
    documents: tuple[DocumentFacts, ...]
    district: District
    site: Site
    basis: PlaceBasis
    border_claim: bool
    reason: ChangeReason | None
    filed_on: dt.date


def _evaluate(session: Session, req: Request, history: Sequence[Attachment], today: dt.date,
              reviewed: bool) -> tuple[Decision, District, Entity]:
    """Gather the facts of a request and apply the rules; return the decision, the target district,
    locked, and its entity (held by the caller, so that the notices find it in the session's identity
    map instead of reading it again). Every other fact is read first, so that the district lock (shared
    by everyone choosing the district) is taken as late as possible, just before its load is counted."""
    current = _open(history)
    entities = _entities(session, {req.site.entity_id} | ({current.entity_id} if current else set()), today)
    if req.site.entity_id not in entities:
        raise NotFound()
    entity, included = entities[req.site.entity_id]
    address = address_of(req.person, req.basis, today)
    policy = policy_for(session, req.filed_on)
    district = lock_district(session, req.district.id)
    facts = ApplicationFacts(
        filed_on=req.filed_on, today=today, policy=policy,
        person=_person_facts(req.person), by_self=req.by_self, representative_valid=req.representative_valid,
        channel=req.channel, documents=req.documents, basis=req.basis,
        address_kato=address.kato_code if address else None, border_claim=req.border_claim, reason=req.reason,
        target=TargetFacts(entity_participating=included, contract_to=entity.contract_to,
                           district_id=district.id, profile=district.profile,
                           capacity=district.capacity, attached=attached_count(session, district.id),
                           site_kato=req.site.kato_code),
        current=CurrentFacts(district_id=current.district_id,
                             entity_participating=current.entity_id in entities
                             and _participates(*entities[current.entity_id], today))
        if current else None,
        voluntary_changes_this_year=_voluntary_changes(history, req.filed_on.year),
        reviewed=reviewed)
    return evaluate(facts), district, entity


def _person_facts(person: Person) -> PersonFacts:
    """Return the facts of a person the rules need."""
    return PersonFacts(birth_date=person.birth_date, death_date=person.death_date, category=person.category)


def _lock_and_load_person(session: Session, person_id: int) -> Person:
    """Lock a person row (the first lock of the transaction) and return it with addresses and documents,
    in one statement."""
    person = session.scalars(select(Person).where(Person.id == person_id).options(
        joinedload(Person.addresses), joinedload(Person.documents)).with_for_update(of=Person)
        .execution_options(populate_existing=True)).unique().one_or_none()
    if person is None:
        raise NotFound()
    return person


def _target(session: Session, district_id: int) -> tuple[District, Site]:
    """Return an active district and its site (not locked yet), in one query."""
    row = session.execute(select(District, Site).join(Site, Site.id == District.site_id)
                          .where(District.id == district_id)).one_or_none()
    if row is None or not row[0].active:
        raise NotFound()
    return row[0], row[1]


def _load_person(session: Session, person_id: int) -> Person:
    """Return a person with addresses and documents, read again after the lock."""
    person = session.scalar(select(Person).where(Person.id == person_id).options(
        selectinload(Person.addresses), selectinload(Person.documents)).execution_options(populate_existing=True))
    if person is None:
        raise NotFound()
    return person


def _approve(session: Session, actor: Actor | None, app: Application, decision: Decision, district: District,
             site: Site, moment: dt.datetime, history: Sequence[Attachment]) -> Attachment:
    """Open the attachment of an approved application and mark it approved."""
    if decision.cause is None or decision.begin_date is None:
        raise InvalidInput()
    lost = _open(history)
    row = place(session, actor, Placement(
        person_id=app.person_id, district=district, site=site, basis=PlaceBasis(app.place_basis),
        cause=decision.cause, begin=decision.begin_date, decided_on=local_day(moment),
        insured_until=decision.insured_until, application_id=app.id), history=history)
    app.state = State.APPROVED.value
    app.decided_at = moment
    notify.application_decided(session, app=app, attachment=row, lost=lost, now=moment)
    return row


def submit(*, session: Session, actor: Actor, data: ApplicationIn, channel: Channel,
           uploads: Sequence[Upload] = (), now: dt.datetime | None = None) -> Application:
    """File an application; approve it at once when every rule passes, queue it when a registrar must
    verify something, refuse it (raising, nothing written) when a rule fails (A-50..A-52)."""
    moment = (now or utcnow()).astimezone(dt.UTC)
    day = local_day(moment)
    by_self, applicant_id, rep_valid = _applicant(session, actor, data, channel, day)
    if (channel is Channel.WRITTEN and not uploads) or len(uploads) > len(data.documents):
        raise InvalidInput()
    person = _lock_and_load_person(session, data.person_id)
    district, site = _target(session, data.district_id)
    if not site.active:
        raise NotFound()
    if actor.role is Role.REGISTRAR and site.entity_id != actor.entity_id:
        raise Forbidden()
    if session.scalar(select(Application.id).where(Application.person_id == person.id,
                                                   Application.state == State.SUBMITTED.value)) is not None:
        raise ApplicationPending()
    history = _history(session, person.id)
    if channel is Channel.EGOV:
        docs = [DocumentFacts(kind=d.kind, holder=Holder.PERSON, expires_on=d.expires_on) for d in person.documents]
        if not by_self:
            docs += _documents_on_file(session, applicant_id, Holder.APPLICANT)
    else:
        docs = [DocumentFacts(kind=d.kind.value, holder=d.holder, expires_on=d.expires_on) for d in data.documents]
    req = Request(person=person, applicant_id=applicant_id, by_self=by_self, representative_valid=rep_valid,
                  channel=channel, documents=tuple(docs), district=district, site=site, basis=data.place_basis,
                  border_claim=data.border_claim, reason=data.change_reason, filed_on=day)
    decision, district, _entity = _evaluate(session, req, history, day, reviewed=False)
    if decision.outcome is Outcome.REFUSE:
        raise decision.error or InvalidInput()
    approve = decision.outcome is Outcome.APPROVE
    app = Application(
        person_id=person.id, applicant_person_id=applicant_id, channel=channel.value, entity_id=site.entity_id,
        site_id=site.id, district_id=district.id, place_basis=data.place_basis.value, border_claim=data.border_claim,
        change_reason=data.change_reason.value if data.change_reason else None,
        state=(State.APPROVED if approve else State.SUBMITTED).value, decided_at=moment if approve else None,
        review=",".join(decision.review), submitted_at=moment, filed_on=day,
        deadline=decision_deadline(moment).astimezone(dt.UTC),
        recorded_by=actor.account_id if actor.role is Role.REGISTRAR else None, version=1)
    for i, d in enumerate(data.documents):
        up = uploads[i] if i < len(uploads) else None
        app.documents.append(ApplicationDocument(
            holder=d.holder.value, kind=d.kind.value, number=d.number, expires_on=d.expires_on,
            file_name=up.file_name if up else None, content_type=up.content_type if up else None,
            content=up.content if up else None, sha256=hashlib.sha256(up.content).hexdigest() if up else None))
    session.add(app)
    session.flush()
    record_event(session=session, actor=actor, action="application.submit", object_type="application",
                 object_id=str(app.id), subject_person_id=person.id, purpose=channel.value)
    if approve:
        _approve(session, None, app, decision, district, site, moment, history)
    session.flush()
    return app


def _authorize_read(session: Session, actor: Actor, app: Application, day: dt.date) -> None:
    """Admit the Fund, the registrar of the chosen entity, the person and their representative."""
    if actor.role is Role.FUND_ADMIN:
        return
    if actor.role is Role.REGISTRAR and actor.entity_id == app.entity_id:
        return
    if actor.role is Role.CITIZEN and actor.person_id is not None and (
            actor.person_id in (app.person_id, app.applicant_person_id)
            or app.person_id in represented_ids(session=session, representative_id=actor.person_id, day=day)):
        return
    raise Forbidden()


def get_application(*, session: Session, actor: Actor, application_id: int, today: dt.date) -> Application:
    """Return an application the actor may see: their own or a represented person's, or their entity's."""
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound()
    _authorize_read(session, actor, app, today)
    return app


def decide(*, session: Session, actor: Actor, application_id: int, expected_version: int, data: DecisionIn,
           now: dt.datetime | None = None) -> Application:
    """Approve (re-checking every rule) or refuse with a reason code a queued application of the
    registrar's entity (A-52, A-70, A-71)."""
    moment = (now or utcnow()).astimezone(dt.UTC)
    day = local_day(moment)
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound()
    if actor.role is not Role.REGISTRAR or actor.entity_id != app.entity_id:
        raise Forbidden()
    lock_persons(session, [app.person_id])
    app = session.scalar(select(Application).where(Application.id == application_id).with_for_update()
                         .execution_options(populate_existing=True))
    if app is None:
        raise NotFound()
    if app.version != expected_version:
        raise VersionConflict()
    if app.state != State.SUBMITTED.value:
        raise AlreadyDecided()
    if data.decision == "refuse":
        if data.reason_code not in REFUSAL_REASONS:
            raise InvalidInput()
        app.state, app.reason_code, app.reason_note = State.REFUSED.value, data.reason_code, data.note
        app.decided_at = moment
        notify.application_decided(session, app=app, attachment=None, lost=None, now=moment)
    else:
        person = _load_person(session, app.person_id)
        district, site = _target(session, app.district_id)
        history = _history(session, app.person_id)
        by_self = app.applicant_person_id == app.person_id
        rep_valid = not by_self and app.person_id in represented_ids(
            session=session, representative_id=app.applicant_person_id, day=day)
        docs = [DocumentFacts(kind=d.kind, holder=Holder(d.holder), expires_on=d.expires_on) for d in app.documents]
        if app.channel == Channel.EGOV.value:
            docs = _documents_on_file(session, app.person_id, Holder.PERSON) + (
                [] if by_self else _documents_on_file(session, app.applicant_person_id, Holder.APPLICANT))
        req = Request(person=person, applicant_id=app.applicant_person_id, by_self=by_self,
                      representative_valid=rep_valid, channel=Channel(app.channel), documents=tuple(docs),
                      district=district, site=site, basis=PlaceBasis(app.place_basis), border_claim=app.border_claim,
                      reason=ChangeReason(app.change_reason) if app.change_reason else None, filed_on=app.filed_on)
        decision, district, _entity = _evaluate(session, req, history, day, reviewed=True)
        if decision.outcome is Outcome.REFUSE:
            raise decision.error or InvalidInput()
        _approve(session, actor, app, decision, district, site, moment, history)
        app.reason_note = data.note
    app.decided_by = actor.account_id
    app.version += 1
    session.flush()
    record_event(session=session, actor=actor, action=f"application.{data.decision}", object_type="application",
                 object_id=str(app.id), subject_person_id=app.person_id, purpose=app.reason_code or "")
    return app


def queue(*, session: Session, actor: Actor) -> list[Application]:
    """Return the registrar's entity's applications awaiting a decision, earliest deadline first (A-52)."""
    if actor.entity_id is None:
        return []
    return list(session.scalars(select(Application).where(
        Application.entity_id == actor.entity_id, Application.state == State.SUBMITTED.value)
        .order_by(Application.deadline, Application.id)))


def attachment_of(session: Session, application_id: int) -> Attachment | None:
    """Return the attachment opened by an application, if any."""
    return session.scalar(select(Attachment).where(Attachment.application_id == application_id))


@dataclass(frozen=True)
class PersonView:
    """A person's attachments as the citizen and the staff see them."""

    person_id: int
    current: Attachment | None
    upcoming: Attachment | None
    history: list[Attachment]
    applications: list[Application]


def active_on(att: Attachment, day: dt.date) -> bool:
    """Tell whether an attachment is in effect on a day."""
    return (att.begin_date <= day and (att.end_date is None or att.end_date >= day)
            and (att.insured_until is None or att.insured_until >= day))


def person_view(*, session: Session, actor: Actor, person_id: int, today: dt.date) -> PersonView:
    """Return a readable person's current and upcoming attachment, history and applications."""
    if session.get(Person, person_id) is None:
        raise NotFound()
    if not may_read(session=session, actor=actor, person_id=person_id, day=today):
        raise Forbidden()
    history = list(session.scalars(select(Attachment).where(Attachment.person_id == person_id)
                                   .order_by(Attachment.begin_date.desc(), Attachment.id.desc())))
    apps = list(session.scalars(select(Application).where(Application.person_id == person_id)
                                .order_by(Application.id.desc())))
    record_event(session=session, actor=actor, action="attachment.read", object_type="person",
                 object_id=str(person_id), subject_person_id=person_id, purpose="attachment history")
    return PersonView(person_id=person_id, current=next((a for a in history if active_on(a, today)), None),
                      upcoming=next((a for a in history if a.begin_date > today and a.end_date is None), None),
                      history=history, applications=apps)


def my_views(*, session: Session, actor: Actor, today: dt.date) -> tuple[PersonView | None, list[PersonView]]:
    """Return the citizen's own view and those of the persons they represent today."""
    if actor.person_id is None:
        return None, []
    me = person_view(session=session, actor=actor, person_id=actor.person_id, today=today)
    ids = sorted(represented_ids(session=session, representative_id=actor.person_id, day=today))
    return me, [person_view(session=session, actor=actor, person_id=i, today=today) for i in ids]


def site_free(*, session: Session, site_id: int) -> tuple[Site, list[tuple[District, int]]]:
    """Return a site with each active district and its load (free places are shown before choosing, A-80)."""
    site = session.scalar(select(Site).where(Site.id == site_id).options(selectinload(Site.districts)))
    if site is None or not site.active:
        raise NotFound()
    districts = [d for d in site.districts if d.active]
    counts = attached_counts(session, [d.id for d in districts])
    return site, [(d, counts[d.id]) for d in districts]


def near_free(*, session: Session, lat: float, lon: float, day: dt.date, limit: int,
              profile: str | None) -> list[tuple[NearSite, list[tuple[District, int]]]]:
    """Return the nearest participating sites with the load of each district (journey 1)."""
    found = near(session=session, lat=lat, lon=lon, day=day, limit=limit, profile=profile)
    ids = [d.id for n in found for d in n.site.districts if d.active]
    counts = attached_counts(session, ids)
    return [(n, [(d, counts[d.id]) for d in n.site.districts if d.active
                 and (profile is None or d.profile == profile)]) for n in found]
