"""Use cases of the identity domain: register and read persons, legal representation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Date, Integer, bindparam, func, or_, select
from sqlalchemy.orm import Session, selectinload

from emhana.accounts.policy import sees_every_organization
from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.audit.readlog import is_read_only
from emhana.audit.service import record_event
from emhana.identity import access
from emhana.identity.models import IdentityDocument, LegalRepresentation, Person, PersonAddress, PersonPhone
from emhana.identity.rules import (
    MINOR_ONLY,
    BasisDocument,
    RepresentationCase,
    adult_born_by,
    name_problem,
    representation_end,
    representation_problem,
    stated_problem,
)
from emhana.identity.schemas import PersonIn, RepresentationIn
from emhana.kernel import clock
from emhana.kernel.config import get_settings
from emhana.kernel.errors import (
    BasisNotFitting,
    DuplicateIIN,
    Forbidden,
    InvalidName,
    NotFound,
    NotPersonsOrganization,
    PurposeRequired,
)
from emhana.kernel.fastsql import Fast, Later, Row
from emhana.reference.loader import KATO_VERSION
from emhana.reference.service import check_places

READ_ACTION = "person.read"
FLAG_ACTION = "identity.read_volume_flagged"  # one per account and day, shown to the Fund (pages/oversight.py)
HONOURED = tuple(k.value for k in BasisDocument)  # an old "power_of_attorney" row gives no access
ENDS_AT_MAJORITY = tuple(k.value for k in MINOR_ONLY)


def create_person(*, session: Session, actor: Actor, data: PersonIn) -> Person:
    """Register a person; refuse a duplicate IIN, an unknown KATO code or a point outside Kazakhstan."""
    for name in (data.surname, data.given_name, data.patronymic):  # PersonIn checks them; a caller may build one
        reason = name_problem(name) if name is not None else None
        if reason is not None:
            raise InvalidName(reason=reason)
    if session.scalar(select(Person.id).where(Person.iin == data.iin)) is not None:
        raise DuplicateIIN()
    check_places(session, ((a.kato_code, a.lat, a.lon) for a in data.addresses))
    person = Person(
        iin=data.iin,
        surname=data.surname,
        given_name=data.given_name,
        patronymic=data.patronymic,
        birth_date=data.birth_date,
        sex=data.sex,
        category=data.category.value,
        death_date=data.death_date,
    )
    person.addresses = [
        PersonAddress(
            kind=a.kind.value,
            text_kk=a.text_kk,
            text_ru=a.text_ru,
            kato_code=a.kato_code,
            kato_version=KATO_VERSION,
            lat=a.lat,
            lon=a.lon,
            valid_from=a.valid_from,
        )
        for a in data.addresses
    ]
    person.phones = [PersonPhone(number=p) for p in data.phones]
    person.documents = [
        IdentityDocument(
            kind=d.kind.value, number=d.number, issuer=d.issuer, issued_on=d.issued_on, expires_on=d.expires_on
        )
        for d in data.documents
    ]
    session.add(person)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="person.create",
        object_type="person",
        object_id=str(person.id),
        subject_person_id=person.id,
    )
    return person


def _honoured(day: Any, born_by: Any) -> list[ColumnElement[bool]]:
    """A representation that counts on ``day``: on a basis document, within its period; one on a birth
    certificate or an adoption decision has ended once the child is of age (born by ``born_by``; A-24, A-65)."""
    rep = LegalRepresentation
    return [
        rep.document_kind.in_(HONOURED),
        rep.valid_from <= day,
        or_(rep.valid_to.is_(None), rep.valid_to >= day),
        or_(rep.document_kind.not_in(ENDS_AT_MAJORITY), Person.birth_date > born_by),
    ]


def represented_ids(*, session: Session, representative_id: int, day: dt.date) -> set[int]:
    """Return the persons a representative acts for on a day (``_honoured``)."""
    rep = LegalRepresentation
    return set(
        session.scalars(
            select(rep.represented_id)
            .join(Person, Person.id == rep.represented_id)
            .where(rep.representative_id == representative_id, *_honoured(day, adult_born_by(day)))
        )
    )


# Whether a representative acts for a person on a day (``represented_ids`` for one person; the reads served on the
# event loop ask it in SQL: emhana.kernel.batched). ``born_by``: ``adult_born_by(day)``.
REPRESENTS = (
    select(LegalRepresentation.id)
    .join(Person, Person.id == LegalRepresentation.represented_id)
    .where(
        LegalRepresentation.representative_id == bindparam("representative"),
        LegalRepresentation.represented_id == bindparam("person"),
        *_honoured(bindparam("day", type_=Date), bindparam("born_by", type_=Date)),
    )
    .limit(1)
)


def may_read(*, session: Session, actor: Actor, person_id: int, day: dt.date) -> bool:
    """Tell whether the actor may read a person's identity data."""
    if may(actor.role, Can.READ_ANY_PERSON):
        return True
    if actor.role is Role.CITIZEN and actor.person_id is not None:
        return person_id == actor.person_id or person_id in represented_ids(
            session=session, representative_id=actor.person_id, day=day
        )
    return False


