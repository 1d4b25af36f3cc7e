"""The desk's pages of an organization's books: the list of the books it keeps or has recorded in, with the
clearance standing of each and a "due within N days" filter (C-21), and the responsible therapist's form that
issues a book (C-04, C-05, C-10, C-11). The IIN is typed into a POST form and never lands in a URL: the issued
book opens at the desk by its number (POST-redirect-GET). Included by ``emhana.pages.medbook``'s router.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel import clock
from emhana.kernel.errors import InvalidEmployerNumber, InvalidIIN, NotFound, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.medbook import catalogue, desk, service
from emhana.medbook.labels import STATUSES
from emhana.medbook.rules import Language
from emhana.medbook.schemas import BookIn
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, language, render, render_error

router = APIRouter(include_in_schema=False)

Examiner = Annotated[Actor, require(Can.EXAMINE_FOR_MEDBOOK)]
Issuer = Annotated[Actor, require(Can.ISSUE_MEDBOOK)]
FormText = Annotated[str, Form(max_length=2000)]

DEFAULT_WITHIN_DAYS = 30
BOOK_LANGUAGES = {Language.KK.value: "Қазақша", Language.RU.value: "Русский"}
MSG_NO_PERSON = N_("No person with this IIN is in the register. Register the person first.")
MSG_FIELD = N_("Check the field “{field}”: it is missing or not valid.")
MSG_BAD_FORM = N_("Check the form: a field is missing or not valid.")
# The form's fields by their labels, so a refusal names the field, never its code.
FIELD_LABELS = {
    "iin": N_("IIN of the worker"),
    "language": N_("Language of the book"),
    "profession": N_("Profession"),
    "position": N_("Position"),
    "workplace": N_("Workplace"),
    "employer_bin": N_("Employer's number: BIN of a legal entity or IIN of an individual entrepreneur"),
    "group_code": N_("Decreed group"),
}
# Validators of the schema that raise a domain error by its code (as the JSON API's problem+json does).
DOMAIN_ERRORS: dict[str, type[RegistryError]] = {cls.code: cls for cls in (InvalidIIN, InvalidEmployerNumber)}


@router.get("/medbook/desk/books", response_class=HTMLResponse, dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)])
def organization_books(
    request: Request, session: SessionDep, actor: Examiner, due: str = "", days: str = "", page: int = 1
) -> HTMLResponse:
    """List the books the actor's organization keeps or has recorded in, optionally only those whose clearance
    ends within N days (every line shown is logged as a read of its book)."""
    within = int(days) if days.strip().isdigit() else DEFAULT_WITHIN_DAYS
    within = min(within, desk.MAX_WITHIN_DAYS)
    found = desk.books(
        session=session, actor=actor, today=clock.today(), within_days=within if due else None, page=page
    )
    query = f"due=1&days={within}&" if due else ""
    return render(
        request,
        "medbook/books.html",
        actor=actor,
        found=found,
        due=bool(due),
        days=within,
        query=query,
        statuses=STATUSES,
    )


def _issue_form(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    typed: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    lang = language(request)
    groups = sorted(
        (
            (g.code, {"kk": g.name_kk, "en": g.name_en}.get(lang) or g.name_ru)
            for g in catalogue.list_in_force(session=session, day=clock.today())
        ),
        key=lambda g: g[1],
    )
    return render(
        request,
        "medbook/issue.html",
        actor=actor,
        status=status,
        typed=typed or {},
        error=error,
        groups=groups,
        languages=BOOK_LANGUAGES,
    )


@router.get("/medbook/desk/issue", response_class=HTMLResponse, dependencies=[require(Can.ISSUE_MEDBOOK)])
def issue_form(request: Request, session: SessionDep, actor: Issuer) -> HTMLResponse:
    """Show the form that issues a worker's book (the responsible therapist of the organization, C-05)."""
    return _issue_form(request, session, actor)


def _message(lang: str, exc: RegistryError | ValidationError) -> tuple[str, int]:
    """Return a refusal's message in the page's language and its status: a coded error's own message, a field
    named by its label."""
    if isinstance(exc, RegistryError):
        if type(exc) is NotFound:  # the service's answer for an IIN the register does not know
            return translate(lang, MSG_NO_PERSON), 404
        return translate(lang, exc.template(), exc.params), exc.status
    problems = exc.errors()
    if not problems:
        return translate(lang, MSG_BAD_FORM), 422
    first = problems[0]
    kind = str(first.get("type", ""))
    if kind in DOMAIN_ERRORS:
        ctx = {k: translate(lang, str(v)) for k, v in (first.get("ctx") or {}).items()}
        return translate(lang, DOMAIN_ERRORS[kind].message, ctx), 422
    field = str(first["loc"][0]) if first.get("loc") else ""
    label = FIELD_LABELS.get(field)
    if label is None:
        return translate(lang, MSG_BAD_FORM), 422
    return translate(lang, MSG_FIELD, {"field": translate(lang, label)}), 422


@router.post("/medbook/desk/issue", dependencies=[require(Can.ISSUE_MEDBOOK)])
def issue(
    request: Request,
    session: SessionDep,
    actor: Issuer,
    csrf: FormText = "",
    iin: FormText = "",
    book_language: Annotated[str, Form(alias="language", max_length=8)] = "",
    profession: FormText = "",
    position: FormText = "",
    workplace: FormText = "",
    employer_bin: FormText = "",
    group_code: FormText = "",
) -> Response:
    """Issue a worker's book (C-04, C-05, C-10, C-11); a refusal keeps what was typed and writes nothing; the new
    book opens at the desk by its number, never by the IIN."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {
        "iin": iin.strip(),
        "language": book_language.strip(),
        "profession": profession.strip(),
        "position": position.strip(),
        "workplace": workplace.strip(),
        "employer_bin": employer_bin.strip(),
        "group_code": group_code.strip(),
    }
    try:
        data: dict[str, Any] = dict(typed)
        book = service.issue(session=session, actor=actor, data=BookIn.model_validate(data), now=clock.now())
    except (RegistryError, ValidationError) as exc:
        session.rollback()
        message, status = _message(language(request), exc)
        return _issue_form(request, session, actor, typed=typed, error=message, status=status)
    return RedirectResponse(f"/medbook/desk/books/{book.id}?done=issued", status_code=303)
