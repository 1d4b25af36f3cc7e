"""Telling both people when a legal representation is recorded (issue 14, A-24, A-65), through the notify outbox.

Identity records the representation and runs the handlers registered with emhana.identity.access; identity sits
below notify, so the messages are queued from here, in the same transaction, and their texts are registered
with emhana.notify.templates (the attachment package imports this module). The represented person learns who
acts for them and on which document; the representative learns for whom. No IIN is in either message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.identity import access
from emhana.identity.labels import BASES, DOCUMENTS
from emhana.identity.models import LegalRepresentation, Person
from emhana.identity.rules import BasisDocument, RepresentationBasis
from emhana.kernel.i18n import N_, translate
from emhana.notify.outbox import RecipientKind, enqueue
from emhana.notify.templates import register

TO_REPRESENTED = "identity.representation_for_you"
TO_REPRESENTATIVE = "identity.representation_by_you"

SUBJECTS = {
    TO_REPRESENTED: N_("A legal representative is recorded for you"),
    TO_REPRESENTATIVE: N_("You are recorded as a legal representative"),
}
BODIES = {
    TO_REPRESENTED: N_(
        "{other} is recorded as your legal representative ({basis}) {period}, on the {document} No. {number}. "
        "They may read your identity data and apply for attachment on your behalf. If this is wrong, "
        "tell your clinic or the Social Health Insurance Fund."
    ),
    TO_REPRESENTATIVE: N_(
        "You are recorded as the legal representative ({basis}) of {other} {period}, on the {document} No. {number}."
    ),
}
PERIOD_OPEN = N_("from {start}")
PERIOD_CLOSED = N_("from {start} until {end}")


def render(template: str, language: str, params: dict[str, Any]) -> tuple[str, str]:
    """Return the subject and body of a representation message in a language; registered with notify."""
    end = params.get("end")
    period = (
        translate(language, PERIOD_CLOSED, {"start": params["start"], "end": end})
        if end
        else translate(language, PERIOD_OPEN, {"start": params["start"]})
    )
    basis = translate(language, BASES[RepresentationBasis(params["basis"])])
    document = translate(language, DOCUMENTS[BasisDocument(params["document"])])
    body = translate(
        language,
        BODIES[template],
        {"other": params["other"], "basis": basis, "period": period, "document": document, "number": params["number"]},
    )
    return translate(language, SUBJECTS[template]), body


for _template in SUBJECTS:
    register(_template, render)


def _day(value: dt.date | None) -> str | None:
    return value.strftime("%d.%m.%Y") if value is not None else None


def _name(p: Person) -> str:
    return " ".join(part for part in (p.surname, p.given_name, p.patronymic) if part)


def notify_both(session: Session, actor: Actor, row: LegalRepresentation, now: dt.datetime) -> None:
    """Queue one message to the represented person and one to the representative."""
    del actor
    people = {
        p.id: p
        for p in session.scalars(select(Person).where(Person.id.in_([row.represented_id, row.representative_id])))
    }
    common = {
        "basis": row.basis,
        "document": row.document_kind,
        "number": row.document_number,
        "start": _day(row.valid_from),
        "end": _day(row.valid_to),
    }
    for template, to, other in (
        (TO_REPRESENTED, row.represented_id, row.representative_id),
        (TO_REPRESENTATIVE, row.representative_id, row.represented_id),
    ):
        enqueue(
            session,
            kind=RecipientKind.PERSON,
            recipient_id=to,
            template=template,
            params={**common, "other": _name(people[other])},
            dedupe_key=f"representation:{row.id}:recorded:person:{to}",
            now=now,
        )


access.on_representation("attachment.notify_both", notify_both)
