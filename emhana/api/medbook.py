"""Routes of personal medical books: the decreed-group catalogue, responsible-therapist appointments, books,
journal entries, clearance, corrections, and the owner's, employer's and PHC organization's views.

No IIN ever sits in a URL: a book is found by IIN through a POST body. Every POST takes an Idempotency-Key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel import clock
from emhana.medbook import (
    appointments,
    book_reads,
    catalogue,
    catalogue_versions,
    journal,
    reads,
    referrals,
    service,
    views,
)
from emhana.medbook.models import DecreedGroup, JournalEntry
from emhana.medbook.schemas import (
    AcknowledgeIn,
    AppointIn,
    AppointmentOut,
    BookIn,
    BookOut,
    ClearanceIn,
    CorrectionIn,
    EmployerLinkIn,
    EmployerWorkerOut,
    EntryIn,
    EntryOut,
    GroupIn,
    GroupOut,
    LanguageIn,
    LookupIn,
    ReadOut,
    ReceiptOut,
    ReferralOut,
    ReminderOut,
)
from emhana.web.deps import SessionDep, public, require
from emhana.web.idempotency import idempotent_json, idempotent_no_content
from emhana.web.reads import async_reads, in_read_only_session, logged_read

router = APIRouter(prefix="/medbook", tags=["medbook"])
IdempotencyKey = Annotated[str | None, Header()]
Purpose = Annotated[str, Query(max_length=200, description="Why the book is read; kept in its access log")]


def _group_out(g: DecreedGroup) -> GroupOut:
    return GroupOut(
        id=g.id,
        code=g.code,
        version=g.version,
        effective_from=g.effective_from,
        effective_to=g.effective_to,
        name_kk=g.name_kk,
        name_ru=g.name_ru,
        name_en=g.name_en,
        periodicity_months=g.periodicity_months,
        verified=g.verified,
        source=g.source,
        requirements=catalogue_versions.requirements_out(g),
    )


def _entry(session: SessionDep, entry_id: int) -> dict[str, Any]:
    """Return the JSON of one entry within its book's history."""
    entry = session.get(JournalEntry, entry_id)
    assert entry is not None
    book = service.get_book(session=session, book_id=entry.book_id)
    out = views.book_out(session, book, service.local_day(clock.now()))
    return next(e for e in out.entries if e.id == entry_id).model_dump(mode="json")


@router.get("/groups", response_model=list[GroupOut], dependencies=[public()])
def groups(session: SessionDep) -> list[GroupOut]:
    """List the decreed groups in force today with their examination scope (§3.7); unverified ones say so."""
    return [_group_out(g) for g in catalogue.list_in_force(session=session, day=clock.today())]


@router.get("/groups/{code}/versions", response_model=list[GroupOut], dependencies=[public()])
def group_versions(code: str, session: SessionDep) -> list[GroupOut]:
    """List every version of a decreed group, oldest first; old versions are never changed."""
    return [_group_out(g) for g in catalogue.versions(session=session, code=code)]


@router.post("/groups", response_model=GroupOut, status_code=201)
def add_group_version(
    body: GroupIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.SET_DECREED_GROUPS)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Add the Fund's new version of a decreed group (or a new group) from its effective date."""

    def run() -> tuple[int, dict[str, Any]]:
        group = catalogue_versions.add_version(session=session, actor=actor, data=body)
        return 201, _group_out(group).model_dump(mode="json")

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )


@router.post("/entities/{entity_id}/responsible", response_model=AppointmentOut, status_code=201)
def appoint(
    entity_id: int,
    body: AppointIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.APPOINT_RESPONSIBLE_THERAPIST)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Appoint the organization's responsible therapist (C-05); the previous appointment ends that day."""

    def run() -> tuple[int, dict[str, Any]]:
        a = appointments.appoint(session=session, actor=actor, entity_id=entity_id, data=body, now=clock.now())
        name = session.get(Account, a.account_id).display_name  # type: ignore[union-attr]
        return 201, AppointmentOut(
            id=a.id,
            entity_id=a.entity_id,
            account_id=a.account_id,
            display_name=name,
            valid_from=a.valid_from,
            valid_to=a.valid_to,
        ).model_dump(mode="json")

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"entity": entity_id, **body.model_dump(mode="json")},
        run=run,
    )


