"""The Fund's pages: the form that creates next year's campaign policy (A-30..A-34, A-41), and taking a
capitation snapshot with its exports (A-120, A-121).

The form posts to /attachment/policies/new with its CSRF field; the values go through the same schema
(PolicyIn) and use case (policy.create_policy) as POST /api/v1/attachment/policies, so a campaign
whose window has opened, or a year already recorded, is refused the same way and past campaigns
stay as they were. Errors are shown above the form, which keeps what was typed.

A capitation snapshot is taken from /attachment/snapshots/new through the same use case as the API
(capitation.take_snapshot); it then opens on its own page, with its counts per organization and two CSV exports:
the counts, and the persons behind each count (the attachment that counted each one), so that the snapshot can
be reproduced to the person (A-121).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment import capitation, snapshot_export
from emhana.attachment.campaign import policy
from emhana.attachment.enums import DEFAULT_BANDS, AtuLevel
from emhana.attachment.schemas import PolicyIn
from emhana.kernel import clock
from emhana.kernel.errors import InvalidDates, InvalidInput, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.pages.attachment.views import AttachmentLabels, error_text, parse_date
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, language, render, render_error

router = APIRouter(include_in_schema=False)

PolicyMaker = Annotated[Actor, require(Can.SET_CAMPAIGN_POLICY)]
FLAGS = (
    "year_round",
    "allow_work_basis",
    "allow_study_basis_18plus",
    "border_exception",
    "children_under_5_actual_residence",
    "pregnant_actual_residence",
    "care_at_home_by_applicant",
    "capacity_check",
    "first_attachment_any_time",
)
FLAG_LABELS = {
    "year_round": N_("All year, without a campaign window"),
    "allow_work_basis": N_("Attachment by the place of work"),
    "allow_study_basis_18plus": N_("Attachment by the place of study (18 and over)"),
    "border_exception": N_("The border-territory exception"),
    "children_under_5_actual_residence": N_("Children under 5 by actual residence"),
    "pregnant_actual_residence": N_("Pregnant women by actual residence"),
    "care_at_home_by_applicant": N_("Home visits outside the service zone as the applicant chooses"),
    "capacity_check": N_("Refuse beyond a district's capacity"),
    "first_attachment_any_time": N_("A first attachment at any time of the year"),
}
MSG_POLICY_FIELDS = N_("Fill in the campaign year and both dates of the window (YYYY-MM-DD).")
MSG_POLICY_CREATED = N_("The campaign of {year} is created.")


def _defaults(today: dt.date) -> dict[str, Any]:
    """Return the form's first values: next year's campaign with the current rules (A-31, A-41)."""
    year = today.year + 1
    return {
        "year": str(year),
        "window_start": f"{year}-09-01",
        "window_end": f"{year}-09-30",
        "effective_date": "",
        "max_voluntary_changes_per_year": "1",
        "atu_level": AtuLevel.DISTRICT.value,
        "source": "",
        **{flag: flag != "year_round" for flag in FLAGS},
    }


def _page(request: Request, actor: Actor, values: dict[str, Any], error: str = "", status: int = 200) -> HTMLResponse:
    return render(
        request,
        "attachment/policy_new.html",
        actor=actor,
        status=status,
        v=values,
        error=error,
        flags=FLAG_LABELS,
        levels=tuple(a.value for a in AtuLevel),
        al=AttachmentLabels(language(request)),
    )


@router.get("/attachment/policies/new", response_class=HTMLResponse, dependencies=[require(Can.SET_CAMPAIGN_POLICY)])
def policy_form(request: Request, session: SessionDep, actor: PolicyMaker) -> HTMLResponse:
    """Show the form of next year's campaign policy, filled in from the latest one."""
    latest = policy.list_policies(session)
    values = _defaults(clock.today())
    if latest:
        last = latest[-1]
        values.update({flag: bool(getattr(last, flag)) for flag in FLAGS})
        values.update(max_voluntary_changes_per_year=str(last.max_voluntary_changes_per_year), atu_level=last.atu_level)
        if last.year >= int(values["year"]):
            values["year"] = str(last.year + 1)
            values["window_start"], values["window_end"] = f"{last.year + 1}-09-01", f"{last.year + 1}-09-30"
    return _page(request, actor, values)


def _policy_in(form: dict[str, Any]) -> PolicyIn:
    """Return the schema of a posted form, or raise InvalidInput with a message for the page."""
    year, start, end = (
        str(form.get("year", "")).strip(),
        parse_date(form.get("window_start")),
        parse_date(form.get("window_end")),
    )
    effective = str(form.get("effective_date") or "").strip()
    if not year.isdigit() or start is None or end is None or (effective and parse_date(effective) is None):
        raise InvalidInput(MSG_POLICY_FIELDS)
    try:
        return PolicyIn(
            year=int(year),
            window_start=start,
            window_end=end,
            effective_date=parse_date(effective) if effective else None,
            max_voluntary_changes_per_year=2 if form.get("max_voluntary_changes_per_year") == "2" else 1,
            atu_level=AtuLevel.OBLAST if form.get("atu_level") == AtuLevel.OBLAST.value else AtuLevel.DISTRICT,
            source=str(form.get("source") or "")[:2000],
            **{flag: form.get(flag) == "on" for flag in FLAGS},
        )
    except ValidationError as exc:
        dates = next((e for e in exc.errors() if e["type"] == "core.invalid_dates"), None)
        if dates is not None:
            raise InvalidDates(reason=str((dates.get("ctx") or {}).get("reason", ""))) from None
        raise InvalidInput(MSG_POLICY_FIELDS) from None


