"""Use cases of the attachment campaign: apply by three channels, decide, read attachments and free places.

A refused application raises its RuleViolation before anything is written, so the request's
unit of work leaves the database as it was. Ownership checks live here, after the route's role check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached, selectinload
from sqlalchemy.orm.instrumentation import manager_of_class

from emhana.accounts.policy import organization_of, sees_every_organization
from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import Actor
from emhana.attachment import facts, nearby, population
from emhana.attachment.application import decision as approval
from emhana.attachment.application import refusals
from emhana.attachment.campaign.calendar import decision_deadline
from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import ChangeReason, Channel, Holder, Outcome, PlaceBasis, State
from emhana.attachment.models import Application, ApplicationDocument, Attachment
from emhana.attachment.notice import events as notify
from emhana.attachment.placement import attached_counts, lock_persons
from emhana.attachment.rules import REFUSAL_REASONS, Decision, DocumentFacts, care_at_home
from emhana.attachment.schemas import ApplicationIn, DecisionIn
from emhana.attachment.writes import Events, already_attached
from emhana.audit.readlog import log_read
from emhana.audit.service import event_row, record_event
from emhana.facilities.models import District, Site
from emhana.identity.models import Person
from emhana.identity.service import may_read, represented_ids, require_purpose
from emhana.kernel import clock
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.errors import (
    AlreadyAttached,
    AlreadyDecided,
    ApplicationPending,
    Forbidden,
    InvalidInput,
    NotFound,
    RepresentativeRequired,
    VersionConflict,
)
from emhana.kernel.fastsql import Fast, pipeline
from emhana.trust.chain import links as chain

DOCUMENT = cast(Table, ApplicationDocument.__table__)
INSERT_APPLICATION = Fast(insert(facts.APPLICATION).returning(facts.APPLICATION.c.id))
INSERT_DOCUMENT = insert(DOCUMENT)


def local_day(moment: dt.datetime) -> dt.date:
    """Return the calendar day in Kazakhstan of an instant."""
    return moment.astimezone(KZ_TIME).date()


@dataclass(frozen=True)
class Upload:
    """A scanned document of a written application (A-51)."""

    file_name: str
    content_type: str
    content: bytes


def _applicant(
    session: Session, actor: Actor, data: ApplicationIn, channel: Channel, day: dt.date
) -> tuple[bool, int, bool]:
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


def _documents(
    session: Session,
    channel: Channel,
    data_documents: Sequence[DocumentFacts],
    person_id: int,
    applicant_id: int,
    by_self: bool,
    on_file: Sequence[tuple[int, str, dt.date | None]] | None = None,
) -> tuple[DocumentFacts, ...]:
    """Return the documents the rules check: the state systems' records for eGov (A-53), else those presented.

    ``on_file``: the records as read already (``decision.gather``), else they are read here."""
    if channel is not Channel.EGOV:
        return tuple(data_documents)
    holders = {person_id: Holder.PERSON} if by_self else {person_id: Holder.PERSON, applicant_id: Holder.APPLICANT}
    rows = (  # the same id when by self
        on_file if on_file is not None else facts.documents_on_file(session.connection(), person_id, applicant_id)
    )
    return tuple(DocumentFacts(kind=kind, holder=holders[pid], expires_on=until) for pid, kind, until in rows)


def _application_row(app_id: int, values: dict[str, Any]) -> Application:
    """Return an application inserted by a Core statement as a loaded ORM object, without reading it back: its
    attributes set as a query's load sets them (no change events; Application has no constructor logic)."""
    if not _CONFIGURED:
        configure_mappers()  # what the constructor would do first
        _CONFIGURED.append(True)
    app = _NEW_APPLICATION()
    app.__dict__.update(values, id=app_id)
    make_transient_to_detached(app)
    return app


_NEW_APPLICATION = manager_of_class(Application).new_instance
_CONFIGURED: list[bool] = []