@router.get("/entities/{entity_id}/responsible", response_model=list[AppointmentOut])
def appointment_history(
    entity_id: int,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.READ_APPOINTMENTS)],
) -> list[AppointmentOut]:
    """Return the history of the organization's responsible-therapist appointments, latest first."""
    return [
        AppointmentOut(
            id=a.id,
            entity_id=a.entity_id,
            account_id=a.account_id,
            display_name=name,
            valid_from=a.valid_from,
            valid_to=a.valid_to,
        )
        for a, name in appointments.appointments(session=session, actor=actor, entity_id=entity_id)
    ]


@router.post("/employers", status_code=204, response_class=Response)
def link_employer(
    body: EmployerLinkIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.LINK_EMPLOYER)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Tie an employer account to its BIN (it then sees its workers' clearance status and dates only)."""

    def run() -> None:
        service.link_employer(session=session, actor=actor, account_id=body.account_id, bin_=body.bin, now=clock.now())

    return idempotent_no_content(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )


@router.post("/books", response_model=BookOut, status_code=201)
def issue(
    body: BookIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.ISSUE_MEDBOOK)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Open a worker's personal medical book at the responsible therapist's organization (C-04, C-05, C-11)."""

    def run() -> tuple[int, dict[str, Any]]:
        book = service.issue(session=session, actor=actor, data=body, now=clock.now())
        return 201, views.book_out(session, book, clock.today()).model_dump(mode="json")

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )


@router.post("/books/lookup", response_model=BookOut)
def lookup(body: LookupIn, session: SessionDep, actor: Annotated[Actor, require(Can.EXAMINE_FOR_MEDBOOK)]) -> BookOut:
    """Find a worker's book by IIN given in the body; staff see books of their organization only."""
    book = views.lookup(session=session, actor=actor, iin=body.iin, purpose=body.purpose, now=clock.now())
    return views.book_out(session, book, clock.today())


@router.get("/books/{book_id}", response_model=BookOut)
async def read_book(
    book_id: int,
    request: Request,
    actor: Annotated[Actor, require(Can.READ_MEDBOOK)],
    purpose: Purpose = "",
) -> Response:
    """Return the whole book with its history; the read is logged with who, when and why."""
    now, today = clock.now(), clock.today()
    reads = async_reads(request)
    if reads is None:  # SQLite: the read-only unit of work in a worker thread

        def read(session: Session) -> BookOut:
            return views.read_book_out(
                session=session, actor=actor, book_id=book_id, purpose=purpose, now=now, today=today
            )

        out = await logged_read(request, read)
    else:  # PostgreSQL: on the event loop, its statements batched with other requests' (web/reads.py)
        (book, head, entries, jobs), event = await book_reads.read_book(
            reads=reads, actor=actor, book_id=book_id, purpose=purpose, now=now, today=today
        )
        if views.needs_session(entries):  # a diagnosis's rules in force, a referral's receiving organization

            def answer(session: Session) -> BookOut:
                return views.book_out_of(session, book, head, entries, jobs, today)

            out = await in_read_only_session(request, answer)
        else:
            out = views.book_out_of(None, book, head, entries, jobs, today)
        await reads.log([event])  # durable before the answer; nothing logged for a read that failed before
    # the bytes FastAPI makes of a BookOut for response_model (its dump_json), without validating our own model
    # again in a worker thread of its own (tests/medbook/test_read_book_out.py)
    return Response(content=_BOOK_JSON.dump_json(out), media_type="application/json")


_BOOK_JSON = TypeAdapter(BookOut)


@router.post("/books/{book_id}/entries", response_model=EntryOut, status_code=201)
def record(
    book_id: int,
    body: EntryIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.WRITE_MEDBOOK_ENTRY)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Append an examination, test, X-ray, vaccination, past infection or diagnosis (C-12, C-13).

    A positive infection test suspends clearance and refers the worker to PHC in the same transaction (C-30).
    """

    def run() -> tuple[int, dict[str, Any]]:
        entry = journal.record(session=session, actor=actor, book_id=book_id, data=body, now=clock.now())
        return 201, _entry(session, entry.id)

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"book": book_id, **body.model_dump(mode="json")},
        run=run,
    )


@router.post("/books/{book_id}/clearance", response_model=EntryOut, status_code=201)
def clearance(
    book_id: int,
    body: ClearanceIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.GRANT_CLEARANCE)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Grant (only with the group's complete, clean scope), refuse or suspend work clearance (C-20, C-21)."""

    def run() -> tuple[int, dict[str, Any]]:
        entry = journal.decide_clearance(session=session, actor=actor, book_id=book_id, data=body, now=clock.now())
        return 201, _entry(session, entry.id)

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"book": book_id, **body.model_dump(mode="json")},
        run=run,
    )


