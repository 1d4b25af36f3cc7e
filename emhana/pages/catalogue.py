"""The public catalogue of decreed groups (§3.7, C-22, C-51–C-53): the groups in force with their examinations
and tests by name, when each is required, how often, of whom and on what authority, the unverified ones marked,
and the closed 2015 scope as history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from emhana.kernel import clock
from emhana.medbook.catalogue_versions import SCHEDULES, SEXES, public_catalogue
from emhana.web.deps import OptionalActor, SessionDep, public
from emhana.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/medbook/groups", response_class=HTMLResponse, dependencies=[public()])
def groups_page(request: Request, session: SessionDep, actor: OptionalActor) -> HTMLResponse:
    """Show the decreed groups in force and the closed ones, each item with its schedule and mark."""
    in_force, history = public_catalogue(session=session, day=clock.today())
    return render(
        request,
        "medbook/catalogue.html",
        actor=actor,
        groups=in_force,
        history=history,
        schedules=SCHEDULES,
        sexes=SEXES,
    )
