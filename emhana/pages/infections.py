"""The Fund's page of infection rules (C-30): the diagnoses and carrier states that bar work in decreed groups
while active, with their kk/ru/en names and whether the list is verified; a form to add a rule and a button to
end one (a rule is never edited in place). emhana.medbook.infections decides; a refused form comes back with
what was typed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel import clock
from emhana.kernel.errors import RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.medbook import catalogue, infections
from emhana.medbook.infections import EndRuleIn, InfectionRuleIn
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, language, render, render_error

router = APIRouter(include_in_schema=False)

Fund = Annotated[Actor, require(Can.SET_DECREED_GROUPS)]
Text = Annotated[str, Form(max_length=300)]
PATH = "/medbook/infections"
MSG_FILL = N_(
    "Fill in the code, whether it is a diagnosis or a carrier state, the three names and the day the rule takes effect."
)
MSG_END_DAY = N_("Give the day the rule ends.")
DONE = {
    "added": N_("The rule was added."),
    "ended": N_("The rule was ended."),
}
KINDS = {
    "diagnosis": N_("Diagnosis"),
    "carrier": N_("Carrier state"),
}
BLANK = {"code": "", "kind": "diagnosis", "name_kk": "", "name_ru": "", "name_en": "", "source": "", "valid_from": ""}


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    typed: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    verified: bool = False,
    error: str = "",
    status: int = 200,
    done: str = "",
) -> HTMLResponse:
    """Render every rule (in force and ended) with the form to add one, keeping what was typed."""
    lang, today = language(request), clock.today()
    groups = {g.code: g for g in catalogue.list_in_force(session=session, day=today)}
    return render(
        request,
        "medbook/infections.html",
        actor=actor,
        status=status,
        rules=infections.listing(session=session, day=today),
        groups=groups,
        kinds=KINDS,
        typed=typed or {**BLANK, "valid_from": today.isoformat()},
        chosen=chosen or [],
        verified=verified,
        today=today.isoformat(),
        error=error,
        done=translate(lang, DONE[done]) if done in DONE else "",
    )


@router.get(PATH, response_class=HTMLResponse)
def rules_page(request: Request, session: SessionDep, actor: Fund, done: str = "") -> HTMLResponse:
    """Show the infection rules with the form to add one."""
    return _page(request, session, actor, done=done)


@router.post(PATH, response_class=HTMLResponse)
def add(
    request: Request,
    session: SessionDep,
    actor: Fund,
    csrf: Text = "",
    code: Annotated[str, Form(max_length=40)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    name_kk: Text = "",
    name_ru: Text = "",
    name_en: Text = "",
    groups: Annotated[list[str] | None, Form()] = None,
    source: Annotated[str, Form(max_length=2000)] = "",
    verified: Annotated[str, Form(max_length=10)] = "",
    valid_from: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Add a rule; a refusal shows the form again with what was typed and why."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {
        "code": code.strip(),
        "kind": kind,
        "name_kk": name_kk.strip(),
        "name_ru": name_ru.strip(),
        "name_en": name_en.strip(),
        "source": source.strip(),
        "valid_from": valid_from.strip(),
    }
    chosen = [g for g in (groups or []) if g]
    keep = {"typed": typed, "chosen": chosen, "verified": bool(verified)}
    try:
        data = InfectionRuleIn.model_validate({**typed, "groups": chosen, "verified": bool(verified)})
    except ValidationError:
        error = translate(language(request), MSG_FILL)
        return _page(request, session, actor, **keep, error=error, status=422)  # type: ignore[arg-type]
    try:
        infections.add_rule(session=session, actor=actor, data=data, now=clock.now())
    except RegistryError as exc:
        error = translate(language(request), exc.template(), exc.params)
        return _page(request, session, actor, **keep, error=error, status=exc.status)  # type: ignore[arg-type]
    return RedirectResponse(f"{PATH}?done=added", status_code=303)


@router.post(PATH + "/{rule_id}/end", response_class=HTMLResponse)
def end(
    request: Request,
    session: SessionDep,
    actor: Fund,
    rule_id: int,
    csrf: Text = "",
    valid_to: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """End a rule on the day given (today by default)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        data = EndRuleIn(valid_to=dt.date.fromisoformat(valid_to.strip()) if valid_to.strip() else clock.today())
    except ValueError:
        return _page(request, session, actor, error=translate(language(request), MSG_END_DAY), status=422)
    try:
        infections.end_rule(session=session, actor=actor, rule_id=rule_id, data=data, now=clock.now())
    except RegistryError as exc:
        error = translate(language(request), exc.template(), exc.params)
        return _page(request, session, actor, error=error, status=exc.status)
    return RedirectResponse(f"{PATH}?done=ended", status_code=303)
