"""The incoming referrals page of a PHC organization (C-30, C-31): the workers referred to it after an infection
or carrier finding, each with the item's name, the day, the referring organization, open or closed and whether
it is acknowledged, and an Acknowledge button; below, the referrals its own organization recorded without a
receiving organization yet. No IIN is shown in a URL; every listed book is logged as a read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel import clock
from emhana.kernel.errors import RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.medbook import referrals
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, language, render, render_error

router = APIRouter(include_in_schema=False)

Receiver = Annotated[Actor, require(Can.RECEIVE_REFERRALS)]

MSG_ACKNOWLEDGED = N_("The referral is acknowledged; the worker and the referring organization are told.")


def _page(
    request: Request, session: SessionDep, actor: Actor, *, notice: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "medbook/referrals.html",
        actor=actor,
        status=status,
        incoming=referrals.incoming(session=session, actor=actor),
        untargeted=referrals.without_target(session=session, actor=actor),
        notice=notice,
        error=error,
    )


@router.get("/medbook/referrals", response_class=HTMLResponse, dependencies=[require(Can.RECEIVE_REFERRALS)])
def incoming(request: Request, session: SessionDep, actor: Receiver, done: str = "") -> HTMLResponse:
    """Show the referrals to the actor's organization and those it recorded without a receiving organization."""
    notice = translate(language(request), MSG_ACKNOWLEDGED) if done == "acknowledged" else ""
    return _page(request, session, actor, notice=notice)


@router.post("/medbook/referrals/{entry_id}/acknowledge", dependencies=[require(Can.RECEIVE_REFERRALS)])
def acknowledge(
    request: Request,
    session: SessionDep,
    actor: Receiver,
    entry_id: int,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Acknowledge a referral to the actor's organization (once; a repeat changes nothing)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        referrals.acknowledge(session=session, actor=actor, entry_id=entry_id, now=clock.now())
    except RegistryError as exc:
        session.rollback()
        message = translate(language(request), exc.template(), exc.params)
        return _page(request, session, actor, error=message, status=exc.status)
    return RedirectResponse("/medbook/referrals?done=acknowledged", status_code=303)
