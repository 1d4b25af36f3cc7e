"""Pages of personal medical books: the worker's own book in the language they chose, with its access log
(C-10, journey 9), the employer's view of their workers' clearance status and dates only, without
clinical content, and the clinician's and responsible therapist's desk (find a book by an IIN typed into a
POST form, never a URL; record entries; decide clearance). Every page calls the same view and service
functions as the API, so every read is logged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel import clock
from emhana.kernel.errors import BookNotFound, NoEmployerLink, PurposeRequired, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.medbook import catalogue, journal, views
from emhana.medbook import reads as my_reads
from emhana.medbook.labels import FIELDS, KINDS, PURPOSES, RESULTS, STATUSES
from emhana.medbook.my_seal import seal_view
from emhana.medbook.rules import CLINICAL_KINDS, ClearanceStatus, EntryKind, Language, Result
from emhana.medbook.schemas import (
    BookOut,
    ClearanceIn,
    ClinicalKind,
    CorrectionIn,
    Decision,
    EntryIn,
    EntryOut,
    LookupIn,
)
from emhana.pages.medbook_books import router as books_router
from emhana.pages.medbook_sign import sign_context
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, environment, language, render, render_error

router = APIRouter(include_in_schema=False)

Owner = Annotated[Actor, require(Can.SEE_OWN_RECORDS)]
PreferenceSetter = Annotated[Actor, require(Can.SET_OWN_PREFERENCES)]
Employer = Annotated[Actor, require(Can.SEE_WORKERS_CLEARANCE)]
Examiner = Annotated[Actor, require(Can.EXAMINE_FOR_MEDBOOK)]
ClearanceGiver = Annotated[Actor, require(Can.GRANT_CLEARANCE)]
Corrector = Annotated[Actor, require(Can.CORRECT_MEDBOOK_ENTRY)]
FormText = Annotated[str, Form(max_length=2000)]

MSG_BAD_LANGUAGE = N_("Choose Kazakh or Russian for your book.")
MSG_BAD_FORM = N_("Check the form: a field is missing or not valid.")
MSG_RECORDED = N_("The entry is recorded.")
MSG_DECIDED = N_("The clearance decision is recorded.")
MSG_CORRECTED = N_("The correction is recorded; the corrected entry stays in the history.")
MSG_ISSUED = N_("The personal medical book is issued.")
MSG_SEAL_LABEL = N_("QR code of the seal of the clearance for work")

BOOK_LANGUAGES = {Language.KK.value: "Қазақша", Language.RU.value: "Русский"}


def _counts(e: EntryOut) -> bool:
    """The same rule as service.counts: a grant counts once signed, a refusal or suspension at once."""
    return e.clearance != ClearanceStatus.GRANTED.value or e.signature_state == "signed"


def clearance_mark(book: BookOut) -> EntryOut | None:
    """Return the clearance entry in force (the same choice as service.latest_clearance)."""
    marks = [e for e in book.entries if e.current and e.kind is EntryKind.CLEARANCE and _counts(e)]
    return max(marks, key=lambda e: (e.performed_on, e.id)) if marks else None


def pending_grant(book: BookOut) -> EntryOut | None:
    """Return a grant recorded after the decision in force and awaiting its clinician's signature, if any."""
    mark = clearance_mark(book)
    waiting = [
        e
        for e in book.entries
        if e.kind is EntryKind.CLEARANCE
        and not _counts(e)
        and (mark is None or (e.performed_on, e.id) > (mark.performed_on, mark.id))
    ]
    return max(waiting, key=lambda e: (e.performed_on, e.id)) if waiting else None


def book_html(book: BookOut, sign: dict[str, Any] | None = None) -> Markup:
    """Render the book itself in the owner's chosen language, whatever the page language (C-10); a corrected
    item is named, not coded, in the difference of a correction (C-41); ``sign`` (medbook_sign.sign_context) adds
    the desk's sign buttons to the actor's own unsigned entries."""
    lang = book.language.value
    items = {code: n.get(f"name_{lang}", code) for code, n in catalogue.item_names().items()}
    html = (
        environment(book.language.value)
        .get_template("medbook/_book.html")
        .render(
            b=book,
            mark=clearance_mark(book),
            pending=pending_grant(book),
            kinds=KINDS,
            results=RESULTS,
            statuses=STATUSES,
            fields=FIELDS,
            items=items,
            by_id={e.id: e for e in book.entries},
            sign=sign,
        )
    )
    return Markup(html)  # rendered by an autoescaping environment


