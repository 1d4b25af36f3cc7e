"""Use cases of personal medical books (docs/domain.md §3): appoint the responsible therapist, issue a book,
record journal entries, grant or suspend clearance, refer an infected worker, correct entries.

Functions are keyword-only, take the session and the acting user, and never commit: the request's unit of
work does, so a refused request changes nothing and a suspension lands with the result that caused it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import Actor
from emhana.attachment.models import Attachment
from emhana.audit.service import record_event
from emhana.facilities.inclusion import is_included
from emhana.facilities.models import Entity, Licence
from emhana.facilities.service import near
from emhana.identity.models import Person
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.errors import (
    AppointeeNotEligible,
    BookExists,
    BookNotFound,
    ClearanceIncomplete,
    Contraindication,
    CorrectionReasonRequired,
    DateInFuture,
    EntryNotFound,
    EntrySuperseded,
    Forbidden,
    InvalidDates,
    IssuerNotEligible,
    NotCorrectable,
    NotFound,
    NotIssuingStaff,
    NotResponsibleTherapist,
    RegistryError,
)
from emhana.kernel.i18n import N_
from emhana.medbook import catalogue, seal
from emhana.medbook.models import EmployerLink, JournalEntry, MedicalBook, ResponsibleAppointment
from emhana.medbook.rules import (
    CLINICAL_KINDS,
    ClearanceStatus,
    EntryKind,
    Finding,
    GroupRule,
    Result,
    Source,
    assess,
    canonical_bytes,
    not_in_future,
    suspends,
)
from emhana.medbook.schemas import AppointIn, BookIn, ClearanceIn, CorrectionIn, Decision, EntryIn

REASON_APPOINTMENT_ORDER = N_("a new appointment must begin after the current one")
NO_ITEMS = "-"


def local_day(moment: dt.datetime) -> dt.date:
    """Return the date in Kazakhstan of an instant."""
    return moment.astimezone(KZ_TIME).date()


def get_book(*, session: Session, book_id: int) -> MedicalBook:
    """Return a book or raise BookNotFound."""
    book = session.get(MedicalBook, book_id)
    if book is None:
        raise BookNotFound()
    return book


def require_staff(actor: Actor, book: MedicalBook) -> None:
    """Admit only clinicians, the responsible therapist and the MIS of the issuing organization (C-40)."""
    if not may(actor.role, Can.WRITE_MEDBOOK_ENTRY) or actor.entity_id is None or actor.entity_id != book.entity_id:
        raise NotIssuingStaff()


def responsible_on(*, session: Session, entity_id: int, day: dt.date) -> ResponsibleAppointment | None:
    """Return the appointment of an entity's responsible therapist in effect on a day (C-05)."""
    return session.scalar(
        select(ResponsibleAppointment)
        .where(
            ResponsibleAppointment.entity_id == entity_id,
            ResponsibleAppointment.valid_from <= day,
            or_(ResponsibleAppointment.valid_to.is_(None), ResponsibleAppointment.valid_to > day),
        )
        .order_by(ResponsibleAppointment.valid_from.desc())
        .limit(1)
    )


def _require_responsible(session: Session, actor: Actor, entity_id: int, day: dt.date) -> None:
    current = responsible_on(session=session, entity_id=entity_id, day=day)
    if actor.role is not Role.RESPONSIBLE_THERAPIST or current is None or current.account_id != actor.account_id:
        raise NotResponsibleTherapist()


def appoint(
    *, session: Session, actor: Actor, entity_id: int, data: AppointIn, now: dt.datetime
) -> ResponsibleAppointment:
    """Appoint an entity's responsible therapist; the open appointment ends where the new one begins (C-05)."""
    if session.get(Entity, entity_id) is None:
        raise NotFound()
    if actor.role is Role.ENTITY_ADMIN and actor.entity_id != entity_id:
        raise Forbidden()
    account = session.get(Account, data.account_id)
    if (
        account is None
        or not account.active
        or account.role != Role.RESPONSIBLE_THERAPIST.value
        or account.entity_id != entity_id
    ):
        raise AppointeeNotEligible()
    current = session.scalar(
        select(ResponsibleAppointment).where(
            ResponsibleAppointment.entity_id == entity_id, ResponsibleAppointment.valid_to.is_(None)
        )
    )
    if current is not None:
        if data.valid_from <= current.valid_from:
            raise InvalidDates(reason=REASON_APPOINTMENT_ORDER)
        current.valid_to = data.valid_from
        session.flush()
    row = ResponsibleAppointment(
        entity_id=entity_id,
        account_id=account.id,
        valid_from=data.valid_from,
        appointed_by=actor.account_id,
        appointed_at=now,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="medbook.appoint",
        object_type="entity",
        object_id=str(entity_id),
        purpose=f"responsible therapist {account.id}",
        now=now,
    )
    return row


