"""Use cases of personal medical books (docs/domain.md §3): issue a book, read it and its entries in force,
link an employer. The journal is in ``medbook.journal``, the responsible therapists in ``medbook.appointments``.

Functions are keyword-only, take the session and the acting user, and never commit: the request's unit of
work does, so a refused request changes nothing and a suspension lands with the result that caused it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.identity.models import Person
from emhana.identity.rules import iin_problem
from emhana.kernel import clock
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.errors import (
    BookExists,
    BookNotFound,
    InvalidEmployerNumber,
    IssuerNotEligible,
    NotFound,
    NotIssuingStaff,
    NotResponsibleTherapist,
)
from emhana.medbook import access, catalogue
from emhana.medbook.appointments import require_responsible
from emhana.medbook.models import EmployerLink, Employment, JournalEntry, MedicalBook
from emhana.medbook.rules import ClearanceStatus, EntryKind
from emhana.medbook.schemas import BookIn, EmployerKind, employer_kind

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


def recording_entity(actor: Actor, book: MedicalBook) -> int:
    """Return the entity an entry is recorded by: the actor's organization (the book's issuer for the Fund)."""
    return actor.entity_id if actor.entity_id is not None else book.entity_id


def require_staff(session: Session, actor: Actor, book: MedicalBook) -> None:
    """Admit only clinicians, the responsible therapist and the MIS of the issuing organization, or of an
    organization examining the worker now (C-40, issue 15: the book follows her across clinics)."""
    if not access.may_write(session, actor, book, local_day(clock.now())):
        raise NotIssuingStaff()


def issuer_eligible(*, session: Session, entity_id: int, day: dt.date) -> bool:
    """Tell whether an entity holds a medical licence and is registered in the Resource Management System (СУР)
    on a day (C-04); inclusion in the Fund's database of entities is not a condition."""
    return access.licensed_and_registered(session=session, entity_id=entity_id, day=day)


def issue(*, session: Session, actor: Actor, data: BookIn, now: dt.datetime) -> MedicalBook:
    """Open a person's book at the responsible therapist's organization (C-04, C-05, C-10, C-11)."""
    day = local_day(now)
    if actor.entity_id is None:
        raise NotResponsibleTherapist()
    require_responsible(session, actor, actor.entity_id, day)
    if not issuer_eligible(session=session, entity_id=actor.entity_id, day=day):
        raise IssuerNotEligible(day=day.strftime("%d.%m.%Y"))
    person = session.scalar(select(Person).where(Person.iin == data.iin))
    if person is None:
        raise NotFound()
    catalogue.in_force(session=session, code=data.group_code, day=day)
    if employer_kind(data.employer_bin) is None:  # the schema refuses it at the door; services are called directly too
        raise InvalidEmployerNumber(reason=iin_problem(data.employer_bin) or "")
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
    session.add(  # issue 15: the job the book is issued for opens its employment history
        Employment(
            book_id=book.id,
            profession=book.profession,
            position=book.position,
            workplace=book.workplace,
            employer_number=book.employer_bin,
            group_code=book.group_code,
            valid_from=day,
            entity_id=book.entity_id,
            recorded_by=actor.account_id,
            recorded_at=now,
        )
    )
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


SIGNED = "signed"  # JournalEntry.signature_state once its author's signature is verified (C-40)


def current_entries(*, session: Session, book_id: int) -> list[JournalEntry]:
    """Return a book's entries in force, oldest first (C-40, C-41): those no *signed* correction superseded; a
    correction awaiting its author's signature is pending, so the entry it corrects stays in force until then.

    A retraction (issue 17, ``retracted``) is in force nowhere: it and every entry it retracts are left out, the
    entry it supersedes and the ones that entry corrected, pending or not (the MIS withdrew the resource itself).
    """
    superseded = select(JournalEntry.supersedes_id).where(
        JournalEntry.supersedes_id.is_not(None), JournalEntry.signature_state == SIGNED
    )
    entries = list(
        session.scalars(
            select(JournalEntry)
            .where(
                JournalEntry.book_id == book_id,
                JournalEntry.id.not_in(superseded),
                or_(JournalEntry.supersedes_id.is_(None), JournalEntry.signature_state == SIGNED),
            )
            .order_by(JournalEntry.id)
        )
    )
    gone = retracted_by(session=session, book_id=book_id)
    return [e for e in entries if e.id not in gone] if gone else entries


def retracted_by(*, session: Session, book_id: int) -> dict[int, int]:
    """Return, for a book's retractions (issue 17) and every entry they retract, the retraction that withdrew it:
    the entry a retraction supersedes and, back along the corrections, each entry that one corrected."""
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.supersedes_id, JournalEntry.retracted).where(
            JournalEntry.book_id == book_id, JournalEntry.supersedes_id.is_not(None)
        )
    ).all()
    links = {row.id: row.supersedes_id for row in rows}
    gone: dict[int, int] = {}
    for retraction in (row.id for row in rows if row.retracted):
        target: int | None = retraction
        while target is not None and target not in gone:
            gone[target] = retraction
            target = links.get(target)
    return gone


def counts(entry: JournalEntry) -> bool:
    """Tell whether a clearance entry is a decision in force: a refusal or a suspension at once (C-30, they only
    restrict), a grant only once its clinician signed it (C-06, C-40); a pending correction never."""
    if entry.supersedes_id is not None and entry.signature_state != SIGNED:
        return False
    return entry.clearance != ClearanceStatus.GRANTED.value or entry.signature_state == SIGNED


def latest_clearance(entries: list[JournalEntry]) -> JournalEntry | None:
    """Return the clearance entry in force: the latest by date, then by recording order, among the decisions that
    count (``counts``): until a new grant is signed, the earlier decision and its seal stand."""
    marks = [e for e in entries if e.kind == EntryKind.CLEARANCE and counts(e)]
    return max(marks, key=lambda e: (e.performed_on, e.id)) if marks else None


def pending_grant(entries: list[JournalEntry]) -> JournalEntry | None:
    """Return the latest grant recorded after the decision in force and awaiting its clinician's signature."""
    mark = latest_clearance(entries)
    waiting = [
        e
        for e in entries
        if e.kind == EntryKind.CLEARANCE
        and not counts(e)
        and e.clearance == ClearanceStatus.GRANTED.value
        and (mark is None or (e.performed_on, e.id) > (mark.performed_on, mark.id))
    ]
    return max(waiting, key=lambda e: (e.performed_on, e.id)) if waiting else None


def link_employer(*, session: Session, actor: Actor, account_id: int, bin_: str, now: dt.datetime) -> EmployerLink:
    """Tie an employer account to the number whose workers' clearance it may see (replacing an earlier one): a
    legal entity's BIN or an individual entrepreneur's IIN. The log names the kind, and an entrepreneur's IIN,
    personal data, is not written into the purpose that its readers see."""
    kind = employer_kind(bin_)
    if kind is None:
        raise InvalidEmployerNumber(reason=iin_problem(bin_) or "")
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
        purpose=bin_ if kind is EmployerKind.LEGAL_ENTITY else f"employer: {kind.value}",
        now=now,
    )
    return link
