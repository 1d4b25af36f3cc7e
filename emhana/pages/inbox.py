"""The citizen's notifications in her account (issue 16): what the registry told her and the children she
represents, newest first, in the language of the page. The settings page (/attachment/notifications) says where
else they go."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment.reports import names_for
from emhana.kernel import clock
from emhana.notify.inbox import inbox
from emhana.pages.oversight import local_time
from emhana.web.deps import SessionDep, require
from emhana.web.render import language, render

router = APIRouter(include_in_schema=False)
Owner = Annotated[Actor, require(Can.SEE_OWN_RECORDS)]


@router.get("/me/notifications", response_class=HTMLResponse, dependencies=[require(Can.SEE_OWN_RECORDS)])
def my_notifications(request: Request, session: SessionDep, actor: Owner) -> HTMLResponse:
    """List the citizen's notifications and those of the persons she represents, newest first."""
    messages = inbox(session=session, actor=actor, language=language(request), day=clock.today(), now=clock.now())
    names = names_for(session, [], sorted({m.person_id for m in messages}))
    return render(
        request,
        "notifications/inbox.html",
        actor=actor,
        messages=messages,
        names=names,
        when=local_time,
        unread=sum(1 for m in messages if m.new),
        linked=actor.person_id is not None,
    )