def appointments(*, session: Session, actor: Actor, entity_id: int) -> list[tuple[ResponsibleAppointment, str]]:
    """Return the appointment history of an entity, latest first, with the appointees' names."""
    if session.get(Entity, entity_id) is None:
        raise NotFound()
    if actor.role is not Role.FUND_ADMIN and actor.entity_id != entity_id:
        raise Forbidden()
    rows = session.execute(
        select(ResponsibleAppointment, Account.display_name)
        .join(Account, Account.id == ResponsibleAppointment.account_id)
        .where(ResponsibleAppointment.entity_id == entity_id)
        .order_by(ResponsibleAppointment.valid_from.desc())
    ).all()
    return [(a, name) for a, name in rows]


def issuer_eligible(*, session: Session, entity_id: int, day: dt.date) -> bool:
    """Tell whether an entity holds a medical licence and is included in the database on a day (C-04)."""
    licensed = session.scalar(
        select(Licence.id)
        .where(
            Licence.entity_id == entity_id,
            Licence.issued_on <= day,
            or_(Licence.valid_until.is_(None), Licence.valid_until >= day),
        )
        .limit(1)
    )
    included = is_included(session=session, entity_id=entity_id, day=day)
    return licensed is not None and included


def issue(*, session: Session, actor: Actor, data: BookIn, now: dt.datetime) -> MedicalBook:
    """Open a person's book at the responsible therapist's organization (C-04, C-05, C-10, C-11)."""
    day = local_day(now)
    if actor.entity_id is None:
        raise NotResponsibleTherapist()
    _require_responsible(session, actor, actor.entity_id, day)
    if not issuer_eligible(session=session, entity_id=actor.entity_id, day=day):
        raise IssuerNotEligible(day=day.isoformat())
    person = session.scalar(select(Person).where(Person.iin == data.iin))
    if person is None:
        raise NotFound()
    catalogue.in_force(session=session, code=data.group_code, day=day)
    if session.scalar(select(MedicalBook.id).where(MedicalBook.person_id == person.id)) is not None:
        raise BookExists()
    book = MedicalBook(
        person_id=person.id,
        entity_id=actor.entity_id,
        issued_by=actor.account_id,
        issued_on=day,
        language=data.language.value,
        profession=data.profession,
        position=data.position,
        workplace=data.workplace,
        employer_bin=data.employer_bin,
        group_code=data.group_code,
    )
    session.add(book)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="medbook.issue",
        object_type="medical_book",
        object_id=str(book.id),
        subject_person_id=person.id,
        purpose="issue",
        now=now,
    )
    return book


def current_entries(*, session: Session, book_id: int) -> list[JournalEntry]:
    """Return a book's entries that no correction superseded, oldest first."""
    superseded = select(JournalEntry.supersedes_id).where(JournalEntry.supersedes_id.is_not(None))
    return list(
        session.scalars(
            select(JournalEntry)
            .where(JournalEntry.book_id == book_id, JournalEntry.id.not_in(superseded))
            .order_by(JournalEntry.id)
        )
    )


def latest_clearance(entries: list[JournalEntry]) -> JournalEntry | None:
    """Return the clearance entry in force: the latest by date, then by recording order."""
    marks = [e for e in entries if e.kind == EntryKind.CLEARANCE]
    return max(marks, key=lambda e: (e.performed_on, e.id)) if marks else None