def needs_purpose(*, session: Session, actor: Actor, person_id: int, day: dt.date) -> bool:
    """Tell whether reading a person takes a stated purpose: staff and the Fund reading someone outside their
    organization's population (not attached to it, no open application or medical book there)."""
    if actor.role is Role.CITIZEN:
        return False
    return actor.entity_id is None or not access.in_population(session, actor.entity_id, person_id, day)


def require_purpose(*, session: Session, actor: Actor, person_id: int, purpose: str, day: dt.date) -> None:
    """Refuse a read of someone outside the actor's population without a stated purpose (PurposeRequired); the
    same answer whether or not the person exists, so it runs before the person is looked up."""
    if needs_purpose(session=session, actor=actor, person_id=person_id, day=day):
        reason = stated_problem(purpose)
        if reason is not None:
            raise PurposeRequired(reason=reason)


def read_flag_limit() -> int:
    """The reads of personal data an account makes in a day before it is flagged to the Fund (the setting)."""
    return get_settings().read_flag_threshold


def flag_reads(*, session: Session, actor: Actor, day: dt.date, flag_after: int | None = None) -> None:
    """Count a staff or MIS read toward the account's daily volume, flagging it to the Fund past the limit."""
    if actor.role is not Role.CITIZEN:
        limit = read_flag_limit() if flag_after is None else flag_after
        flag_read_volume(session=session, actor=actor, day=day, limit=limit)


def get_person(
    *,
    session: Session,
    actor: Actor,
    person_id: int,
    purpose: str,
    day: dt.date | None = None,
    flag_after: int | None = None,
) -> Person:
    """Return a person the actor may read, logging the read with its purpose; NotFound, Forbidden or
    PurposeRequired otherwise. ``flag_after``: reads a day before the account is flagged (else the setting)."""
    day = day or clock.today()
    # Permission first: someone who may not read a person gets the same answer whether or not the id
    # exists (no existence oracle; tests/hardening/test_data_access.py).
    if not may_read(session=session, actor=actor, person_id=person_id, day=day):
        raise Forbidden()
    require_purpose(session=session, actor=actor, person_id=person_id, purpose=purpose, day=day)
    person = session.scalar(
        select(Person)
        .where(Person.id == person_id)
        .options(selectinload(Person.addresses), selectinload(Person.phones), selectinload(Person.documents))
    )
    if person is None:
        raise NotFound()
    record_event(
        session=session,
        actor=actor,
        action=READ_ACTION,
        object_type="person",
        object_id=str(person.id),
        subject_person_id=person.id,
        purpose=purpose,
    )
    flag_reads(session=session, actor=actor, day=day, flag_after=flag_after)
    return person


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return Kazakhstan's day as UTC instants (the audit log keeps UTC on both databases)."""
    start = dt.datetime.combine(day, dt.time(), clock.KZ_TIME).astimezone(dt.UTC)
    return start, start + dt.timedelta(days=1)