@router.get("/medbook/my", response_class=HTMLResponse, dependencies=[require(Can.SEE_OWN_RECORDS)])
def my_book(request: Request, session: SessionDep, actor: Owner, error: str = "", page: int = 1) -> HTMLResponse:
    """Show the worker's own book in their chosen language, the language form and who has read the book."""
    try:
        book = views.my_book(session=session, actor=actor, now=clock.now())
    except BookNotFound:
        return render(
            request,
            "medbook/my.html",
            actor=actor,
            book=None,
            reads=None,
            body="",
            languages=BOOK_LANGUAGES,
            purposes=PURPOSES,
            error="",
            seal=None,
            seal_svg="",
        )
    out = views.book_out(session, book, clock.today())
    lang = language(request)
    seal = seal_view(session, book, now=clock.now(), label=translate(lang, MSG_SEAL_LABEL))
    reads = my_reads.reads_of_my_book(session=session, actor=actor, page=page, lang=lang)
    message = translate(lang, MSG_BAD_LANGUAGE) if error == "language" else ""
    return render(
        request,
        "medbook/my.html",
        actor=actor,
        book=out,
        reads=reads,
        body=book_html(out),
        seal=seal,
        seal_svg=Markup(seal.svg) if seal.svg else "",  # segno's SVG: module paths only, no user data
        languages=BOOK_LANGUAGES,
        purposes=PURPOSES,
        error=message,
    )


@router.get("/medbook/my/book.pdf", dependencies=[require(Can.SEE_OWN_RECORDS)])
def my_book_pdf(session: SessionDep, actor: Owner) -> Response:
    """Download the worker's own book as a PDF in its language, with the facility's QR seal when cleared.

    The download is logged as a read of the book (journey 9); the file is never cached.
    """
    try:
        filename, data = views.my_book_pdf(session=session, actor=actor, now=clock.now())
    except BookNotFound:
        return RedirectResponse("/medbook/my", status_code=303)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.post("/medbook/my/language", dependencies=[require(Can.SET_OWN_PREFERENCES)])
def choose_language(
    request: Request,
    session: SessionDep,
    actor: PreferenceSetter,
    csrf: Annotated[str, Form(max_length=200)] = "",
    book_language: Annotated[str, Form(alias="language", max_length=8)] = "",
) -> Response:
    """Change the language the worker's book is rendered in: Kazakh or Russian (C-10)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    if book_language not in BOOK_LANGUAGES:
        return RedirectResponse("/medbook/my?error=language", status_code=303)
    views.set_language(session=session, actor=actor, language=book_language, now=clock.now())
    return RedirectResponse("/medbook/my", status_code=303)


@router.get("/medbook/workers", response_class=HTMLResponse, dependencies=[require(Can.SEE_WORKERS_CLEARANCE)])
def employer_workers(request: Request, session: SessionDep, actor: Employer) -> HTMLResponse:
    """Show the employer's workers with clearance status and dates only; never clinical content."""
    try:
        workers = views.employer_workers(session=session, actor=actor, now=clock.now(), today=clock.today())
    except NoEmployerLink as exc:
        return render_error(request, status=403, title=MSG_REFUSED, message=exc.template(), actor=actor)
    return render(request, "medbook/workers.html", actor=actor, workers=workers, statuses=STATUSES)


CLINICAL_STATUSES = {"active": N_("Active diagnosis"), "resolved": N_("Resolved diagnosis")}


def icd_codes(typed: str) -> list[str]:
    """Return the ICD-10 codes typed in one field, separated by commas, semicolons or spaces (A15.0, Z22.1)."""
    return [c.strip().upper() for c in typed.replace(";", ",").replace(" ", ",").split(",") if c.strip()]


