"""Reminders before a work clearance expires, to the owner and the employer, through the notify outbox (C-21).

A daily job (``emhana medbook remind --days N``) calls ``queue_reminders``. Each message's dedupe key names the
clearance entry it is about, so running the job again, on the same day or the next, queues nothing twice; a new
clearance is a new entry and gets its own reminder when its time comes.

The owner is a person. An employer is reached through each of its linked employer accounts: through the person
behind the account when it has one, otherwise through the account itself (recipient kind ``account``: its
language and e-mail are those recorded for the account in notification_contact, the log channel when none).
The texts are registered with emhana.notify.templates below (the package imports this module), so the notify
delivery job renders them through ``render`` without knowing the medical book.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.identity.models import Person
from emhana.kernel.i18n import N_, translate
from emhana.medbook import employment
from emhana.medbook.models import EmployerLink, Employment, MedicalBook
from emhana.medbook.standing import expiring
from emhana.notify.outbox import RecipientKind, enqueue
from emhana.notify.templates import register

OWNER_TEMPLATE = "medbook.clearance_expiring"
EMPLOYER_TEMPLATE = "medbook.clearance_expiring_employer"
DEFAULT_DAYS = 30

SUBJECTS = {
    OWNER_TEMPLATE: N_("Your clearance for work ends soon"),
    EMPLOYER_TEMPLATE: N_("A worker's clearance for work ends soon"),
}
BODIES = {
    OWNER_TEMPLATE: N_(
        "Your clearance for work in personal medical book No. {book_id} is valid until {valid_until} "
        "({days_left} days left). Have the periodic examination and tests done before that date."
    ),
    EMPLOYER_TEMPLATE: N_(
        "The clearance for work of {worker} ({position}) is valid until {valid_until} ({days_left} days left)."
    ),
}


@dataclass(frozen=True)
class RemindReport:
    """What one run did: books whose clearance ends in the window, rows queued, rows already queued before,
    and the reminders (queued or already queued) addressed to an employer account without a person."""

    books: int
    queued: int
    already: int
    to_accounts: int


TEMPLATES = frozenset(SUBJECTS)


def render(template: str, language: str, params: dict[str, Any]) -> tuple[str, str]:
    """Return the subject and body of a reminder in a language (kk or ru); the renderer registered with notify."""
    return translate(language, SUBJECTS[template]), translate(language, BODIES[template], params)


for _template in TEMPLATES:
    register(_template, render)


def _day(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def queue_reminders(session: Session, *, today: dt.date, within_days: int, now: dt.datetime) -> RemindReport:
    """Queue reminders for every granted clearance in force that ends within N days; the caller commits."""
    found = expiring(session, today=today, within_days=within_days)
    if not found:
        return RemindReport(0, 0, 0, 0)
    ids = [s.book_id for s in found]
    books = {
        b.id: (b, p)
        for b, p in session.execute(
            select(MedicalBook, Person).join(Person, Person.id == MedicalBook.person_id).where(MedicalBook.id.in_(ids))
        )
    }
    employers: dict[str, list[Account]] = {}
    numbers_of: dict[int, set[str]] = {book_id: set() for book_id in books}  # every current job's employer
    for job in session.scalars(select(Employment).where(Employment.book_id.in_(ids))):
        if employment.current_on(job, today):
            numbers_of[job.book_id].add(job.employer_number)
    bins: set[str] = set().union(*numbers_of.values())
    for link, account in session.execute(
        select(EmployerLink, Account)
        .join(Account, Account.id == EmployerLink.account_id)
        .where(EmployerLink.bin.in_(bins), Account.active.is_(True))
        .order_by(Account.id)
    ):
        employers.setdefault(link.bin, []).append(account)
    queued = already = to_accounts = 0
    for standing in found:
        book, person = books[standing.book_id]
        assert standing.valid_until is not None
        params = {
            "book_id": book.id,
            "valid_until": _day(standing.valid_until),
            "days_left": (standing.valid_until - today).days,
        }
        key = f"medbook:{book.id}:clearance:{standing.entry_id}:expiring"
        row = enqueue(
            session,
            kind=RecipientKind.PERSON,
            recipient_id=person.id,
            template=OWNER_TEMPLATE,
            params=params,
            dedupe_key=f"{key}:person:{person.id}",
            now=now,
        )
        queued, already = (queued + 1, already) if row is not None else (queued, already + 1)
        worker = " ".join(p for p in (person.surname, person.given_name, person.patronymic) if p)
        for account in sorted(
            {a.id: a for n in numbers_of[book.id] for a in employers.get(n, [])}.values(), key=lambda a: a.id
        ):
            kind, recipient = (
                (RecipientKind.PERSON, account.person_id)
                if account.person_id is not None
                else (RecipientKind.ACCOUNT, account.id)
            )
            to_accounts += kind is RecipientKind.ACCOUNT
            row = enqueue(
                session,
                kind=kind,
                recipient_id=recipient,
                template=EMPLOYER_TEMPLATE,
                params={**params, "worker": worker, "position": book.position},
                dedupe_key=f"{key}:employer:{account.id}",
                now=now,
            )
            queued, already = (queued + 1, already) if row is not None else (queued, already + 1)
    session.flush()
    return RemindReport(len(found), queued, already, to_accounts)