def reads_on(*, session: Session, account_id: int, day: dt.date) -> int:
    """Count the reads of personal data an account made on a day (audit events ``*.read``)."""
    start, end = _day_bounds(day)
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.account_id == account_id,
                AuditEvent.at >= start,
                AuditEvent.at < end,
                AuditEvent.action.like("%.read"),
            )
        )
        or 0
    )


def _reads_counted() -> Fast:
    """The day's reads of an account, counted no further than ``first`` (a range of ix_audit_event_account_at)."""
    first = (
        select(AuditEvent.id)
        .where(
            AuditEvent.account_id == bindparam("account", type_=AuditEvent.account_id.type),
            AuditEvent.at >= bindparam("start", type_=AuditEvent.at.type),
            AuditEvent.at < bindparam("end", type_=AuditEvent.at.type),
            AuditEvent.action.like("%.read"),
        )
        .limit(bindparam("first", type_=Integer))
        .subquery()
    )
    return Fast(select(func.count()).select_from(first))


# A kept flag looked for by its id alone (the primary key; its other columns compared here, ``_is_flag``): with
# the account, the action and the day in its condition too, a planner whose statistics lag behind a fast-growing
# audit_event may scan the account's whole day by ix_audit_event_account_at instead (thousands of rows).
FLAG_FOUND = Fast(
    select(AuditEvent.account_id, AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id, AuditEvent.at).where(
        AuditEvent.id == bindparam("event", type_=AuditEvent.id.type)
    )
)


def _is_flag(rows: list[Row], account_id: int, day: dt.date) -> bool:
    """Tell whether the row ``FLAG_FOUND`` read is the account's read-volume flag of the day (as ``_flag_of``)."""
    if not rows:
        return False
    account, action, object_type, object_id, at = rows[0]
    start, end = _day_bounds(day)
    at = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)  # SQLite gives naive UTC back
    return bool(
        account == account_id
        and action == FLAG_ACTION
        and object_type == "account"
        and object_id == str(account_id)
        and start <= at < end
    )


READS_COUNTED = _reads_counted()


def _count_params(account_id: int, day: dt.date, limit: int) -> dict[str, object]:
    start, end = _day_bounds(day)
    return {"account": account_id, "start": start, "end": end, "first": limit + 1}


def _flushed(session: Session) -> Connection:
    """The session's connection, its pending rows flushed first as a query of the session would (autoflush): a
    session that writes counts its own events of the read."""
    if session.autoflush:
        session.flush()
    return session.connection()


def _reads_past(*, session: Session, account_id: int, day: dt.date, limit: int) -> bool:
    """Tell whether an account made more than ``limit`` reads of personal data on a day, counting no further than
    ``limit + 1`` of that day's events (a range of ix_audit_event_account_at)."""
    rows = READS_COUNTED.rows(_flushed(session), _count_params(account_id, day, limit))
    return int(rows[0][0] or 0) > limit


def _flag_of(*, session: Session, account_id: int, day: dt.date, event_id: int | None = None) -> int | None:
    """Return the id of the account's read-volume flag of a day (that one only, when ``event_id`` is given)."""
    if event_id is not None:
        rows = FLAG_FOUND.rows(_flushed(session), {"event": event_id})
        return event_id if _is_flag(rows, account_id, day) else None
    start, end = _day_bounds(day)
    query = select(AuditEvent.id).where(
        AuditEvent.account_id == account_id,  # the flagged account is the flag's actor: the same index range
        AuditEvent.action == FLAG_ACTION,
        AuditEvent.object_type == "account",
        AuditEvent.object_id == str(account_id),
        AuditEvent.at >= start,
        AuditEvent.at < end,
    )
    return session.scalar(query.limit(1))


