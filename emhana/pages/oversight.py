"""Pages of oversight over reads of personal data (issue 14): for the Fund, the accounts flagged for unusual
read volume in a day; for a citizen, who read or changed their data (identity reads with their purpose among
them). Both pages read the same identity read models as any other door."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.facilities.models import Entity
from emhana.identity import oversight
from emhana.identity.labels import PURPOSES
from emhana.identity.rules import ReadPurpose
from emhana.kernel import clock
from emhana.kernel.i18n import N_, translate
from emhana.medbook.labels import PURPOSES as BOOK_PURPOSES
from emhana.web.deps import SessionDep, require
from emhana.web.render import language, render

router = APIRouter(include_in_schema=False)

Fund = Annotated[Actor, require(Can.OVERSEE_READS)]
Owner = Annotated[Actor, require(Can.SEE_OWN_RECORDS)]

ACTIONS = {
    "person.read": N_("Read your identity data"),
    "person.create": N_("Registered you"),
    "representation.create": N_("Recorded a legal representation"),
    "attachment.read": N_("Read your attachment and applications"),
    "application.read": N_("Read your attachment application"),
    "population.read": N_("Saw your attachment in the organization's list of attached people"),
    "application.approve": N_("Approved your attachment application"),
    "application.refuse": N_("Refused your attachment application"),
    "medbook.read": N_("Read your medical book"),
    "fhir.patient.read": N_("Read your identity data from a medical information system"),
    "fhir.medbook.read": N_("Read your medical book from a medical information system"),
    "medbook.list.read": N_("Saw your medical book in a list (reminders, referrals)"),
    "medbook.issue": N_("Issued your medical book"),
    "medbook.language": N_("Changed the language of your medical book"),
    "notification.contact": N_("Changed your notification settings"),
    "application.submit": N_("Filed an attachment application"),
    "attachment.open": N_("Attached you to a clinic"),
    "attachment.end": N_("Ended your attachment"),
    "signature.to_sign": N_("Opened an entry of your records to sign it"),
    "signature.attach": N_("Signed an entry of your records with an electronic signature"),
}
# The fixed purposes the doors log for reads that need no stated one (inside the reader's own population).
DOOR_PURPOSES = {
    "issue": N_("issuing the medical book"),
    "history of attachments": N_("history of attachments"),
    "attachment application": N_("attachment application"),
    "attached population": N_("work of the organization the person belongs to"),
    "own record": N_("your own request"),
    "clinics near home": N_("your own request"),
    "notification settings": N_("your own request"),
    "api read": N_("work of the organization the person belongs to"),
    "representations": N_("legal representation"),
    "identification": N_("identification"),
    "sign": N_("signing a record"),
}
OTHER_ACTION = N_("Another access to your data")


def local_time(at: dt.datetime) -> str:
    """Return an instant as Kazakhstan's date and time."""
    return at.astimezone(clock.KZ_TIME).strftime("%d.%m.%Y %H:%M")


def purpose_words(lang: str, purpose: str) -> str:
    """Return a logged purpose in words: the label of its code and the words given, else the text as logged."""
    code, _, words = purpose.partition(":")
    if code.strip() in {p.value for p in ReadPurpose}:
        label = translate(lang, PURPOSES[ReadPurpose(code.strip())])
        return f"{label}: {words.strip()}" if words.strip() else label
    known = DOOR_PURPOSES.get(purpose) or BOOK_PURPOSES.get(purpose)
    return translate(lang, known) if known else purpose


@router.get("/oversight/reads", response_class=HTMLResponse, dependencies=[require(Can.OVERSEE_READS)])
def flagged_reads(request: Request, session: SessionDep, actor: Fund) -> HTMLResponse:
    """The Fund's list of accounts that read more personal data in a day than the configured limit."""
    rows = oversight.flagged_accounts(session=session)
    ids = {r.entity_id for r in rows if r.entity_id is not None}
    entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(ids)))} if ids else {}
    return render(
        request,
        "oversight/reads.html",
        actor=actor,
        rows=rows,
        entities=entities,
        when=local_time,
        limit=request.app.state.settings.read_flag_threshold,
    )


@router.get("/me/reads", response_class=HTMLResponse, dependencies=[require(Can.SEE_OWN_RECORDS)])
def my_reads(request: Request, session: SessionDep, actor: Owner) -> HTMLResponse:
    """The citizen's own log: who read or changed their data, when and why."""
    rows = (
        oversight.access_log(session=session, person_id=actor.person_id, account_id=actor.account_id)
        if actor.person_id is not None
        else []
    )
    lang = language(request)
    ids = {r.entity_id for r in rows if r.entity_id is not None}
    entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(ids)))} if ids else {}
    return render(
        request,
        "oversight/my_reads.html",
        actor=actor,
        rows=rows,
        entities=entities,
        when=local_time,
        action=lambda a: translate(lang, ACTIONS.get(a, OTHER_ACTION)),
        why=lambda p: purpose_words(lang, p),
    )
