"""Telling the worker, her employer and the receiving clinic that a clearance was suspended (C-30), via the outbox.

``notify_suspended`` is called by the journal in the same transaction as the suspension entry, so the messages
are queued exactly when the suspension lands. Each message's dedupe key names the suspension entry, so nothing
is queued twice for one suspension. The employer's message says only that clearance is suspended: never the
result, the test or the diagnosis that caused it (the employer reads status and dates only). The texts are
registered with emhana.notify.templates below (the package imports this module).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.facilities.models import Entity
from emhana.identity.models import Person
from emhana.kernel.i18n import N_, translate
from emhana.medbook import employment
from emhana.medbook.models import EmployerLink, JournalEntry, MedicalBook
from emhana.notify.outbox import RecipientKind, enqueue
from emhana.notify.templates import register

WORKER_TEMPLATE = "medbook.clearance_suspended"
EMPLOYER_TEMPLATE = "medbook.clearance_suspended_employer"
CLINIC_TEMPLATE = "medbook.referral_received"

SUBJECTS = {
    WORKER_TEMPLATE: N_("Your clearance for work is suspended"),
    EMPLOYER_TEMPLATE: N_("A worker's clearance for work is suspended"),
    CLINIC_TEMPLATE: N_("A worker is referred to your organization"),
}
BODIES = {
    WORKER_TEMPLATE: N_(
        "Your clearance for work in personal medical book No. {book_id} is suspended from {day}. You are referred "
        "for treatment or sanitation to {clinic}. To return to work you need a new examination with negative "
        "control tests and a new clearance."
    ),
    EMPLOYER_TEMPLATE: N_(
        "The clearance for work of {worker} ({position}) is suspended from {day}. Do not admit the worker to this "
        "work until a new clearance is recorded in the personal medical book."
    ),
    CLINIC_TEMPLATE: N_(
        "{worker}, personal medical book No. {book_id}, is referred to your organization for treatment or "
        "sanitation from {day}; the clearance for work is suspended. The referral is in the worker's book."
    ),
}
NO_CLINIC = N_("the primary health care organization at your place of residence")

TEMPLATES = frozenset(SUBJECTS)


def render(template: str, language: str, params: dict[str, Any]) -> tuple[str, str]:
    """Return the subject and body of a suspension message in a language; the renderer registered with notify."""
    clinic = params.get("clinic_kk") if language == "kk" else params.get("clinic_ru")
    values = {**params, "clinic": clinic or translate(language, NO_CLINIC)}
    return translate(language, SUBJECTS[template]), translate(language, BODIES[template], values)


for _template in TEMPLATES:
    register(_template, render)


def _employers(session: Session, book: MedicalBook, day: dt.date) -> list[Account]:
    """Return the active accounts linked to the worker's current employers (every current job, issue 15)."""
    numbers = {job.employer_number for job in employment.current(session=session, book_id=book.id, day=day)}
    return list(
        session.scalars(
            select(Account)
            .join(EmployerLink, EmployerLink.account_id == Account.id)
            .where(EmployerLink.bin.in_(sorted(numbers)), Account.active.is_(True))
            .order_by(Account.id)
        )
    )


def notify_suspended(
    session: Session,
    *,
    book: MedicalBook,
    suspension: JournalEntry,
    clinic_id: int | None,
    now: dt.datetime,
) -> int:
    """Queue the suspension's messages to the worker, each linked employer account and the receiving clinic;
    return how many were queued. The caller commits."""
    person = session.get(Person, book.person_id)
    clinic = session.get(Entity, clinic_id) if clinic_id is not None else None
    worker = " ".join(p for p in (person.surname, person.given_name, person.patronymic) if p) if person else ""
    common = {"book_id": book.id, "day": suspension.performed_on.strftime("%d.%m.%Y")}
    key = f"medbook:{book.id}:suspension:{suspension.id}"
    queued = []
    if person is not None:
        params = {
            **common,
            "clinic_kk": clinic.name_kk if clinic else "",
            "clinic_ru": clinic.name_ru if clinic else "",
        }
        queued.append(
            enqueue(
                session,
                kind=RecipientKind.PERSON,
                recipient_id=person.id,
                template=WORKER_TEMPLATE,
                params=params,
                dedupe_key=f"{key}:person:{person.id}",
                now=now,
            )
        )
    for account in _employers(session, book, suspension.performed_on):
        kind, recipient = (
            (RecipientKind.PERSON, account.person_id)
            if account.person_id is not None
            else (RecipientKind.ACCOUNT, account.id)
        )
        queued.append(
            enqueue(
                session,
                kind=kind,
                recipient_id=recipient,
                template=EMPLOYER_TEMPLATE,
                params={**common, "worker": worker, "position": book.position},
                dedupe_key=f"{key}:employer:{account.id}",
                now=now,
            )
        )
    if clinic is not None:
        queued.append(
            enqueue(
                session,
                kind=RecipientKind.ENTITY,
                recipient_id=clinic.id,
                template=CLINIC_TEMPLATE,
                params={**common, "worker": worker},
                dedupe_key=f"{key}:entity:{clinic.id}",
                now=now,
            )
        )
    session.flush()
    return sum(row is not None for row in queued)