def submit(
    *,
    session: Session,
    actor: Actor,
    data: ApplicationIn,
    channel: Channel,
    uploads: Sequence[Upload] = (),
    now: dt.datetime | None = None,
) -> Application:
    """File an application; approve it at once when every rule passes, queue it when a registrar must
    verify something, refuse it (raising, nothing written) when a rule fails (A-50..A-52).

    Core statements throughout (the hot path of the campaign): about a dozen round trips for an
    approved transfer, and no unit-of-work flush."""
    moment = (now or clock.now()).astimezone(dt.UTC)
    day = local_day(moment)
    by_self, applicant_id, rep_valid = _applicant(session, actor, data, channel, day)
    if (channel is Channel.WRITTEN and not uploads) or len(uploads) > len(data.documents):
        raise InvalidInput()
    session.flush()
    g = approval.gather(
        session,
        person_id=data.person_id,
        district_id=data.district_id,
        applicant_id=applicant_id,
        day=day,
        documents=channel is Channel.EGOV,
        new_ids=True,
    )
    if actor.role is Role.REGISTRAR and g.target.entity_id != actor.entity_id:
        raise Forbidden()
    if g.target.pending_application is not None:
        raise ApplicationPending()
    presented = [DocumentFacts(kind=d.kind.value, holder=d.holder, expires_on=d.expires_on) for d in data.documents]
    claim = approval.Claim(
        by_self=by_self,
        representative_valid=rep_valid,
        channel=channel,
        documents=_documents(session, channel, presented, g.person.id, applicant_id, by_self, g.documents),
        basis=data.place_basis,
        border_claim=data.border_claim,
        reason=data.change_reason,
        filed_on=day,
        pregnant=data.pregnant,
    )
    decision = approval.judge(session, g, claim, day, reviewed=False)
    if decision.outcome is Outcome.REFUSE:
        error = decision.error or InvalidInput()
        refusals.count_later(session, year=day.year, day=day, reason_code=error.code, channel=channel.value)
        raise error
    approve = decision.outcome is Outcome.APPROVE
    values: dict[str, Any] = {
        "person_id": g.person.id,
        "applicant_person_id": applicant_id,
        "channel": channel.value,
        "entity_id": g.target.entity_id,
        "site_id": g.target.site_id,
        "district_id": g.target.district_id,
        "place_basis": data.place_basis.value,
        "border_claim": data.border_claim,
        "pregnant": data.pregnant,
        "care_at_home": data.care_at_home,
        "change_reason": data.change_reason.value if data.change_reason else None,
        "state": (State.APPROVED if approve else State.SUBMITTED).value,
        "review": ",".join(decision.review),
        "reason_code": None,
        "reason_note": None,
        "submitted_at": moment,
        "filed_on": day,
        "deadline": decision_deadline(moment).astimezone(dt.UTC),
        "decided_at": moment if approve else None,
        "decided_by": None,
        "recorded_by": actor.account_id if actor.role is Role.REGISTRAR else None,
        "version": 1,
    }
    conn = session.connection()
    try:
        with pipeline(conn):  # the writes in one round trip on PostgreSQL, ids taken from their sequences by gather
            app_id = _write(session, actor, g, decision, data, channel, uploads, values, moment, day, applicant_id)
    except IntegrityError as exc:
        if already_attached(exc):  # a second open attachment, refused by the database's unique index
            raise AlreadyAttached() from exc
        raise
    app = _application_row(app_id, values)
    session.add(app)
    return app