# (account, day) -> the id of that day's flag, once this process has seen it in the database: a read of a flagged
# account then checks that one row by its key instead of counting (docs/access-log.md, "Read volume").
_FLAGS: dict[tuple[int, dt.date], int] = {}
_FLAGS_KEPT = 10_000


def flag_read_volume(*, session: Session, actor: Actor, day: dt.date, limit: int) -> bool:
    """Flag an account to the Fund once a day when its reads that day pass the limit; tell whether it did now.

    Cost per read, whatever the account's history: one row by its key once the day's flag is known to this
    process, else a count of at most ``limit + 1`` of the day's events (docs/access-log.md, "Read volume")."""
    seen = _FLAGS.get((actor.account_id, day))
    if seen is not None:
        if _flag_of(session=session, account_id=actor.account_id, day=day, event_id=seen) is not None:
            return False
        _FLAGS.pop((actor.account_id, day), None)  # not in this database (another one, or cleaned): count again
    return _flag_past(session=session, actor=actor, day=day, limit=limit)


def _flag_past(*, session: Session, actor: Actor, day: dt.date, limit: int, past: bool | None = None) -> bool:
    """``flag_read_volume`` once no kept flag of the day was found: count (unless ``past`` already tells whether the
    day's reads passed the limit), then keep the day's flag found or record it with the exact count."""
    if past is None:
        past = _reads_past(session=session, account_id=actor.account_id, day=day, limit=limit)
    if not past:
        return False
    already = _flag_of(session=session, account_id=actor.account_id, day=day)
    if already is not None:
        if len(_FLAGS) >= _FLAGS_KEPT:
            _FLAGS.clear()
        _FLAGS[(actor.account_id, day)] = already
        return False
    count = reads_on(session=session, account_id=actor.account_id, day=day)  # once a day and account: exact
    record_event(
        session=session,
        actor=actor,
        action=FLAG_ACTION,
        object_type="account",
        object_id=str(actor.account_id),
        purpose=f"{count} > {limit}",
    )
    return True


@dataclass(frozen=True)
class VolumeCheck:
    """The first statement of a read's volume check (``flag_reads``), sent ahead in the read's round trip
    (``volume_later``): the kept flag's id it looks for (None: the day's reads counted), and its rows."""

    actor: Actor
    day: dt.date
    limit: int
    seen: int | None
    first: Later[Row] | None  # None: nothing sent ahead, ``flag_reads`` runs in full when the check is finished


def volume_later(*, session: Session, actor: Actor, day: dt.date, flag_after: int | None = None) -> VolumeCheck | None:
    """Send the first statement of ``flag_reads`` now, in the connection's open ``fastsql.pipeline`` if there is one
    (the read's own round trip): the kept flag of the day by its key, else the day's reads counted; finish the check
    with ``flag_checked`` once the read's event is logged. None for a citizen (not counted).

    Sent ahead only in a unit of work that only reads: there a read's events are never in the database before its
    commit (``audit.readlog``), so the answer is the one ``flag_reads`` would get after the event. A session that
    writes counts its own uncommitted events: its check runs in full in ``flag_checked``, after them."""
    if actor.role is Role.CITIZEN:
        return None
    limit = read_flag_limit() if flag_after is None else flag_after
    if not is_read_only(session):
        return VolumeCheck(actor, day, limit, None, None)
    seen = _FLAGS.get((actor.account_id, day))
    conn = session.connection()
    first = (
        FLAG_FOUND.later(conn, {"event": seen})
        if seen is not None
        else READS_COUNTED.later(conn, _count_params(actor.account_id, day, limit))
    )
    return VolumeCheck(actor, day, limit, seen, first)


