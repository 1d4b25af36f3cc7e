"""The citizen's notification settings: the language of their notices (kk or ru) and an e-mail address.

The choice is stored by emhana.notify.outbox.set_contact and used by every later message (A-100).
The address is optional; without one, messages go to the personal account (the log channel).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.kernel.i18n import N_, translate
from emhana.notify.outbox import NOTICE_LANGUAGES, RecipientKind, contact_of, set_contact
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, language, render, render_error

router = APIRouter(include_in_schema=False)

Owner = Annotated[Actor, require(Can.SET_OWN_PREFERENCES)]
FormText = Annotated[str, Form(max_length=300)]
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}")
MSG_EMAIL = N_("The e-mail address is not valid.")
MSG_LANGUAGE = N_("Choose Kazakh or Russian.")
MSG_SAVED = N_("Your notification settings are saved.")
MSG_NO_PERSON = N_("Your account is not linked to a person in the registry.")
LANGUAGE_NAMES = {"kk": "Қазақ тілі", "ru": "Русский язык"}


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    language_code: str | None = None,
    email: str | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    stored = contact_of(session, RecipientKind.PERSON, actor.person_id) if actor.person_id else None
    return render(
        request,
        "attachment/notifications.html",
        actor=actor,
        status=status,
        error=error,
        notice=notice,
        chosen=language_code if language_code is not None else (stored.language if stored else "") or "",
        email=email if email is not None else (stored.email if stored else "") or "",
        languages=LANGUAGE_NAMES,
        linked=actor.person_id is not None,
    )


@router.get("/attachment/notifications", response_class=HTMLResponse, dependencies=[require(Can.SET_OWN_PREFERENCES)])
def settings(request: Request, session: SessionDep, actor: Owner, saved: str = "") -> HTMLResponse:
    """Show the citizen's notification language and e-mail."""
    lang = language(request)
    return _page(
        request,
        session,
        actor,
        notice=translate(lang, MSG_SAVED) if saved == "1" else "",
        error="" if actor.person_id else translate(lang, MSG_NO_PERSON),
    )


@router.post("/attachment/notifications", response_class=HTMLResponse, dependencies=[require(Can.SET_OWN_PREFERENCES)])
def save(
    request: Request,
    session: SessionDep,
    actor: Owner,
    csrf: FormText = "",
    notice_language: FormText = "",
    email: FormText = "",
) -> Response:
    """Store the citizen's notification language (kk or ru) and e-mail (empty: none)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    lang = language(request)
    address = email.strip()
    if actor.person_id is None:
        return _page(request, session, actor, error=translate(lang, MSG_NO_PERSON), status=403)
    error = (
        MSG_LANGUAGE
        if notice_language not in NOTICE_LANGUAGES
        else MSG_EMAIL
        if address and (len(address) > 254 or not EMAIL.fullmatch(address))
        else ""
    )
    if error:
        return _page(
            request,
            session,
            actor,
            language_code=notice_language,
            email=address,
            error=translate(lang, error),
            status=422,
        )
    set_contact(
        session=session,
        kind=RecipientKind.PERSON,
        recipient_id=actor.person_id,
        language=notice_language,
        email=address or None,
    )
    record_event(
        session=session,
        actor=actor,
        action="notification.contact",
        object_type="person",
        object_id=str(actor.person_id),
        subject_person_id=actor.person_id,
        purpose="notification settings",
    )
    return RedirectResponse("/attachment/notifications?saved=1", status_code=303)
