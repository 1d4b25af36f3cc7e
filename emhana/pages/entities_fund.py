"""The Fund's pages of the database of healthcare entities: every entity with its status, one entity's inclusion
history with the form that includes or excludes it from a date with a reason (B-05, B-06), and what the
redistribution of an excluded entity's people did (A-94, journey 4).

The form goes through the same use case as POST /api/v1/facilities/entities/{id}/inclusions
(facilities.service.change_inclusion): an exclusion redistributes the entity's people in the same transaction.
After an exclusion the Fund lands on the redistribution's page (attachment.redistribution_report): how many
people moved, to which organizations, who was placed beyond a district's capacity and who was left without a
clinic. Errors re-render the form with what was typed.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment import placement, redistribution_report
from emhana.attachment.campaign import policy
from emhana.facilities import contract, listing, service
from emhana.facilities.rules import InclusionStatus, period_on
from emhana.kernel import clock
from emhana.kernel.errors import InvalidInput, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.pages.attachment.fund import error_message
from emhana.pages.attachment.views import AttachmentLabels, parse_date
from emhana.web.deps import SessionDep, require
from emhana.web.render import (
    MSG_CSRF,
    MSG_REFUSED,
    PAGE_SIZE,
    csrf_ok,
    language,
    page_url,
    parse_page,
    render,
    render_error,
)

router = APIRouter(include_in_schema=False)

Decider = Annotated[Actor, require(Can.DECIDE_INCLUSION)]
Administrator = Annotated[Actor, require(Can.ADMINISTER_ATTACHMENTS)]

MSG_INCLUSION_FIELDS = N_("Choose include or exclude, enter the date it takes effect (YYYY-MM-DD) and the reason.")
MSG_CONTRACT_FIELDS = N_("Enter the last day of the contract (YYYY-MM-DD) and the reason.")
MSG_INCLUDED = N_("The organization is included in the database from {day}.")
MSG_REDISTRIBUTED = N_("The remaining people were redistributed: {moved} moved, {unplaced} without a place.")
# Common grounds of an exclusion or inclusion (B-05); the Fund may type any other.
REASONS = (
    N_("The licence was revoked or suspended"),
    N_("The organization is liquidated or reorganized"),
    N_("At the organization's own request"),
    N_("False information or unfair supply was found"),
    N_("The application was checked against the requirements"),
)


def _entity_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    entity_id: int,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
    notice: str = "",
    ended: dict[str, str] | None = None,
    contract_error: str = "",
) -> HTMLResponse:
    entity = service.get_entity(session=session, entity_id=entity_id)
    today = clock.today()
    current = period_on(entity.inclusions, today)
    excluded = current is not None and current.status == InclusionStatus.EXCLUDED.value
    lang = language(request)
    v = values or {
        "status": InclusionStatus.INCLUDED.value if excluded or current is None else InclusionStatus.EXCLUDED.value,
        "effective_from": (today + dt.timedelta(days=1)).isoformat(),
        "reason": "",
    }
    return render(
        request,
        "attachment/fund_entity.html",
        actor=actor,
        status=status,
        entity=entity,
        current=current,
        history=list(reversed(entity.inclusions)),
        v=v,
        error=error,
        notice=notice,
        reasons=[translate(lang, r) for r in REASONS],
        ended=ended or {"last_day": today.isoformat(), "reason": ""},
        contract_error=contract_error,
    )


@router.get("/fund/entities", response_class=HTMLResponse, dependencies=[require(Can.DECIDE_INCLUSION)])
def entities(request: Request, session: SessionDep, actor: Decider, q: str = "", page: str = "1") -> HTMLResponse:
    """List every entity of the database with its status today, searchable by name or BIN."""
    q = q.strip()[:100]
    page_no = parse_page(page)
    total, rows = listing.list_entities(
        session=session, day=clock.today(), q=q, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "attachment/fund_entities.html",
        actor=actor,
        q=q,
        rows=rows,
        total=total,
        page=page_no,
        pages=pages,
        prev_url=page_url(request, page=page_no - 1) if page_no > 1 else None,
        next_url=page_url(request, page=page_no + 1) if page_no < pages else None,
    )


@router.get("/fund/entities/{entity_id}", response_class=HTMLResponse, dependencies=[require(Can.DECIDE_INCLUSION)])
def entity(entity_id: int, request: Request, session: SessionDep, actor: Decider, included: str = "") -> HTMLResponse:
    """Show an entity's status and inclusion history with the form that includes or excludes it (B-05)."""
    day = parse_date(included)
    notice = translate(language(request), MSG_INCLUDED, {"day": day.strftime("%d.%m.%Y")}) if day else ""
    return _entity_page(request, session, actor, entity_id, notice=notice)