def _write(
    session: Session,
    *,
    book: MedicalBook,
    actor: Actor,
    now: dt.datetime,
    kind: EntryKind,
    performed_on: dt.date,
    item_code: str = "",
    result: Result | None = None,
    result_text: str = "",
    codes: list[str] | None = None,
    clearance: str | None = None,
    valid_until: dt.date | None = None,
    referral_entity_id: int | None = None,
    caused_by_id: int | None = None,
    supersedes_id: int | None = None,
    reason: str | None = None,
) -> JournalEntry:
    """Append one entry with the canonical bytes its author's signature will cover (C-06, C-41)."""
    referral_bin = session.get(Entity, referral_entity_id).bin if referral_entity_id else None  # type: ignore[union-attr]
    entry = _entry_row(
        _owner(session, book),
        book=book,
        actor=actor,
        now=now,
        kind=kind,
        performed_on=performed_on,
        item_code=item_code,
        result=result,
        result_text=result_text,
        codes=codes,
        clearance=clearance,
        valid_until=valid_until,
        referral_entity_id=referral_entity_id,
        referral_bin=referral_bin,
        caused_by_id=caused_by_id,
        supersedes_id=supersedes_id,
        reason=reason,
    )
    session.add(entry)
    session.flush()
    if kind is EntryKind.CLEARANCE:  # C-41: a new decision is a new version; the earlier seals are replaced
        seal.withdraw(session, book_id=book.id, keep=entry.id, actor=actor, now=now)
    return entry


@dataclass(frozen=True)
class _Owner:
    """What every entry's canonical document says of its book's owner and issuer."""

    person_iin: str | None
    entity_bin: str | None


def _owner(session: Session, book: MedicalBook) -> _Owner:
    person = session.get(Person, book.person_id)
    entity = session.get(Entity, book.entity_id)
    return _Owner(person.iin if person else None, entity.bin if entity else None)


def _entry_row(
    owner: _Owner,
    *,
    book: MedicalBook,
    actor: Actor,
    now: dt.datetime,
    kind: EntryKind,
    performed_on: dt.date,
    item_code: str = "",
    result: Result | None = None,
    result_text: str = "",
    codes: list[str] | None = None,
    clearance: str | None = None,
    valid_until: dt.date | None = None,
    referral_entity_id: int | None = None,
    referral_bin: str | None = None,
    caused_by_id: int | None = None,
    supersedes_id: int | None = None,
    reason: str | None = None,
) -> JournalEntry:
    """Build (not add) one entry and the canonical bytes its author's signature will cover (C-06)."""
    source = Source.MIS if actor.role is Role.MIS_CLIENT else Source.MANUAL
    document: dict[str, Any] = {
        "type": "emhana.medbook.entry/1",
        "book": book.id,
        "person_iin": owner.person_iin,
        "entity_bin": owner.entity_bin,
        "kind": kind.value,
        "item_code": item_code,
        "performed_on": performed_on.isoformat(),
        "result": result.value if result else None,
        "result_text": result_text,
        "codes": list(codes or []),
        "clearance": clearance,
        "valid_until": valid_until.isoformat() if valid_until else None,
        "referral_entity_bin": referral_bin,
        "caused_by": caused_by_id,
        "supersedes": supersedes_id,
        "reason": reason,
        "author_account": actor.account_id,
        "author_name": actor.display_name,
        "source": source.value,
        "recorded_at": now.astimezone(dt.UTC).isoformat(),
    }
    return JournalEntry(
        book_id=book.id,
        kind=kind.value,
        item_code=item_code,
        performed_on=performed_on,
        result=result.value if result else None,
        result_text=result_text,
        codes=",".join(codes or []),
        clearance=clearance,
        valid_until=valid_until,
        referral_entity_id=referral_entity_id,
        caused_by_id=caused_by_id,
        entity_id=book.entity_id,
        author_account_id=actor.account_id,
        author_name=actor.display_name,
        source=source.value,
        supersedes_id=supersedes_id,
        reason=reason,
        recorded_at=now,
        canonical=canonical_bytes(document),
        signature_state="pending",
    )