@router.post("/entries/{entry_id}/correction", response_model=EntryOut, status_code=201)
def correct(
    entry_id: int,
    body: CorrectionIn,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.CORRECT_MEDBOOK_ENTRY)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Correct an entry: a new entry with reason and author supersedes it; both stay in the history (C-41)."""

    def run() -> tuple[int, dict[str, Any]]:
        entry = journal.correct(session=session, actor=actor, entry_id=entry_id, data=body, now=clock.now())
        return 201, _entry(session, entry.id)

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"entry": entry_id, **body.model_dump(mode="json")},
        run=run,
    )


@router.get("/me", response_model=BookOut)
def my_book(session: SessionDep, actor: Annotated[Actor, require(Can.SEE_OWN_RECORDS)]) -> BookOut:
    """Return the worker's own book in the language they chose (C-10)."""
    book = views.my_book(session=session, actor=actor, now=clock.now())
    return views.book_out(session, book, clock.today())


@router.put("/me/language", response_model=BookOut)
def choose_language(
    body: LanguageIn, session: SessionDep, actor: Annotated[Actor, require(Can.SET_OWN_PREFERENCES)]
) -> BookOut:
    """Choose the language of the own book: kk or ru (C-10)."""
    book = views.set_language(session=session, actor=actor, language=body.language.value, now=clock.now())
    return views.book_out(session, book, clock.today())


@router.get("/me/reads", response_model=list[ReadOut])
def my_book_reads(
    response: Response,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.SEE_OWN_RECORDS)],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> list[ReadOut]:
    """Return who read the worker's book, when, from which organization and why, one visit a line, latest first
    and in Kazakhstan's time (journey 9); a page of 50, with the next and previous pages in the Link header."""
    found = reads.reads_of_my_book(session=session, actor=actor, page=page)
    links = [f'</api/v1/medbook/me/reads?page={page + 1}>; rel="next"'] if found.has_next else []
    links += [f'</api/v1/medbook/me/reads?page={page - 1}>; rel="prev"'] if found.has_previous else []
    if links:
        response.headers["Link"] = ", ".join(links)
    return found.items


@router.get("/employer/workers", response_model=list[EmployerWorkerOut])
def employer_workers(
    session: SessionDep, actor: Annotated[Actor, require(Can.SEE_WORKERS_CLEARANCE)]
) -> list[EmployerWorkerOut]:
    """Return the clearance status and dates of the employer's workers; never clinical content."""
    return views.employer_workers(session=session, actor=actor, now=clock.now(), today=clock.today())


@router.get("/reminders", response_model=list[ReminderOut])
def reminders(
    session: SessionDep,
    actor: Annotated[Actor, require(Can.SEE_MEDBOOK_REMINDERS)],
    within_days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> list[ReminderOut]:
    """List books whose clearance ends within N days, to remind the owner and the employer (C-21)."""
    return views.reminders(session=session, actor=actor, today=clock.today(), within_days=within_days)


@router.get("/referrals/incoming", response_model=list[ReferralOut])
def incoming_referrals(
    session: SessionDep, actor: Annotated[Actor, require(Can.RECEIVE_REFERRALS)]
) -> list[ReferralOut]:
    """Return the workers referred to this PHC organization after an infection or carrier finding (C-30), with
    the item's name in kk/ru/en, the referring organization and whether the referral is acknowledged."""
    return referrals.incoming(session=session, actor=actor)


@router.post("/referrals/{entry_id}/acknowledge", response_model=ReceiptOut)
def acknowledge_referral(
    entry_id: int,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.RECEIVE_REFERRALS)],
    body: AcknowledgeIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Acknowledge a referral to this PHC organization (C-30): once; a repeat answers with the first receipt.
    A referral to another organization answers as a missing one (404 medbook.referral_not_found)."""
    data = body or AcknowledgeIn()

    def run() -> tuple[int, dict[str, Any]]:
        r = referrals.acknowledge(session=session, actor=actor, entry_id=entry_id, note=data.note, now=clock.now())
        return 200, referrals.receipt_out(r).model_dump(mode="json")

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"entry_id": entry_id, **data.model_dump(mode="json")},
        run=run,
    )