def _write(
    session: Session,
    actor: Actor,
    g: approval.Gathered,
    decision: Decision,
    data: ApplicationIn,
    channel: Channel,
    uploads: Sequence[Upload],
    values: dict[str, Any],
    moment: dt.datetime,
    day: dt.date,
    applicant_id: int,
) -> int:
    """Write a filed application, and on approval its transfer (``decision.approve``), with the audit events;
    return the application's id. With ids taken already (``g.new_ids``) nothing here waits for a result, so on
    PostgreSQL the statements go in the caller's pipeline, with the locks of the chains' heads the commit appends to
    (``chain.lock_heads``)."""
    conn = session.connection()
    approve = decision.outcome is Outcome.APPROVE
    if g.new_ids is not None:
        app_id = g.new_ids[0]
        INSERT_APPLICATION.later(conn, {**values, "id": app_id})
    else:
        app_id = int(INSERT_APPLICATION.rows(conn, values)[0][0])
    # The person's applications chain (tamper evidence), hashed from the row as written at commit.
    chain.note_new(session, "application", [app_id], rows=[{**values, "id": app_id}])
    if data.documents:
        conn.execute(
            INSERT_DOCUMENT,
            [
                {
                    "application_id": app_id,
                    "holder": d.holder.value,
                    "kind": d.kind.value,
                    "number": d.number,
                    "expires_on": d.expires_on,
                    "file_name": up.file_name if up else None,
                    "content_type": up.content_type if up else None,
                    "content": up.content if up else None,
                    "sha256": hashlib.sha256(up.content).hexdigest() if up else None,
                }
                for d, up in zip(
                    data.documents, [*uploads, *[None] * (len(data.documents) - len(uploads))], strict=True
                )
            ],
        )
    events = Events(None)
    events.add("application.submit", "application", app_id, g.person.id, channel.value, actor=actor, at=moment)
    if approve:
        home = care_at_home(
            policy_for(session, day), outside=decision.outside_zone, requested=data.care_at_home, recorded=None
        )  # the applicant's choice where the policy allows it
        approval.approve(
            session,
            events,
            g,
            decision,
            application_id=app_id,
            applicant_id=applicant_id,
            basis=data.place_basis,
            filed_on=day,
            decided_on=day,
            moment=moment,
            care_at_home=home,
            attachment_id=g.new_ids[1] if g.new_ids is not None else None,
        )
    events.write(session)
    if g.new_ids is not None and not g.person.sealed_notices:
        # Every chain this transaction appends to: the person's applications, attachments and audit events.
        key = str(g.person.id)
        chain.lock_heads(session, [("application", key), ("audit", key), *([("attachment", key)] if approve else [])])
    return app_id


def _authorize_read(session: Session, actor: Actor, app: Application, day: dt.date) -> None:
    """Admit the Fund, the registrar of the chosen entity, the person and their representative."""
    if actor.role is Role.FUND_ADMIN:
        return
    if actor.role is Role.REGISTRAR and actor.entity_id == app.entity_id:
        return
    if (
        actor.role is Role.CITIZEN
        and actor.person_id is not None
        and (
            actor.person_id in (app.person_id, app.applicant_person_id)
            or app.person_id in represented_ids(session=session, representative_id=actor.person_id, day=day)
        )
    ):
        return
    raise Forbidden()


def get_application(*, session: Session, actor: Actor, application_id: int, today: dt.date) -> Application:
    """Return an application the actor may see: their own or a represented person's, or their entity's."""
    app = session.get(Application, application_id)
    if app is None:
        # Only the Fund may read any application; to anyone else a missing one looks like someone else's.
        raise NotFound() if actor.role is Role.FUND_ADMIN else Forbidden()
    _authorize_read(session, actor, app, today)
    if actor.person_id != app.person_id:  # shown to the person in "who read my data" (issue 16)
        record_event(
            session=session,
            actor=actor,
            action="application.read",
            object_type="application",
            object_id=str(app.id),
            subject_person_id=app.person_id,
            purpose="attachment application",
        )
    return app


