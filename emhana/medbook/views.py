"""Who sees what of a medical book: the owner and the issuing organization's staff the whole book, the
employer clearance status and dates only, the PHC organization its incoming referrals. Every read of a
book is written to the audit log with who, when and why (journey 9)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Date, Integer, Table, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, object_session

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.readlog import log_read
from emhana.audit.service import event_row, record_event
from emhana.facilities.models import Entity
from emhana.identity.models import Person, PersonAddress
from emhana.identity.rules import is_stated
from emhana.kernel import clock
from emhana.kernel.errors import BookNotFound, Forbidden, GroupNotFound, NoEmployerLink, NotFound, PurposeRequired
from emhana.kernel.fastsql import Fast, pipeline
from emhana.kernel.i18n import N_, translate
from emhana.medbook import access, catalogue, employment, infections, pdf
from emhana.medbook.diagnoses import InfectionRule
from emhana.medbook.models import DecreedGroup, EmployerLink, Employment, Examination, JournalEntry, MedicalBook
from emhana.medbook.referral import Standing, standing_of
from emhana.medbook.rules import ClearanceStatus, EntryKind, Result, difference, status_on
from emhana.medbook.schemas import (
    BookOut,
    ClearanceOut,
    EmployerWorkerOut,
    EmploymentOut,
    EntryOut,
    FieldChange,
    OwnerOut,
    ReminderOut,
    employer_kind,
)
from emhana.medbook.seal import SealIssuer, seal_for
from emhana.medbook.service import (
    SIGNED,
    current_entries,
    get_book,
    latest_clearance,
    local_day,
    pending_grant,
)
from emhana.medbook.standing import expiring, standings

READ_ACTION = "medbook.read"
FHIR_READ_ACTION = "fhir.medbook.read"  # the whole book sent to an MIS as a FHIR document (Patient/$medbook)
LIST_READ_ACTION = "medbook.list.read"  # a book's line in a list: clearance reminders, incoming referrals
READ_ACTIONS = (READ_ACTION, FHIR_READ_ACTION, LIST_READ_ACTION)
REMINDERS_PURPOSE = "clearance reminders"
REFERRALS_PURPOSE = "referral after an infection finding"
DOWNLOAD_PURPOSE = "download"
BOOK = "medical_book"
SIGNATURE_PENDING = N_("Signature pending")
SIGNATURE_SIGNED = N_("Signed by the author")
SIGNATURE_LABELS = {"pending": SIGNATURE_PENDING, "signed": SIGNATURE_SIGNED}
DEFAULT_PURPOSE = {
    Role.CITIZEN: "owner",
    Role.CLINICIAN: "examination",
    Role.RESPONSIBLE_THERAPIST: "examination",
    Role.EMPLOYER: "employer: clearance status",
}
CLINICAL_FIELDS = ("kind", "item_code", "performed_on", "result", "result_text", "codes")


def read_event(actor: Actor, book: MedicalBook | BookRow, purpose: str, now: dt.datetime) -> dict[str, Any]:
    """The audit event of a read of a book."""
    return event_row(
        actor=actor,
        action=READ_ACTION,
        object_type=BOOK,
        object_id=book.id,
        subject_person_id=book.person_id,
        purpose=(purpose or DEFAULT_PURPOSE.get(actor.role, ""))[:200],
        at=now,
    )


def _log_read(session: Session, actor: Actor, book: MedicalBook | BookRow, purpose: str, now: dt.datetime) -> None:
    log_read(session, read_event(actor, book, purpose, now))  # batched when the session only reads (access-log.md)


def _log_listed(session: Session, actor: Actor, book_id: int, person_id: int, purpose: str) -> None:
    """Log a book shown as a line of a list (its owner's name, dates, and for a referral the finding)."""
    record_event(
        session=session,
        actor=actor,
        action=LIST_READ_ACTION,
        object_type=BOOK,
        object_id=str(book_id),
        subject_person_id=person_id,
        purpose=purpose,
    )


def _basis(actor: Actor, book: MedicalBook) -> access.Basis | None:
    session = object_session(book)
    return access.read_basis(session, actor, book, clock.today()) if session is not None else None


def authorize_document(actor: Actor, book: MedicalBook | None) -> MedicalBook:
    """Admit the staff and the MIS of the issuing organization, of one examining the worker now or of one that
    recorded in the book, to the book as a FHIR document; anyone else is refused as on GET
    /api/v1/medbook/books/{id}, and so is a person without a book (the answer does not tell whether someone has a
    book elsewhere)."""
    if book is None or actor.role is Role.CITIZEN or _basis(actor, book) is None:
        raise Forbidden()
    return book


def require_document_purpose(
    *, session: Session, actor: Actor, book: MedicalBook, purpose: str, now: dt.datetime
) -> None:
    """Ask an organization that only recorded in the book before (no examination open now) for the purpose of its
    FHIR read, as the JSON API and the desk do (issue 14's policy)."""
    basis = access.read_basis(session, actor, book, local_day(now))
    if basis is access.Basis.RECORDED and not is_stated(
        " ".join(purpose.split())
    ):  # a listed purpose (X-Purpose-Of-Use)
        raise PurposeRequired(reason=access.purpose_reason())


def authorize_read(actor: Actor, book: MedicalBook) -> None:
    """Admit the owner and the staff of the issuing organization, of one examining the worker now or of one
    that recorded in the book (issue 15, medbook.access) to the whole book."""
    if _basis(actor, book) is None:
        raise Forbidden()


def read_book(*, session: Session, actor: Actor, book_id: int, purpose: str, now: dt.datetime) -> MedicalBook:
    """Return a readable book and log the read: an examining organization's read is logged with the purpose of
    its examination when none is given; one that only recorded in the book before must state a purpose."""
    try:
        book = get_book(session=session, book_id=book_id)
    except BookNotFound:
        raise Forbidden() from None  # a missing book looks like someone else's: no existence oracle
    day = local_day(now)
    basis = access.read_basis(session, actor, book, day)
    if basis is None:
        raise Forbidden()
    stated = access.stated_purpose(purpose) if basis is not access.Basis.OWNER else purpose
    if basis is access.Basis.EXAMINING and not stated and actor.entity_id is not None:
        exam = access.open_examination(session=session, book_id=book.id, entity_id=actor.entity_id, day=day)
        stated = exam.purpose if exam is not None else ""
    if basis is access.Basis.RECORDED and not stated:
        raise PurposeRequired(reason=access.purpose_reason())
    _log_read(session, actor, book, stated if basis is not access.Basis.ISSUER else purpose, now)
    return book


def read_book_out(
    *, session: Session, actor: Actor, book_id: int, purpose: str, now: dt.datetime, today: dt.date
) -> BookOut:
    """``read_book`` and then ``book_out``, with the same checks in the same order, the same refusals and the same
    read logged, from three statements sent together (one round trip on PostgreSQL): the book with its owner,
    issuer, group, owner's home address and the reader's open examination; its entries; its jobs with their groups'
    names. Whether the reader's organization recorded in the book is told by the entries."""
    loaded = _load(session, book_id, day=local_day(now), today=today, reader=actor.entity_id)
    log_read(session, checked_read(actor, loaded, purpose, now))
    assert loaded is not None  # (checked_read refuses a missing book)
    book, head, entries, jobs = loaded
    return book_out_of(session, book, head, entries, jobs, today)


Loaded = tuple["BookRow", "Head", list["EntryRow"], list["JobRow"]]


def checked_read(actor: Actor, loaded: Loaded | None, purpose: str, now: dt.datetime) -> dict[str, Any]:
    """Refuse a read of the book loaded (None: no such book) as ``read_book`` would, or return the audit event of
    the read, with the purpose it is logged with."""
    if loaded is None:
        raise Forbidden()  # a missing book looks like someone else's: no existence oracle
    book, head, entries, _jobs = loaded
    basis = access.basis_of(
        actor,
        person_id=book.person_id,
        entity_id=book.entity_id,
        examining=lambda _entity: head.exam_id is not None,
        recorded=lambda entity: any(e.entity_id == entity for e in entries),
    )
    if basis is None:
        raise Forbidden()
    stated = access.stated_purpose(purpose) if basis is not access.Basis.OWNER else purpose
    if basis is access.Basis.EXAMINING and not stated and actor.entity_id is not None:
        stated = head.exam_purpose or ""  # the purpose of its examination (access.open_examination)
    if basis is access.Basis.RECORDED and not stated:
        raise PurposeRequired(reason=access.purpose_reason())
    return read_event(actor, book, stated if basis is not access.Basis.ISSUER else purpose, now)


def needs_session(entries: Sequence[EntryRow]) -> bool:
    """Tell whether ``book_out_of`` reads more for these entries: the infection rules in force for a diagnosis, the
    receiving organization and receipt of a referral."""
    return any(e.clinical_status or e.kind == EntryKind.REFERRAL.value for e in entries)


def lookup(*, session: Session, actor: Actor, iin: str, purpose: str, now: dt.datetime) -> MedicalBook:
    """Find a person's book by IIN (from a request body, never a URL) and log the read.

    Staff whose organization may read the book find it as before. A clinic that never recorded in it (the second
    clinic, issue 15) finds it only with a stated purpose (identity.purpose_required otherwise, whether or not the
    IIN has a book) and only as the responsible therapist or a clinician of a licensed organization registered in
    СУР (C-04); the read is logged with that purpose. Any other refusal answers exactly as no book at all (404
    medbook.book_not_found, on the JSON API and at the desk alike): it would tell that this IIN has a book."""
    book = session.scalar(select(MedicalBook).join(Person, Person.id == MedicalBook.person_id).where(Person.iin == iin))
    day = local_day(now)
    if book is not None and access.read_basis(session, actor, book, day) is not None:
        return read_book(session=session, actor=actor, book_id=book.id, purpose=purpose, now=now)
    stated = access.stated_purpose(purpose)
    if not stated:
        raise PurposeRequired(reason=access.purpose_reason())
    if book is None or not access.may_find(session, actor, day):
        raise BookNotFound()
    _log_read(session, actor, book, stated, now)
    return book


def my_book(*, session: Session, actor: Actor, now: dt.datetime, purpose: str = "") -> MedicalBook:
    """Return the citizen's own book and log the read."""
    book = (
        session.scalar(select(MedicalBook).where(MedicalBook.person_id == actor.person_id))
        if actor.person_id is not None
        else None
    )
    if book is None:
        raise BookNotFound()
    _log_read(session, actor, book, purpose, now)
    return book


def my_book_pdf(
    *, session: Session, actor: Actor, now: dt.datetime, signers: SealIssuer | None = None
) -> tuple[str, bytes]:
    """Return the file name and PDF of the citizen's own book in its language, sealed when cleared (C-10).

    The download is a read of the book and is logged like one (journey 9).
    """
    book = my_book(session=session, actor=actor, now=now, purpose=DOWNLOAD_PURPOSE)
    out = book_out(session, book, local_day(now))
    mark = latest_clearance(current_entries(session=session, book_id=book.id))
    text = seal_for(session, book, mark, now=now, signers=signers)
    return f"medbook-{book.id}-{book.language}.pdf", pdf.render(out, seal_text=text, printed_at=now)


def set_language(*, session: Session, actor: Actor, language: str, now: dt.datetime) -> MedicalBook:
    """Let the owner choose the book's language, Kazakh or Russian (C-10)."""
    book = (
        session.scalar(select(MedicalBook).where(MedicalBook.person_id == actor.person_id))
        if actor.person_id is not None
        else None
    )
    if book is None:
        raise BookNotFound()
    book.language = language
    record_event(
        session=session,
        actor=actor,
        action="medbook.language",
        object_type=BOOK,
        object_id=str(book.id),
        subject_person_id=book.person_id,
        purpose=language,
        now=now,
    )
    return book


def _fields(e: JournalEntry) -> dict[str, str | list[str] | None]:
    return {
        "kind": e.kind,
        "item_code": e.item_code,
        "performed_on": e.performed_on.isoformat(),
        "result": e.result,
        "result_text": e.result_text,
        "codes": e.codes.split(",") if e.codes else [],
        "clinical_status": e.clinical_status,
    }


def entry_out(
    e: JournalEntry,
    *,
    by_id: dict[int, JournalEntry],
    superseded_by: dict[int, int],
    names: dict[str, dict[str, str]],
    lang: str,
    referrals: dict[int, Standing] | None = None,
    rules: Sequence[InfectionRule] = (),
    retracted_by: dict[int, int] | None = None,
) -> EntryOut:
    """Map an entry to its view, with the field-by-field difference of a correction (C-41) and, for a referral,
    its receiving organization and state (C-30; ``referrals`` from referral.standing_of)."""
    referral = (referrals or {}).get(e.id)
    codes = e.codes.split(",") if e.codes else []
    # a diagnosis by its name (the infection rules' kk/ru/en names, else its ICD-10 code) and status (C-30)
    named = [infections.diagnosis_label(rules, c).in_language(lang) for c in codes] if e.clinical_status else []
    changes = []
    if e.supersedes_id is not None and e.supersedes_id in by_id:
        changes = [
            FieldChange(field=f, old=o, new=n) for f, o, n in difference(_fields(by_id[e.supersedes_id]), _fields(e))
        ]
    return EntryOut(
        id=e.id,
        kind=EntryKind(e.kind),
        item_code=e.item_code,
        item_name=names.get(e.item_code, {}).get(f"name_{lang}") or ", ".join(named) or e.item_code,
        performed_on=e.performed_on,
        result=Result(e.result) if e.result else None,
        result_text=e.result_text,
        codes=e.codes.split(",") if e.codes else [],
        clearance=e.clearance,
        valid_until=e.valid_until,
        referral_entity_id=e.referral_entity_id,
        caused_by_id=e.caused_by_id,
        entity_id=e.entity_id,
        author_account_id=e.author_account_id,
        author_name=e.author_name,
        source=e.source,
        recorded_at=e.recorded_at,
        current=e.id not in superseded_by and e.id not in (retracted_by or {}),
        supersedes_id=e.supersedes_id,
        superseded_by_id=superseded_by.get(e.id) or None,
        reason=e.reason,
        changes=changes,
        canonical=e.canonical.decode("utf-8"),
        canonical_sha256=hashlib.sha256(e.canonical).hexdigest(),
        signature_state=e.signature_state,
        signature_label=translate(lang, SIGNATURE_LABELS[e.signature_state])
        if e.signature_state in SIGNATURE_LABELS
        else e.signature_state,
        referral_entity_name=referral.name(lang) or None if referral else None,
        referral_state=referral.state.value if referral else None,
        referral_acknowledged_on=referral.acknowledged_on if referral else None,
        clinical_status=e.clinical_status,
        diagnoses=named,
        retracted=bool(e.retracted),
        retracted_by_id=(retracted_by or {}).get(e.id) if not e.retracted else None,
    )


def clearance_of(session: Session, book: MedicalBook, today: dt.date) -> ClearanceOut:
    """Return the clearance status a book shows today (C-20, C-21)."""
    return _clearance(current_entries(session=session, book_id=book.id), today)


def _withdrawn(entries: Sequence[JournalEntry]) -> dict[int, int]:
    """``service.retracted_by`` over a book's entries already loaded (every entry of the book): no query."""
    links = {e.id: e.supersedes_id for e in entries if e.supersedes_id is not None}
    gone: dict[int, int] = {}
    for retraction in (e.id for e in entries if e.supersedes_id is not None and e.retracted):
        target: int | None = retraction
        while target is not None and target not in gone:
            gone[target] = retraction
            target = links.get(target)
    return gone


def _in_force(entries: Sequence[JournalEntry], gone: Mapping[int, int]) -> list[JournalEntry]:
    """``service.current_entries`` over a book's entries already loaded (in id order): no query."""
    superseded = {e.supersedes_id for e in entries if e.supersedes_id is not None and e.signature_state == SIGNED}
    return [
        e
        for e in entries
        if e.id not in superseded and (e.supersedes_id is None or e.signature_state == SIGNED) and e.id not in gone
    ]


def _clearance(entries: Sequence[JournalEntry], today: dt.date) -> ClearanceOut:
    mark, waiting = latest_clearance(list(entries)), pending_grant(list(entries))
    pending_on = waiting.performed_on if waiting is not None else None
    if mark is None:
        return ClearanceOut(status=ClearanceStatus.NONE, decided_on=None, valid_until=None, pending_grant_on=pending_on)
    return ClearanceOut(
        status=status_on(mark.clearance, mark.valid_until, today),
        decided_on=mark.performed_on,
        valid_until=mark.valid_until,
        pending_grant_on=pending_on,
    )


def book_out(session: Session, book: MedicalBook, today: dt.date) -> BookOut:
    """Render the whole book in the owner's language, with the full history of entries (C-10, C-41)."""
    session.flush()  # the statements below read the rows, not the session's objects
    loaded = _load(session, book.id, day=today, today=today, reader=None)
    if loaded is None:
        raise NotFound()
    _, head, entries, jobs = loaded
    return book_out_of(session, book, head, entries, jobs, today)


# --- the whole book in three statements (issue 18) ----------------------------------------------------------------

_BOOK = cast(Table, MedicalBook.__table__)
_PERSON = cast(Table, Person.__table__)
_ADDRESS = cast(Table, PersonAddress.__table__)
_ENTITY = cast(Table, Entity.__table__)
_GROUP = cast(Table, DecreedGroup.__table__)
_EXAM = cast(Table, Examination.__table__)
_ENTRY = cast(Table, JournalEntry.__table__)
_JOB = cast(Table, Employment.__table__)


class BookRow(NamedTuple):
    """A book's own columns, as ``book_out`` shows them."""

    id: int
    person_id: int
    entity_id: int
    issued_on: dt.date
    language: str
    profession: str
    position: str
    workplace: str
    employer_bin: str
    group_code: str


class Head(NamedTuple):
    """What a book's view shows beside its own columns and entries: the owner, the issuer's names, the group version
    in force (else the newest), the owner's home address, and the reader organization's open examination."""

    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: dt.date
    entity_name_kk: str
    entity_name_ru: str
    group_id: int | None
    group_name_kk: str | None
    group_name_ru: str | None
    group_verified: bool | None
    home_id: int | None
    home_kk: str | None
    home_ru: str | None
    home_kato: str | None
    exam_id: int | None
    exam_purpose: str | None


class EntryRow(NamedTuple):
    """A journal entry's columns, as its view needs them (the attributes of ``JournalEntry`` of the same names)."""

    id: int
    book_id: int
    kind: str
    item_code: str
    performed_on: dt.date
    result: str | None
    result_text: str
    codes: str
    clearance: str | None
    valid_until: dt.date | None
    referral_entity_id: int | None
    caused_by_id: int | None
    entity_id: int
    author_account_id: int | None
    author_name: str
    source: str
    supersedes_id: int | None
    reason: str | None
    recorded_at: dt.datetime
    canonical: bytes
    signature_state: str
    clinical_status: str | None
    retracted: bool | None


class JobRow(NamedTuple):
    """A job of the book's owner (the attributes of ``Employment`` of the same names) with its group's names: those
    of the group's newest version in the catalogue (``group_names.names_of``), None for a code not there."""

    id: int
    profession: str
    position: str
    workplace: str
    employer_number: str
    group_code: str
    valid_from: dt.date
    valid_to: dt.date | None
    name_kk: str | None
    name_ru: str | None
    name_en: str | None


def _head_statement() -> Fast:
    day, today = bindparam("day", type_=Date), bindparam("today", type_=Date)
    grp, in_force, newest = _GROUP.alias("grp"), _GROUP.alias("grp_in_force"), _GROUP.alias("grp_newest")
    home, address = _ADDRESS.alias("home"), _ADDRESS.alias("address")
    exam, open_exam = _EXAM.alias("exam"), _EXAM.alias("open_exam")
    entity = _ENTITY.alias("issuer")
    in_force_id = (  # catalogue.in_force
        select(in_force.c.id)
        .where(
            in_force.c.code == _BOOK.c.group_code,
            in_force.c.effective_from <= today,
            or_(in_force.c.effective_to.is_(None), in_force.c.effective_to > today),
        )
        .order_by(in_force.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    newest_id = (  # catalogue.versions(...)[-1]
        select(newest.c.id)
        .where(newest.c.code == _BOOK.c.group_code)
        .order_by(newest.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    home_id = (  # the first permanent address, else the first one (Person.addresses is in id order)
        select(address.c.id)
        .where(address.c.person_id == _BOOK.c.person_id)
        .order_by(case((address.c.kind == "permanent", 0), else_=1), address.c.id)
        .limit(1)
        .scalar_subquery()
    )
    exam_id = (  # access.open_examination of the reader's organization
        select(open_exam.c.id)
        .where(
            open_exam.c.book_id == _BOOK.c.id,
            open_exam.c.entity_id == bindparam("reader", type_=Integer),
            open_exam.c.closed_at.is_(None),
            open_exam.c.open_until >= day,
        )
        .order_by(open_exam.c.open_until.desc(), open_exam.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return Fast(
        select(
            *(_BOOK.c[name] for name in BookRow._fields),
            _PERSON.c.iin,
            _PERSON.c.surname,
            _PERSON.c.given_name,
            _PERSON.c.patronymic,
            _PERSON.c.birth_date,
            entity.c.name_kk,
            entity.c.name_ru,
            grp.c.id,
            grp.c.name_kk,
            grp.c.name_ru,
            grp.c.verified,
            home.c.id,
            home.c.text_kk,
            home.c.text_ru,
            home.c.kato_code,
            exam.c.id,
            exam.c.purpose,
        )
        .select_from(
            _BOOK.join(_PERSON, _PERSON.c.id == _BOOK.c.person_id)
            .join(entity, entity.c.id == _BOOK.c.entity_id)
            .outerjoin(grp, grp.c.id == func.coalesce(in_force_id, newest_id))
            .outerjoin(home, home.c.id == home_id)
            .outerjoin(exam, exam.c.id == exam_id)
        )
        .where(_BOOK.c.id == bindparam("book", type_=Integer))
    )


def _jobs_statement() -> Fast:
    names, newest = _GROUP.alias("job_group"), _GROUP.alias("job_group_newest")
    version = select(func.max(newest.c.version)).where(newest.c.code == _JOB.c.group_code).scalar_subquery()
    return Fast(
        select(*(_JOB.c[name] for name in JobRow._fields[:8]), names.c.name_kk, names.c.name_ru, names.c.name_en)
        .select_from(_JOB.outerjoin(names, and_(names.c.code == _JOB.c.group_code, names.c.version == version)))
        .where(_JOB.c.book_id == bindparam("book", type_=Integer))
        .order_by(_JOB.c.valid_from.desc(), _JOB.c.id.desc())  # employment.history: newest first
    )


_HEAD = _head_statement()
_ENTRIES = Fast(
    select(*(_ENTRY.c[name] for name in EntryRow._fields))
    .where(_ENTRY.c.book_id == bindparam("book", type_=Integer))
    .order_by(_ENTRY.c.id)
)
_JOBS = _jobs_statement()


def _load(
    session: Session, book_id: int, *, day: dt.date, today: dt.date, reader: int | None
) -> tuple[BookRow, Head, list[EntryRow], list[JobRow]] | None:
    """Read a book, what its view shows beside it, its entries and its jobs, in one round trip on PostgreSQL
    (``fastsql.pipeline``); None when there is no such book."""
    conn = session.connection()
    with pipeline(conn):
        head = _HEAD.later(conn, {"book": book_id, "day": day, "today": today, "reader": reader})
        entries = _ENTRIES.later(conn, {"book": book_id})
        jobs = _JOBS.later(conn, {"book": book_id})
    if not head.rows:
        return None
    row = head.rows[0]
    width = len(BookRow._fields)
    return (
        BookRow(*row[:width]),
        Head(*row[width:]),
        [EntryRow(*r) for r in entries.rows],
        [JobRow(*r) for r in jobs.rows],
    )


def _employments_out(book: MedicalBook | BookRow, rows: list[JobRow], day: dt.date) -> list[EmploymentOut]:
    """``employment.employments_out`` from the rows read: the current jobs first (the main one on top), then the
    ended ones, newest first, each with its decreed group's kk/ru/en name."""
    jobs = cast(list[Employment], rows)  # JobRow has the attributes of Employment that these functions read
    held = [j for j in reversed(jobs) if employment.current_on(j, day)]
    main = employment.main_job(cast(MedicalBook, book), held)
    ordered = ([main] if main else []) + [j for j in held if j is not main] + [j for j in jobs if j not in held]
    packaged = catalogue.group_names()
    out = []
    for job in ordered:
        row = cast(JobRow, job)
        names = (
            {"name_kk": row.name_kk, "name_ru": row.name_ru, "name_en": row.name_en}
            if row.name_kk is not None
            else packaged.get(row.group_code, {})
        )
        out.append(
            EmploymentOut(
                id=row.id,
                profession=row.profession,
                position=row.position,
                workplace=row.workplace,
                employer_number=row.employer_number,
                employer_kind=employer_kind(row.employer_number),
                group_code=row.group_code,
                group_name_kk=names.get("name_kk", row.group_code),
                group_name_ru=names.get("name_ru", row.group_code),
                group_name_en=names.get("name_en", row.group_code),
                valid_from=row.valid_from,
                valid_to=row.valid_to,
                current=job in held,
                main=job is main,
            )
        )
    return out


def book_out_of(
    session: Session | None,
    book: MedicalBook | BookRow,
    head: Head,
    rows: list[EntryRow],
    jobs: list[JobRow],
    today: dt.date,
) -> BookOut:
    """The whole book in the owner's language from what ``_load`` read; a query more only for a book with a
    diagnosis (the infection rules in force) or a referral (its receiving organization and receipt)."""
    if head.group_id is None:
        raise GroupNotFound(group=book.group_code, day="-")  # as catalogue.versions: no version at all
    lang = book.language
    entries = cast(list[JournalEntry], rows)  # EntryRow has the attributes of JournalEntry that these read
    by_id = {e.id: e for e in entries}
    # a correction supersedes once signed (C-40); until then it is pending and the entry it corrects stays in force
    superseded_by = {
        e.supersedes_id: e.id for e in entries if e.supersedes_id is not None and e.signature_state == SIGNED
    }
    pending = {e.id for e in entries if e.supersedes_id is not None and e.signature_state != SIGNED}
    superseded_by.update(dict.fromkeys(pending, 0))  # a pending correction is not in force yet either
    retracted = _withdrawn(entries)  # issue 17: retractions and what they withdrew (as service.retracted_by)
    names = catalogue.item_names()
    if session is None and needs_session(rows):
        raise RuntimeError("this book's answer reads more: see views.needs_session")
    rules = (
        infections.rules_on(session=session, day=today) if session and any(e.clinical_status for e in entries) else []
    )
    referrals = standing_of(session=session, entries=entries) if session else {}
    home = (head.home_kk if lang == "kk" else head.home_ru) or head.home_kato if head.home_id is not None else None
    return BookOut(
        id=book.id,
        language=book.language,
        owner=OwnerOut(
            person_id=book.person_id,
            iin=head.iin,
            surname=head.surname,
            given_name=head.given_name,
            patronymic=head.patronymic,
            birth_date=head.birth_date,
            address=home,
        ),
        profession=book.profession,
        position=book.position,
        workplace=book.workplace,
        employer_bin=book.employer_bin,
        employer_kind=employer_kind(book.employer_bin),
        group_code=book.group_code,
        group_name=head.group_name_kk if lang == "kk" else head.group_name_ru,
        group_verified=head.group_verified,
        entity_id=book.entity_id,
        entity_name=head.entity_name_kk if lang == "kk" else head.entity_name_ru,
        issued_on=book.issued_on,
        clearance=_clearance(_in_force(entries, retracted), today),  # as clearance_of, from the entries loaded
        entries=[
            entry_out(
                e,
                by_id=by_id,
                superseded_by=superseded_by,
                names=names,
                lang=lang,
                referrals=referrals,
                rules=rules,
                retracted_by=retracted,
            )
            for e in entries
        ],
        employments=_employments_out(book, jobs, today),
    )


def employer_bin(session: Session, actor: Actor) -> str:
    """Return the BIN an employer account speaks for, or raise NoEmployerLink."""
    link = session.get(EmployerLink, actor.account_id)
    if link is None:
        raise NoEmployerLink()
    return link.bin


def employer_workers(*, session: Session, actor: Actor, now: dt.datetime, today: dt.date) -> list[EmployerWorkerOut]:
    """Return clearance status and dates of the workers whose book lists the employer's BIN; log each read.

    The clearance of all the employer's books comes from one set-based query (standing.standings).
    """
    bin_ = employer_bin(session, actor)
    employed = access.employed_books(bin_, today)  # issue 15: current jobs only; a past employer sees nobody
    standing = standings(session, select(MedicalBook.id).where(MedicalBook.id.in_(employed)), today)
    positions: dict[int, str] = {
        row.book_id: row.position
        for row in session.execute(
            select(Employment.book_id, Employment.position)
            .where(Employment.employer_number == bin_, access.held_on(today))
            .order_by(Employment.valid_from.desc(), Employment.id.desc())
        )
    }
    out = []
    for book, person in session.execute(
        select(MedicalBook, Person)
        .join(Person, Person.id == MedicalBook.person_id)
        .where(MedicalBook.id.in_(employed))
        .order_by(Person.surname, Person.id)
    ):
        c = standing[book.id]
        _log_read(session, actor, book, "", now)
        out.append(
            EmployerWorkerOut(
                book_id=book.id,
                surname=person.surname,
                given_name=person.given_name,
                patronymic=person.patronymic,
                position=positions.get(book.id, book.position),
                status=c.status,
                decided_on=c.decided_on,
                valid_until=c.valid_until,
            )
        )
    return out


def reminders(*, session: Session, actor: Actor, today: dt.date, within_days: int) -> list[ReminderOut]:
    """Return the books whose clearance ends within N days, for the owner's and employer's reminders (C-21)."""
    books = select(MedicalBook.id)
    if actor.role is Role.EMPLOYER:  # issue 15: the workers it employs today
        books = books.where(MedicalBook.id.in_(access.employed_books(employer_bin(session, actor), today)))
    elif actor.role is not Role.FUND_ADMIN:
        books = books.where(MedicalBook.entity_id == actor.entity_id)
    found = {s.book_id: s for s in expiring(session, today=today, within_days=within_days, books=books)}
    rows = (
        list(
            session.execute(
                select(MedicalBook, Person)
                .join(Person, Person.id == MedicalBook.person_id)
                .where(MedicalBook.id.in_(list(found)))
            )
        )
        if found
        else []
    )
    for book, person in rows:
        _log_listed(session, actor, book.id, person.id, REMINDERS_PURPOSE)
    out = [
        ReminderOut(
            book_id=book.id,
            person_id=person.id,
            surname=person.surname,
            given_name=person.given_name,
            employer_bin=book.employer_bin,
            valid_until=found[book.id].valid_until,
            days_left=(found[book.id].valid_until - today).days,  # type: ignore[operator]
        )
        for book, person in rows
    ]
    return sorted(out, key=lambda r: (r.valid_until, r.book_id))