def item_groups(lang: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Return the catalogue's items grouped by the entry kind they are recorded under, in the order of the kinds:
    (kind, its label msgid, [(item code, name)]); the desk offers each item only under its kind."""
    names = catalogue.item_names()
    kinds = catalogue.item_allowed_kinds()
    groups = []
    for kind in ClinicalKind:
        items = sorted(
            ((code, names[code].get(f"name_{lang}", code)) for code in names if kind.value in kinds[code]),
            key=lambda i: i[1],
        )
        if items:
            groups.append((kind.value, KINDS[kind.value], items))
    return groups


def _desk(
    request: Request,
    actor: Actor,
    *,
    book: BookOut | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
    correct: int | None = None,
    ask_purpose: int | None = None,
) -> HTMLResponse:
    lang = language(request)
    entries = correctable(book) if book else []
    prefill = next((e for e in entries if e.id == correct), None)
    return render(
        request,
        "medbook/desk.html",
        actor=actor,
        status=status,
        book=book,
        body=book_html(book, sign_context(request, actor)) if book else "",
        error=error,
        notice=notice,
        item_groups=item_groups(lang),
        known_items=set(catalogue.item_names()),
        item_name={code: n.get(f"name_{lang}", code) for code, n in catalogue.item_names().items()},
        kinds=[(k.value, KINDS[k.value]) for k in ClinicalKind],
        results=RESULTS,
        result_codes=[r.value for r in Result],
        clinical_statuses=CLINICAL_STATUSES,
        decisions=[d.value for d in Decision],
        statuses=STATUSES,
        today=clock.today().isoformat(),
        correctable=entries,
        prefill=prefill,
        kinds_all=KINDS,
        ask_purpose=ask_purpose,
    )


def correctable(book: BookOut) -> list[EntryOut]:
    """Return the entries a correction may supersede: current clinical ones not corrected yet (a correction awaiting
    its signature included), latest first (C-40, C-41)."""
    corrected = {e.supersedes_id for e in book.entries if e.supersedes_id is not None}
    return [e for e in reversed(book.entries) if e.current and e.kind in CLINICAL_KINDS and e.id not in corrected]


def _refused(
    request: Request, session: Session, actor: Actor, exc: RegistryError | ValidationError, book_id: int | None = None
) -> HTMLResponse:
    """Undo anything the refused request wrote and show the desk with the refusal's own message."""
    session.rollback()
    lang = language(request)
    if isinstance(exc, RegistryError):
        message, status = translate(lang, exc.template(), exc.params), exc.status
    else:
        message, status = translate(lang, MSG_BAD_FORM), 422
    book = None
    if book_id is not None:
        try:
            book = _read(session, actor, book_id)
        except RegistryError:
            book = None
    return _desk(request, actor, book=book, error=message, status=status)


def _read(session: Session, actor: Actor, book_id: int, purpose: str = "") -> BookOut:
    book = views.read_book(session=session, actor=actor, book_id=book_id, purpose=purpose, now=clock.now())
    return views.book_out(session, book, clock.today())


@router.get("/medbook/desk", response_class=HTMLResponse, dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)])
def desk(request: Request, actor: Examiner) -> HTMLResponse:
    """Show the desk's search form: the worker's IIN is typed into a POST form, never put in a URL."""
    return _desk(request, actor)


@router.post(
    "/medbook/desk/find",
    response_class=HTMLResponse,
    dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)],
)
def find(
    request: Request,
    session: SessionDep,
    actor: Examiner,
    csrf: FormText = "",
    iin: FormText = "",
    purpose: FormText = "",
) -> Response:
    """Find a worker's book by IIN (the read is logged with its purpose) and open it at the desk."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        body = LookupIn(iin=iin.strip(), purpose=purpose.strip()[:200])
        book = views.lookup(session=session, actor=actor, iin=body.iin, purpose=body.purpose, now=clock.now())
    except (RegistryError, ValidationError) as exc:
        return _refused(request, session, actor, exc)
    return _desk(request, actor, book=views.book_out(session, book, clock.today()))


@router.get(
    "/medbook/desk/books/{book_id}",
    response_class=HTMLResponse,
    dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)],
)
def desk_book(
    request: Request,
    session: SessionDep,
    actor: Examiner,
    book_id: int,
    done: str = "",
    correct: str = "",
    purpose: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Show a book of the actor's organization at the desk (the read is logged); ``correct`` names the entry whose
    values fill the correction form. A book the organization only recorded in before asks for the purpose of the
    read first (issue 15)."""
    lang = language(request)
    try:
        book = _read(session, actor, book_id, purpose.strip())
    except PurposeRequired as exc:
        session.rollback()
        message = translate(lang, exc.template(), exc.params)
        return _desk(request, actor, error=message, status=exc.status, ask_purpose=book_id)
    notice = {
        "issued": translate(lang, MSG_ISSUED),
        "entry": translate(lang, MSG_RECORDED),
        "clearance": translate(lang, MSG_DECIDED),
        "correction": translate(lang, MSG_CORRECTED),
    }.get(done, "")
    return _desk(
        request,
        actor,
        book=book,
        notice=notice,
        correct=int(correct) if correct.isdigit() else None,
    )