def flag_checked(*, session: Session, check: VolumeCheck | None) -> bool:
    """Finish a read's volume check sent ahead (``volume_later``) as ``flag_read_volume`` would: the same flag, once
    a day, with the exact count; tell whether it flagged now."""
    if check is None:
        return False
    actor, day, limit = check.actor, check.day, check.limit
    if check.first is None:
        return flag_read_volume(session=session, actor=actor, day=day, limit=limit)
    rows = check.first.rows
    if check.seen is not None:
        if _is_flag(rows, actor.account_id, day):
            return False  # the day's flag, kept by this process, is in the database
        _FLAGS.pop((actor.account_id, day), None)
        return _flag_past(session=session, actor=actor, day=day, limit=limit)
    return _flag_past(session=session, actor=actor, day=day, limit=limit, past=int(rows[0][0] or 0) > limit)


def find_by_iin(*, session: Session, actor: Actor, iin: str, purpose: str, flag_after: int | None = None) -> Person:
    """Return the person with an IIN (staff only; the IIN travels in the body, never in a URL); as get_person."""
    if not may(actor.role, Can.READ_ANY_PERSON):
        raise Forbidden()
    person_id = session.scalar(select(Person.id).where(Person.iin == iin))
    if person_id is None:
        raise NotFound()
    return get_person(session=session, actor=actor, person_id=person_id, purpose=purpose, flag_after=flag_after)


def may_record_representation(*, session: Session, actor: Actor, represented_id: int, day: dt.date) -> bool:
    """The Fund, or a registrar of the organization the represented person is attached to."""
    if sees_every_organization(actor):
        return True
    return (
        actor.role is Role.REGISTRAR
        and actor.entity_id is not None
        and access.attached_entity(session, represented_id, day) == actor.entity_id
    )


def add_representation(
    *, session: Session, actor: Actor, data: RepresentationIn, day: dt.date | None = None
) -> LegalRepresentation:
    """Record that one person legally represents another on a basis document that fits (A-24, A-63, A-65,
    A-67), and tell both of them. The one writer of legal_representation rows.

    Who may: checked before anything else, so that a refusal says nothing about whether the persons exist.
    A minor's representation ends on the eve of the 18th birthday unless an earlier end is given."""
    day = day or clock.today()
    if not may_record_representation(session=session, actor=actor, represented_id=data.represented_id, day=day):
        raise NotPersonsOrganization()
    people = {
        p.id: p
        for p in session.scalars(select(Person).where(Person.id.in_([data.representative_id, data.represented_id])))
    }
    represented, representative = people.get(data.represented_id), people.get(data.representative_id)
    if represented is None or representative is None:
        raise NotFound()
    case = RepresentationCase(
        basis=data.basis,
        document=data.document_kind,
        represented_born=represented.birth_date,
        representative_born=representative.birth_date,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        same_person=data.representative_id == data.represented_id,
        deceased=represented.death_date is not None or representative.death_date is not None,
    )
    problem = representation_problem(case)
    if problem is not None:
        raise BasisNotFitting(reason=problem)
    row = LegalRepresentation(
        representative_id=data.representative_id,
        represented_id=data.represented_id,
        basis=data.basis.value,
        document_kind=data.document_kind.value,
        document_number=data.document_number,
        basis_document=data.basis_document,
        valid_from=data.valid_from,
        valid_to=representation_end(case),
    )
    session.add(row)
    session.flush()
    for subject in (data.represented_id, data.representative_id):
        record_event(
            session=session,
            actor=actor,
            action="representation.create",
            object_type="representation",
            object_id=str(row.id),
            subject_person_id=subject,
            purpose=data.document_kind.value,
        )
    access.representation_recorded(session, actor, row, clock.now())
    return row


def representations_of(*, session: Session, person_id: int) -> list[LegalRepresentation]:
    """Return every representation where the person represents or is represented."""
    return list(
        session.scalars(
            select(LegalRepresentation)
            .where(
                or_(LegalRepresentation.representative_id == person_id, LegalRepresentation.represented_id == person_id)
            )
            .order_by(LegalRepresentation.id)
        )
    )