@router.post("/fund/entities/{entity_id}", response_class=HTMLResponse, dependencies=[require(Can.DECIDE_INCLUSION)])
async def change_inclusion(entity_id: int, request: Request, session: SessionDep, actor: Decider) -> Response:
    """Include or exclude the entity from a date with a reason; an exclusion redistributes its people (A-94)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not csrf_ok(request, form.get("csrf", "")):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    values = {
        "status": form.get("status", ""),
        "effective_from": form.get("effective_from", "").strip()[:10],
        "reason": " ".join(form.get("reason", "").split())[:300],
    }
    try:
        entity_row = service.get_entity(session=session, entity_id=entity_id)
        day = parse_date(values["effective_from"])
        if values["status"] not in {s.value for s in InclusionStatus} or day is None or not values["reason"]:
            raise InvalidInput(MSG_INCLUSION_FIELDS)
        period = service.change_inclusion(
            session=session,
            actor=actor,
            entity=entity_row,
            status=InclusionStatus(values["status"]),
            effective_from=day,
            reason=values["reason"],
        )
    except RegistryError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        message = error_message(language(request), exc)
        return _entity_page(request, session, actor, entity_id, values=values, error=message, status=exc.status)
    if period.status == InclusionStatus.EXCLUDED.value:
        return RedirectResponse(f"/fund/entities/{entity_id}/redistribution", status_code=303)
    return RedirectResponse(f"/fund/entities/{entity_id}?included={period.effective_from}", status_code=303)


@router.post(
    "/fund/entities/{entity_id}/contract", response_class=HTMLResponse, dependencies=[require(Can.DECIDE_INCLUSION)]
)
async def end_contract(entity_id: int, request: Request, session: SessionDep, actor: Decider) -> Response:
    """Record that the entity's Fund contract ends early (B-06); its people are redistributed from the next day
    (A-94), and the Fund lands on the redistribution's page."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not csrf_ok(request, form.get("csrf", "")):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    ended = {
        "last_day": form.get("last_day", "").strip()[:10],
        "reason": " ".join(form.get("reason", "").split())[:300],
    }
    try:
        service.get_entity(session=session, entity_id=entity_id)
        day = parse_date(ended["last_day"])
        if day is None or not ended["reason"]:
            raise InvalidInput(MSG_CONTRACT_FIELDS)
        contract.end_contract(session=session, actor=actor, entity_id=entity_id, last_day=day, reason=ended["reason"])
    except RegistryError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        message = error_message(language(request), exc)
        return _entity_page(request, session, actor, entity_id, ended=ended, contract_error=message, status=exc.status)
    return RedirectResponse(f"/fund/entities/{entity_id}/redistribution", status_code=303)


def _report_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    entity_id: int,
    notice: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    found = redistribution_report.report(session=session, actor=actor, entity_id=entity_id, today=clock.today())
    return render(
        request,
        "attachment/fund_redistribution.html",
        actor=actor,
        status=status,
        r=found,
        notice=notice,
        error=error,
        al=AttachmentLabels(language(request)),
    )


@router.get(
    "/fund/entities/{entity_id}/redistribution",
    response_class=HTMLResponse,
    dependencies=[require(Can.DECIDE_INCLUSION)],
)
def redistribution(
    entity_id: int, request: Request, session: SessionDep, actor: Decider, moved: str = "", unplaced: str = ""
) -> HTMLResponse:
    """Show what the redistribution after the entity's latest exclusion did (A-94): people moved, where to,
    who is beyond a district's capacity and who was left without a clinic."""
    notice = ""
    if moved.isdigit() and unplaced.isdigit():
        notice = translate(language(request), MSG_REDISTRIBUTED, {"moved": moved, "unplaced": unplaced})
    return _report_page(request, session, actor, entity_id, notice=notice)


@router.post(
    "/fund/entities/{entity_id}/redistribution",
    response_class=HTMLResponse,
    dependencies=[require(Can.ADMINISTER_ATTACHMENTS)],
)
async def redistribute(entity_id: int, request: Request, session: SessionDep, actor: Administrator) -> Response:
    """Redistribute the people still attached to an entity that no longer takes part (A-94, B-06): after a lost
    contract, or if some were left when it was excluded."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not csrf_ok(request, form.get("csrf", "")):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    today = clock.today()
    try:
        moved, unplaced = placement.redistribute(
            session=session,
            actor=actor,
            entity_id=entity_id,
            on=today,
            today=today,
            policy=policy.policy_for(session, today),
        )
    except RegistryError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _report_page(
            request, session, actor, entity_id, error=error_message(language(request), exc), status=exc.status
        )
    return RedirectResponse(
        f"/fund/entities/{entity_id}/redistribution?moved={moved}&unplaced={len(unplaced)}", status_code=303
    )