def referral_target(*, session: Session, person_id: int, day: dt.date) -> int | None:
    """Return the PHC entity a person is attached to on a day, or the nearest participating one (C-30)."""
    attached = session.scalar(
        select(Attachment.entity_id)
        .where(
            Attachment.person_id == person_id,
            Attachment.begin_date <= day,
            or_(Attachment.end_date.is_(None), Attachment.end_date >= day),
        )
        .order_by(Attachment.begin_date.desc())
    )
    if attached is not None:
        return attached
    person = session.get(Person, person_id)
    homes = [
        a
        for a in (person.addresses if person else [])
        if a.lat is not None and a.lon is not None and (a.valid_to is None or a.valid_to >= day)
    ]
    homes.sort(key=lambda a: a.kind != "permanent")
    if not homes:
        return None
    found = near(session=session, lat=homes[0].lat, lon=homes[0].lon, day=day, limit=1)  # type: ignore[arg-type]
    return found[0].entity.id if found else None


def _after_result(session: Session, book: MedicalBook, entry: JournalEntry, actor: Actor, now: dt.datetime) -> None:
    """Suspend clearance at once and refer to PHC when a result shows infection or carriage (C-30)."""
    _suspend_if(session, book, entry, actor, now, _group_today(session, book, now))


def _group_today(session: Session, book: MedicalBook, now: dt.datetime) -> GroupRule:
    """Return the rule of the book's decreed group in force today (C-30 judges results by it)."""
    return catalogue.rule_of(catalogue.in_force(session=session, code=book.group_code, day=local_day(now)))


def _suspend_if(
    session: Session, book: MedicalBook, entry: JournalEntry, actor: Actor, now: dt.datetime, group: GroupRule
) -> None:
    """Write the suspension and the referral an entry's result calls for, if any (C-30)."""
    day = local_day(now)
    result = Result(entry.result) if entry.result else None
    if not suspends(group, EntryKind(entry.kind), entry.item_code, result):
        return
    _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind.CLEARANCE,
        performed_on=day,
        clearance=ClearanceStatus.SUSPENDED.value,
        caused_by_id=entry.id,
        item_code=entry.item_code,
    )
    target = referral_target(session=session, person_id=book.person_id, day=day)
    _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind.REFERRAL,
        performed_on=day,
        item_code=entry.item_code,
        referral_entity_id=target,
        caused_by_id=entry.id,
    )


def _check_date(day: dt.date, now: dt.datetime) -> None:
    if not not_in_future(day, local_day(now)):
        raise DateInFuture(day=day.isoformat())


def record(*, session: Session, actor: Actor, book_id: int, data: EntryIn, now: dt.datetime) -> JournalEntry:
    """Append a clinical entry from the clinician's desk or the MIS (C-12, C-13); infection suspends (C-30)."""
    book = get_book(session=session, book_id=book_id)
    require_staff(actor, book)
    _check_date(data.performed_on, now)
    entry = _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind(data.kind.value),
        item_code=data.item_code,
        performed_on=data.performed_on,
        result=data.result,
        result_text=data.result_text,
        codes=data.codes,
    )
    _after_result(session, book, entry, actor, now)
    return entry


class EntryRefused(Exception):  # noqa: N818 (a refusal carrying the rule's error)
    """One entry of a batch broke a rule: ``index`` is its place in the batch, ``error`` the rule's error."""

    def __init__(self, index: int, error: RegistryError) -> None:
        self.index = index
        self.error = error
        super().__init__(f"entry {index}: {error.english()}")


def record_many(
    *, session: Session, actor: Actor, book_id: int, entries: Sequence[EntryIn], now: dt.datetime
) -> list[JournalEntry]:
    """Append many clinical entries to one book, as ``record`` does each (C-12, C-13, C-30, C-40), in one go.

    The book, the staff check (C-40) and the decreed group in force (C-30) are looked up once; every entry's
    date is checked before anything is written (C-13), and a refused one raises ``EntryRefused`` with its
    index; the entries are inserted in one flush, in order; each result that shows infection or carriage
    then gets its suspension and referral (C-30). The hash chain links every row at commit, as for ``record``.
    Returns the entries in the order given.
    """
    book = get_book(session=session, book_id=book_id)
    require_staff(actor, book)
    for index, data in enumerate(entries):
        try:
            _check_date(data.performed_on, now)
        except RegistryError as exc:
            raise EntryRefused(index, exc) from None
    if not entries:
        return []
    group = _group_today(session, book, now)
    owner = _owner(session, book)
    rows = [
        _entry_row(
            owner,
            book=book,
            actor=actor,
            now=now,
            kind=EntryKind(data.kind.value),
            item_code=data.item_code,
            performed_on=data.performed_on,
            result=data.result,
            result_text=data.result_text,
            codes=data.codes,
        )
        for data in entries
    ]
    session.add_all(rows)
    session.flush()
    for row in rows:
        _suspend_if(session, book, row, actor, now, group)
    return rows


