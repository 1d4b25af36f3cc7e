"""Desk pages of the book that follows the worker across clinics and jobs (issue 15): start an examination of a
worker found by IIN (her organization may then read and record in the book), and her jobs — the history, a job
change or a second job, the end of a job. The forms keep what was typed when they are refused; every page calls
the same service functions as the JSON API, and every read of the book is logged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel import clock
from emhana.kernel.errors import InvalidEmployerNumber, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.medbook import catalogue, employment, examination, views
from emhana.medbook.schemas import EmploymentOut, ExaminationIn, JobEndIn, JobIn
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, language, render, render_error

router = APIRouter(include_in_schema=False)

Examiner = Annotated[Actor, require(Can.EXAMINE_FOR_MEDBOOK)]
FormText = Annotated[str, Form(max_length=2000)]

MSG_BAD_FORM = N_("Check the form: a field is missing or not valid.")
MSG_JOB_RECORDED = N_("The job is recorded in the employment history.")
MSG_JOB_ENDED = N_("The job is ended.")
JOB_FIELDS = ("profession", "position", "workplace", "employer_number", "group_code", "valid_from", "second")


def _message(lang: str, exc: RegistryError | ValidationError) -> tuple[str, int]:
    """Return the refusal's message and status; an employer's number that fails its check says why (its code)."""
    if isinstance(exc, ValidationError):
        bad = next((e for e in exc.errors() if e["type"] == InvalidEmployerNumber.code), None)
        if bad is None:
            return translate(lang, MSG_BAD_FORM), 422
        exc = InvalidEmployerNumber(reason=(bad.get("ctx") or {}).get("reason") or "")
    return translate(lang, exc.template(), exc.params), exc.status


def _jobs_page(
    request: Request,
    session: Session,
    actor: Actor,
    book_id: int,
    *,
    typed: dict[str, str] | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    lang = language(request)
    book = views.read_book(session=session, actor=actor, book_id=book_id, purpose="", now=clock.now())
    jobs: list[EmploymentOut] = employment.employments_out(session, book, clock.today())
    groups = sorted(
        (
            (g.code, {"kk": g.name_kk, "en": g.name_en}.get(lang, g.name_ru))
            for g in catalogue.list_in_force(session=session, day=clock.today())
        ),
        key=lambda g: g[1],
    )
    return render(
        request,
        "medbook/jobs.html",
        actor=actor,
        status=status,
        book_id=book.id,
        jobs=jobs,
        groups=groups,
        typed=typed or {"valid_from": clock.today().isoformat(), "group_code": book.group_code},
        today=clock.today().isoformat(),
        error=error,
        notice=notice,
    )


def _refused(
    request: Request,
    session: Session,
    actor: Actor,
    book_id: int,
    exc: RegistryError | ValidationError,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    """Undo what the refused request wrote and show the jobs page again with the refusal and what was typed."""
    session.rollback()
    message, status = _message(language(request), exc)
    try:
        return _jobs_page(request, session, actor, book_id, typed=typed, error=message, status=status)
    except RegistryError:  # the book is not the actor's to read: answered as the desk answers a missing book
        return render_error(request, status=status, title=MSG_REFUSED, message=message, actor=actor)


@router.get(
    "/medbook/desk/books/{book_id}/jobs", response_class=HTMLResponse, dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)]
)
def jobs(request: Request, session: SessionDep, actor: Examiner, book_id: int, done: str = "") -> HTMLResponse:
    """Show the worker's employment history and the forms for a job change, a second job and the end of a job."""
    lang = language(request)
    notice = {"job": translate(lang, MSG_JOB_RECORDED), "end": translate(lang, MSG_JOB_ENDED)}.get(done, "")
    return _jobs_page(request, session, actor, book_id, notice=notice)


@router.post("/medbook/desk/books/{book_id}/jobs", dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)])
def record_job(
    request: Request,
    session: SessionDep,
    actor: Examiner,
    book_id: int,
    csrf: FormText = "",
    profession: FormText = "",
    position: FormText = "",
    workplace: FormText = "",
    employer_number: FormText = "",
    group_code: FormText = "",
    valid_from: FormText = "",
    second: FormText = "",
) -> Response:
    """Record a job change (the main job ends where the new one begins) or a second job (C-11, issue 15)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    values = (profession, position, workplace, employer_number, group_code, valid_from, second)
    typed = dict(zip(JOB_FIELDS, values, strict=True))
    try:
        data = JobIn.model_validate(
            {
                "profession": profession.strip(),
                "position": position.strip(),
                "workplace": workplace.strip(),
                "employer_number": employer_number.strip(),
                "group_code": group_code.strip(),
                "valid_from": valid_from.strip(),
                "second": second == "1",
            }
        )
        employment.record_job(session=session, actor=actor, book_id=book_id, data=data, now=clock.now())
    except (RegistryError, ValidationError) as exc:
        return _refused(request, session, actor, book_id, exc, typed)
    return RedirectResponse(f"/medbook/desk/books/{book_id}/jobs?done=job", status_code=303)


@router.post("/medbook/desk/books/{book_id}/jobs/{employment_id}/end", dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)])
def end_job(
    request: Request,
    session: SessionDep,
    actor: Examiner,
    book_id: int,
    employment_id: int,
    csrf: FormText = "",
    ended_on: FormText = "",
) -> Response:
    """End a current job on a date (the first day without it)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        day = JobEndIn.model_validate({"ended_on": ended_on.strip()}).ended_on
        employment.end_job(
            session=session, actor=actor, book_id=book_id, employment_id=employment_id, ended_on=day, now=clock.now()
        )
    except (RegistryError, ValidationError) as exc:
        return _refused(request, session, actor, book_id, exc)
    return RedirectResponse(f"/medbook/desk/books/{book_id}/jobs?done=end", status_code=303)


@router.post("/medbook/desk/books/{book_id}/examinations", dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)])
def start_examination(
    request: Request,
    session: SessionDep,
    actor: Examiner,
    book_id: int,
    csrf: FormText = "",
    kind: FormText = "",
    purpose: FormText = "",
    iin: FormText = "",
) -> Response:
    """Start an examination of the worker found by IIN: the organization may then read and record in her book."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        data = ExaminationIn.model_validate(
            {"kind": kind.strip(), "purpose": purpose.strip(), "iin": iin.strip() or None}
        )
        examination.open_examination(session=session, actor=actor, book_id=book_id, data=data, now=clock.now())
    except (RegistryError, ValidationError) as exc:
        session.rollback()
        message, status = _message(language(request), exc)
        return render(
            request,
            "medbook/examination.html",
            actor=actor,
            status=status,
            book_id=book_id,
            error=message,
            exam_kind=kind,
            exam_purpose=purpose,
            iin=iin,
        )
    return RedirectResponse(f"/medbook/desk/books/{book_id}", status_code=303)