@router.post("/attachment/policies/new", response_class=HTMLResponse, dependencies=[require(Can.SET_CAMPAIGN_POLICY)])
async def policy_create(request: Request, session: SessionDep, actor: PolicyMaker) -> Response:
    """Create next year's campaign; a year already recorded or a window already open is refused."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not csrf_ok(request, form.get("csrf", "")):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    values: dict[str, Any] = {**form, **{flag: form.get(flag) == "on" for flag in FLAGS}}
    try:
        data = _policy_in(form)
        created = policy.create_policy(session=session, actor=actor, data=data, today=clock.today())
    except RegistryError as exc:
        session.rollback()
        return _page(request, actor, values, error=error_message(language(request), exc), status=exc.status)
    return RedirectResponse(f"/attachment/policies?created={created.year}", status_code=303)


def error_message(lang: str, exc: RegistryError) -> str:
    """Return an error's text; the reason of inconsistent dates is translated too."""
    if isinstance(exc, InvalidDates):
        return translate(lang, exc.template(), {**exc.params, "reason": translate(lang, str(exc.params["reason"]))})
    return error_text(lang, exc)


def created_notice(session: Session, lang: str, created: str) -> str:
    """Return the notice shown after a campaign was created (the year must be recorded)."""
    year = int(created) if created.isdigit() else None
    if year is None or year not in {p.year for p in policy.list_policies(session)}:
        return ""
    return translate(lang, MSG_POLICY_CREATED, {"year": year})


Counter = Annotated[Actor, require(Can.COUNT_CAPITATION)]
MSG_SNAPSHOT_DAY = N_("Enter the day of the snapshot as a date (YYYY-MM-DD).")


def _snapshot_form(
    request: Request, actor: Actor, values: dict[str, str], error: str = "", status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "attachment/fund_snapshot_new.html",
        actor=actor,
        status=status,
        v=values,
        error=error,
        al=AttachmentLabels(language(request)),
    )


@router.get("/attachment/snapshots/new", response_class=HTMLResponse, dependencies=[require(Can.COUNT_CAPITATION)])
def snapshot_form(request: Request, actor: Counter) -> HTMLResponse:
    """Show the form that takes a capitation snapshot, on today with the default age bands."""
    return _snapshot_form(request, actor, {"as_of": clock.today().isoformat(), "bands": DEFAULT_BANDS})


@router.post("/attachment/snapshots/new", response_class=HTMLResponse, dependencies=[require(Can.COUNT_CAPITATION)])
async def snapshot_take(request: Request, session: SessionDep, actor: Counter) -> Response:
    """Take the capitation snapshot of a day (A-120); a day already taken with the same bands opens as it was."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not csrf_ok(request, form.get("csrf", "")):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    values = {
        "as_of": form.get("as_of", "").strip()[:10],
        "bands": form.get("bands", "").strip()[:200] or DEFAULT_BANDS,
    }
    try:
        as_of = parse_date(values["as_of"])
        if as_of is None:
            raise InvalidInput(MSG_SNAPSHOT_DAY)
        snap = capitation.take_snapshot(
            session=session, actor=actor, as_of=as_of, today=clock.today(), bands=values["bands"], now=clock.now()
        )
    except RegistryError as exc:
        session.rollback()
        return _snapshot_form(request, actor, values, error=error_message(language(request), exc), status=exc.status)
    return RedirectResponse(f"/attachment/snapshots/{snap.id}", status_code=303)


@router.get(
    "/attachment/snapshots/{snapshot_id}", response_class=HTMLResponse, dependencies=[require(Can.COUNT_CAPITATION)]
)
def snapshot_page(snapshot_id: int, request: Request, session: SessionDep, actor: Counter) -> HTMLResponse:
    """Show a snapshot: its counts per organization, sex and age band, with its two CSV exports (A-120, A-121)."""
    snap = capitation.get_snapshot(session=session, snapshot_id=snapshot_id)
    return render(
        request,
        "attachment/fund_snapshot.html",
        actor=actor,
        snap=snap,
        bands=snap.bands.split(","),
        unverified=capitation.UNVERIFIED_BANDS if capitation.bands_unverified(snap.bands) else "",
        rows=snapshot_export.totals(session=session, snapshot=snap),
        al=AttachmentLabels(language(request)),
    )


@router.get("/attachment/snapshots/{snapshot_id}/persons.csv", dependencies=[require(Can.COUNT_CAPITATION)])
def snapshot_persons_csv(snapshot_id: int, session: SessionDep, actor: Counter) -> Response:
    """Export the persons counted in a snapshot, each with the attachment that counted them (A-121)."""
    snap = capitation.get_snapshot(session=session, snapshot_id=snapshot_id)
    return Response(
        snapshot_export.persons_csv(session=session, actor=actor, snapshot=snap),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="capitation-{snap.as_of}-persons.csv"'},
    )