def correct(
    *, session: Session, actor: Actor, entry_id: int, data: CorrectionIn, now: dt.datetime, book_id: int | None = None
) -> JournalEntry:
    """Supersede an entry with a corrected one carrying reason and author; the old one stays (C-40, C-41).

    ``book_id``, when given (the desk's form), must be the entry's book.
    """
    old = session.get(JournalEntry, entry_id)
    if old is None or (book_id is not None and old.book_id != book_id):
        raise EntryNotFound()
    book = get_book(session=session, book_id=old.book_id)
    require_staff(actor, book)
    if data.reason is None or not data.reason.strip():
        raise CorrectionReasonRequired()
    if EntryKind(old.kind) not in CLINICAL_KINDS:
        raise NotCorrectable()
    if session.scalar(select(JournalEntry.id).where(JournalEntry.supersedes_id == old.id)) is not None:
        raise EntrySuperseded()
    _check_date(data.performed_on, now)
    entry = _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind(data.kind.value),
        item_code=data.item_code,
        performed_on=data.performed_on,
        result=data.result,
        result_text=data.result_text,
        codes=data.codes,
        supersedes_id=old.id,
        reason=data.reason.strip(),
    )
    # C-41: the seals of the clearances that relied on the corrected entry are replaced by newer versions.
    seal.withdraw(session, book_id=book.id, recorded_after=old.id, actor=actor, now=now)
    _after_result(session, book, entry, actor, now)
    return entry


def decide_clearance(
    *, session: Session, actor: Actor, book_id: int, data: ClearanceIn, now: dt.datetime
) -> JournalEntry:
    """Grant, refuse or suspend work clearance; a grant needs the group's complete, clean scope (C-20, C-21)."""
    book = get_book(session=session, book_id=book_id)
    require_staff(actor, book)
    day = data.performed_on or local_day(now)
    _require_responsible(session, actor, book.entity_id, local_day(now))
    _check_date(day, now)
    valid_until = None
    if data.decision is Decision.GRANTED:
        person = session.get(Person, book.person_id)
        group = catalogue.rule_of(catalogue.in_force(session=session, code=book.group_code, day=day))
        findings = [
            Finding(
                kind=EntryKind(e.kind),
                code=e.item_code,
                performed_on=e.performed_on,
                result=Result(e.result) if e.result else None,
            )
            for e in current_entries(session=session, book_id=book.id)
            if EntryKind(e.kind) in CLINICAL_KINDS
        ]
        verdict = assess(group, findings, sex=person.sex if person else "", today=day)
        if verdict.missing or verdict.overdue:
            raise ClearanceIncomplete(
                missing=", ".join(verdict.missing) or NO_ITEMS, overdue=", ".join(verdict.overdue) or NO_ITEMS
            )
        if verdict.contraindicated:
            raise Contraindication(items=", ".join(verdict.contraindicated))
        valid_until = verdict.valid_until
    return _write(
        session,
        book=book,
        actor=actor,
        now=now,
        kind=EntryKind.CLEARANCE,
        performed_on=day,
        clearance=data.decision.value,
        valid_until=valid_until,
        result_text=data.note,
    )


def link_employer(*, session: Session, actor: Actor, account_id: int, bin_: str, now: dt.datetime) -> EmployerLink:
    """Tie an employer account to the BIN whose workers' clearance it may see (replacing an earlier BIN)."""
    account = session.get(Account, account_id)
    if account is None or account.role != Role.EMPLOYER.value:
        raise NotFound()
    link = session.get(EmployerLink, account_id)
    if link is None:
        link = EmployerLink(account_id=account_id, bin=bin_, linked_by=actor.account_id, linked_at=now)
        session.add(link)
    else:
        link.bin, link.linked_by, link.linked_at = bin_, actor.account_id, now
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="medbook.employer_link",
        object_type="account",
        object_id=str(account_id),
        purpose=bin_,
        now=now,
    )
    return link