def decide(
    *,
    session: Session,
    actor: Actor,
    application_id: int,
    expected_version: int,
    data: DecisionIn,
    now: dt.datetime | None = None,
) -> Application:
    """Approve (re-checking every rule) or refuse with a reason code a queued application of the
    registrar's entity (A-52, A-70, A-71)."""
    moment = (now or clock.now()).astimezone(dt.UTC)
    day = local_day(moment)
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound()
    if not may(actor.role, Can.DECIDE_APPLICATION) or actor.entity_id != app.entity_id:
        raise Forbidden()
    lock_persons(session, [app.person_id])
    app = session.scalar(
        select(Application)
        .where(Application.id == application_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
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
        by_self = app.applicant_person_id == app.person_id
        rep_valid = not by_self and app.person_id in represented_ids(
            session=session, representative_id=app.applicant_person_id, day=day
        )
        channel = Channel(app.channel)
        presented = [
            DocumentFacts(kind=d.kind, holder=Holder(d.holder), expires_on=d.expires_on) for d in app.documents
        ]
        g = approval.gather(
            session, person_id=app.person_id, district_id=app.district_id, applicant_id=app.applicant_person_id, day=day
        )
        claim = approval.Claim(
            by_self=by_self,
            representative_valid=rep_valid,
            channel=channel,
            documents=_documents(session, channel, presented, app.person_id, app.applicant_person_id, by_self),
            basis=PlaceBasis(app.place_basis),
            border_claim=app.border_claim,
            reason=ChangeReason(app.change_reason) if app.change_reason else None,
            filed_on=app.filed_on,
            pregnant=app.pregnant,
        )
        decision = approval.judge(session, g, claim, day, reviewed=True)
        if decision.outcome is Outcome.REFUSE:
            raise decision.error or InvalidInput()
        # the registrar records whether home visits are agreed for a person outside the service zone.
        home = care_at_home(
            policy_for(session, app.filed_on),
            outside=decision.outside_zone,
            requested=app.care_at_home,
            recorded=data.care_at_home,
        )
        events = Events(actor)
        approval.approve(
            session,
            events,
            g,
            decision,
            application_id=app.id,
            applicant_id=app.applicant_person_id,
            basis=PlaceBasis(app.place_basis),
            filed_on=app.filed_on,
            decided_on=day,
            moment=moment,
            care_at_home=home,
        )
        events.write(session)
        app.state = State.APPROVED.value
        app.decided_at = moment
        app.reason_note = data.note
    app.decided_by = actor.account_id
    app.version += 1
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action=f"application.{data.decision}",
        object_type="application",
        object_id=str(app.id),
        subject_person_id=app.person_id,
        purpose=app.reason_code or "",
    )
    return app


def queue(*, session: Session, actor: Actor) -> list[Application]:
    """Return the registrar's entity's applications awaiting a decision, earliest deadline first (A-52)."""
    if actor.entity_id is None:
        return []
    return list(
        session.scalars(
            select(Application)
            .where(Application.entity_id == actor.entity_id, Application.state == State.SUBMITTED.value)
            .order_by(Application.deadline, Application.id)
        )
    )


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


class Period(Protocol):
    """An attachment period's dates (an ``Attachment`` or an ``AttachmentRow``)."""

    @property
    def begin_date(self) -> dt.date: ...

    @property
    def end_date(self) -> dt.date | None: ...

    @property
    def insured_until(self) -> dt.date | None: ...


P = TypeVar("P", bound=Period)


def active_on(att: Period, day: dt.date) -> bool:
    """Tell whether an attachment is in effect on a day."""
    return (
        att.begin_date <= day
        and (att.end_date is None or att.end_date >= day)
        and (att.insured_until is None or att.insured_until >= day)
    )


def current_of(history: Sequence[P], day: dt.date) -> P | None:
    """The period of a history (latest first) in effect on a day."""
    return next((a for a in history if active_on(a, day)), None)


def upcoming_of(history: Sequence[P], day: dt.date) -> P | None:
    """The open period of a history that takes effect after a day (an approved change, A-05)."""
    return next((a for a in history if a.begin_date > day and a.end_date is None), None)


def staff_only_own(actor: Actor) -> bool:
    """Staff see the applications filed with their own organization only: another one's refusal notes,
    document numbers and pregnancy flags are not theirs to read. A citizen and the Fund see every one."""
    return actor.role is not Role.CITIZEN and not sees_every_organization(actor)


def person_read_event(actor: Actor, person_id: int, purpose: str) -> dict[str, Any]:
    """The audit event of a read of a person's attachments."""
    return event_row(
        actor=actor,
        action="attachment.read",
        object_type="person",
        object_id=person_id,
        subject_person_id=person_id,
        purpose=purpose[:200],
    )


def _log_person_read(session: Session, actor: Actor, person_id: int, purpose: str) -> None:
    """Log the read of a person's attachments, batched with other reads' events when the session only reads
    (docs/access-log.md)."""
    log_read(session, person_read_event(actor, person_id, purpose))


def person_view(
    *, session: Session, actor: Actor, person_id: int, today: dt.date, purpose: str = "history of attachments"
) -> PersonView:
    """Return a readable person's current and upcoming attachment, history and applications; outside the
    reader's population only for a stated purpose."""
    if not may_read(session=session, actor=actor, person_id=person_id, day=today):
        raise Forbidden()  # before existence: no oracle of which ids exist (tests/hardening/test_data_access.py)
    require_purpose(session=session, actor=actor, person_id=person_id, purpose=purpose, day=today)
    history = list(
        session.scalars(
            select(Attachment)
            .where(Attachment.person_id == person_id)
            .order_by(Attachment.begin_date.desc(), Attachment.id.desc())
        )
    )
    if not history and session.scalar(select(Person.id).where(Person.id == person_id)) is None:
        raise NotFound()  # a person with attachments exists: asked only when there are none
    filed = select(Application).where(Application.person_id == person_id).options(selectinload(Application.documents))
    if staff_only_own(actor):
        filed = filed.where(Application.entity_id == organization_of(actor))
    apps = list(session.scalars(filed.order_by(Application.id.desc())))
    _log_person_read(session, actor, person_id, purpose)
    return PersonView(
        person_id=person_id,
        current=current_of(history, today),
        upcoming=upcoming_of(history, today),
        history=history,
        applications=apps,
    )


class AttachmentRow(NamedTuple):
    """An attachment period as the API answers it (``AttachmentOut``), with the application that opened it."""

    id: int
    person_id: int
    entity_id: int
    site_id: int
    district_id: int
    doctor_id: int | None
    place_basis: str
    cause: str
    begin_date: dt.date
    end_date: dt.date | None
    end_reason: str | None
    insured_until: dt.date | None
    care_at_home: bool | None
    application_id: int | None


class ApplicationRow(NamedTuple):
    """An application as the API answers it (``ApplicationOut``), before its texts and its attachment."""

    id: int
    person_id: int
    applicant_person_id: int
    channel: str
    entity_id: int
    site_id: int
    district_id: int
    place_basis: str
    border_claim: bool
    pregnant: bool
    care_at_home: bool | None
    change_reason: str | None
    state: str
    review: str
    reason_code: str | None
    reason_note: str | None
    submitted_at: dt.datetime
    filed_on: dt.date
    deadline: dt.datetime
    decided_at: dt.datetime | None
    version: int


class DocumentRow(NamedTuple):
    """A document of an application as the API answers it (``DocumentOut``; its file is not read)."""

    id: int
    holder: str
    kind: str
    number: str
    expires_on: dt.date | None
    file_name: str | None
    content_type: str | None
    sha256: str | None


@dataclass(frozen=True)
class PersonRecord:
    """``PersonView`` as rows rather than ORM entities: what the API answers (``outputs.person_json``)."""

    person_id: int
    current: AttachmentRow | None
    upcoming: AttachmentRow | None
    history: list[AttachmentRow]
    applications: list[tuple[ApplicationRow, list[DocumentRow]]]  # latest first, each with its documents


def _history_statement(own_only: bool) -> Fast:
    """The person (no row: no such person), each of their attachment periods (latest first; one row of NULLs:
    none) and whether they filed an application the reader may see, in one statement."""
    app = facts.APPLICATION
    filed = select(app.c.id).where(app.c.person_id == bindparam("person"))
    if own_only:
        filed = filed.where(app.c.entity_id == bindparam("entity"))
    att = facts.ATTACHMENT
    return Fast(
        select(facts.PERSON.c.id, *(att.c[name] for name in AttachmentRow._fields), filed.exists())
        .select_from(facts.PERSON.outerjoin(att, att.c.person_id == facts.PERSON.c.id))
        .where(facts.PERSON.c.id == bindparam("person"))
        .order_by(att.c.begin_date.desc(), att.c.id.desc())
    )


def _applications_statement(own_only: bool) -> Fast:
    """The person's applications the reader may see, latest first, each with its documents in order (one row per
    document; one with NULLs for an application without)."""
    app = facts.APPLICATION
    stmt = (
        select(*(app.c[n] for n in ApplicationRow._fields), *(DOCUMENT.c[n] for n in DocumentRow._fields))
        .select_from(app.outerjoin(DOCUMENT, DOCUMENT.c.application_id == app.c.id))
        .where(app.c.person_id == bindparam("person"))
    )
    if own_only:
        stmt = stmt.where(app.c.entity_id == bindparam("entity"))
    return Fast(stmt.order_by(app.c.id.desc(), DOCUMENT.c.id))


PERSON_HISTORY = {own: _history_statement(own) for own in (False, True)}
PERSON_APPLICATIONS = {own: _applications_statement(own) for own in (False, True)}


def person_record(
    *, session: Session, actor: Actor, person_id: int, today: dt.date, purpose: str = "history of attachments"
) -> PersonRecord:
    """``person_view`` as rows (the API's read), with the same checks in the same order and the same read logged:
    one statement reads the person, their attachments and whether they filed an application the reader may see
    (a second one reads those, with their documents, only if so); the person's organization it shows answers the
    population check of the purpose rule (no query of its own)."""
    if not may_read(session=session, actor=actor, person_id=person_id, day=today):
        raise Forbidden()  # before existence: no oracle of which ids exist (tests/hardening/test_data_access.py)
    own_only = staff_only_own(actor)
    params = {"person": person_id, "entity": actor.entity_id} if own_only else {"person": person_id}
    conn = session.connection()
    rows = PERSON_HISTORY[own_only].rows(conn, params)
    history = [AttachmentRow._make(r[1:-1]) for r in rows if r[1] is not None]
    population.known_from(session, person_id, today, history)
    require_purpose(session=session, actor=actor, person_id=person_id, purpose=purpose, day=today)
    if not rows:
        raise NotFound()
    if own_only:
        organization_of(actor)  # an organization role bound to none is refused, as by person_view
    applications: list[tuple[ApplicationRow, list[DocumentRow]]] = []
    if rows[0][-1]:
        width = len(ApplicationRow._fields)
        for r in PERSON_APPLICATIONS[own_only].rows(conn, params):
            if not applications or applications[-1][0].id != r[0]:
                applications.append((ApplicationRow._make(r[:width]), []))
            if r[width] is not None:
                applications[-1][1].append(DocumentRow._make(r[width:]))
    _log_person_read(session, actor, person_id, purpose)
    return PersonRecord(
        person_id=person_id,
        current=current_of(history, today),
        upcoming=upcoming_of(history, today),
        history=history,
        applications=applications,
    )


def my_views(*, session: Session, actor: Actor, today: dt.date) -> tuple[PersonView | None, list[PersonView]]:
    """Return the citizen's own view and those of the persons they represent today."""
    if actor.person_id is None:
        return None, []
    me = person_view(session=session, actor=actor, person_id=actor.person_id, today=today)
    ids = sorted(represented_ids(session=session, representative_id=actor.person_id, day=today))
    return me, [person_view(session=session, actor=actor, person_id=i, today=today) for i in ids]


def my_records(*, session: Session, actor: Actor, today: dt.date) -> tuple[PersonRecord | None, list[PersonRecord]]:
    """``my_views`` as rows (the API's read, ``person_record``): the citizen's own and those of the persons they
    represent today, each read logged."""
    if actor.person_id is None:
        return None, []
    me = person_record(session=session, actor=actor, person_id=actor.person_id, today=today)
    ids = sorted(represented_ids(session=session, representative_id=actor.person_id, day=today))
    return me, [person_record(session=session, actor=actor, person_id=i, today=today) for i in ids]


def site_free(*, session: Session, site_id: int) -> tuple[Site, list[tuple[District, int]]]:
    """Return a site with each active district and its load (free places are shown before choosing, A-80)."""
    site = session.scalar(select(Site).where(Site.id == site_id).options(selectinload(Site.districts)))
    if site is None or not site.active:
        raise NotFound()
    districts = [d for d in site.districts if d.active]
    counts = attached_counts(session, [d.id for d in districts])
    return site, [(d, counts[d.id]) for d in districts]


def near_free(
    *, session: Session, lat: float, lon: float, day: dt.date, limit: int, profile: str | None
) -> nearby.Found:
    """Return the nearest participating sites with the load of each district (journey 1): one Core statement on
    PostgreSQL, the loads as the database keeps them (emhana.attachment.nearby)."""
    return nearby.near_free(session=session, lat=lat, lon=lon, day=day, limit=limit, profile=profile)