@router.post("/medbook/desk/books/{book_id}/entries", dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)])
def record_entry(
    request: Request,
    session: SessionDep,
    actor: Examiner,
    book_id: int,
    csrf: FormText = "",
    kind: FormText = "",
    item_code: FormText = "",
    performed_on: FormText = "",
    result: FormText = "",
    result_text: FormText = "",
    codes: FormText = "",
    clinical_status: FormText = "",
) -> Response:
    """Record an examination, test, X-ray, vaccination, past infection or diagnosis (C-13); an infection
    suspends clearance and refers the worker in the same transaction (C-30), and so does an active diagnosis
    that bars the work."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        data = EntryIn.model_validate(
            {
                "kind": kind,
                "item_code": item_code,
                "performed_on": performed_on,
                "result": result or None,
                "result_text": result_text.strip(),
                "codes": icd_codes(codes),
                "clinical_status": clinical_status or None,
            }
        )
        journal.record(session=session, actor=actor, book_id=book_id, data=data, now=clock.now())
    except (RegistryError, ValidationError) as exc:
        return _refused(request, session, actor, exc, book_id)
    return RedirectResponse(f"/medbook/desk/books/{book_id}?done=entry", status_code=303)


@router.post("/medbook/desk/books/{book_id}/clearance", dependencies=[require(Can.GRANT_CLEARANCE)])
def decide(
    request: Request,
    session: SessionDep,
    actor: ClearanceGiver,
    book_id: int,
    csrf: FormText = "",
    decision: FormText = "",
    note: FormText = "",
) -> Response:
    """Grant (only with the group's complete, clean scope), refuse or suspend clearance (C-20, C-21)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        data = ClearanceIn.model_validate({"decision": decision, "note": note.strip()})
        journal.decide_clearance(session=session, actor=actor, book_id=book_id, data=data, now=clock.now())
    except (RegistryError, ValidationError) as exc:
        return _refused(request, session, actor, exc, book_id)
    return RedirectResponse(f"/medbook/desk/books/{book_id}?done=clearance", status_code=303)


@router.post("/medbook/desk/books/{book_id}/correction", dependencies=[require(Can.CORRECT_MEDBOOK_ENTRY)])
def correct_entry(
    request: Request,
    session: SessionDep,
    actor: Corrector,
    book_id: int,
    csrf: FormText = "",
    entry_id: FormText = "",
    kind: FormText = "",
    item_code: FormText = "",
    performed_on: FormText = "",
    result: FormText = "",
    result_text: FormText = "",
    codes: FormText = "",
    clinical_status: FormText = "",
    reason: FormText = "",
) -> Response:
    """Correct a chosen entry: the corrected values and a mandatory reason make a new entry that supersedes it;
    only staff of the issuing organization may (C-40); the history shows both and the difference (C-41)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        data = CorrectionIn.model_validate(
            {
                "kind": kind,
                "item_code": item_code,
                "performed_on": performed_on,
                "result": result or None,
                "result_text": result_text.strip(),
                "codes": icd_codes(codes),
                "clinical_status": clinical_status or None,
                "reason": reason.strip() or None,
            }
        )
        target = int(entry_id) if entry_id.strip().isdigit() else 0
        journal.correct(session=session, actor=actor, entry_id=target, data=data, now=clock.now(), book_id=book_id)
    except (RegistryError, ValidationError) as exc:
        return _refused(request, session, actor, exc, book_id)
    return RedirectResponse(f"/medbook/desk/books/{book_id}?done=correction", status_code=303)


# The organization's books and the form that issues one (emhana/pages/medbook_books.py) share the desk's paths.
router.include_router(books_router)
