"""The desk's list of an organization's books: the books it keeps (issued there) or has recorded in, each with
its owner's name, decreed group, clearance status and "valid until", optionally only those whose clearance ends
within N days, a page at a time (C-20, C-21).

The clearance of the page's books comes from one set-based query (``standing.standings``; the "due within"
filter is the reminders' query, ``standing.expiring``), and every line shown is logged as a read of its book
(``views._log_listed``), as the other lists are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.identity.models import Person
from emhana.kernel.errors import Forbidden
from emhana.medbook.group_names import names_of
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.rules import ClearanceStatus
from emhana.medbook.standing import expiring, standings
from emhana.medbook.views import _log_listed

BOOKS_PURPOSE = "the organization's books"
PER_PAGE = 50
MAX_WITHIN_DAYS = 366


@dataclass(frozen=True)
class BookLine:
    """One line of the list: who, which decreed group, and the clearance standing today."""

    book_id: int
    surname: str
    given_name: str
    patronymic: str | None
    position: str
    group_code: str
    group_names: dict[str, str]  # name_kk, name_ru, name_en (empty for a group no catalogue knows)
    status: ClearanceStatus
    valid_until: dt.date | None
    kept_here: bool  # issued by the reader's organization (else only recorded in)

    def group_name(self, lang: str) -> str:
        """Return the group's name in a language (Russian when it has none there)."""
        return self.group_names.get(f"name_{lang}") or self.group_names.get("name_ru") or self.group_code


@dataclass(frozen=True)
class BooksPage:
    items: list[BookLine]
    page: int
    per_page: int
    total: int
    within_days: int | None

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total


def books_of_organization(entity_id: int) -> Select[int]:
    """Return the query of the ids of the books an organization keeps or has recorded an entry in."""
    recorded = select(JournalEntry.book_id).where(JournalEntry.entity_id == entity_id)
    return select(MedicalBook.id).where(or_(MedicalBook.entity_id == entity_id, MedicalBook.id.in_(recorded)))


def books(
    *,
    session: Session,
    actor: Actor,
    today: dt.date,
    within_days: int | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> BooksPage:
    """Return a page of the actor's organization's books, by surname; with ``within_days``, only the books whose
    granted clearance ends within that many days, the soonest first (C-21). Each line shown is logged."""
    if actor.entity_id is None:
        raise Forbidden()
    page = max(page, 1)
    ours = books_of_organization(actor.entity_id)
    if within_days is not None:
        within_days = min(max(within_days, 0), MAX_WITHIN_DAYS)
        due = expiring(session, today=today, within_days=within_days, books=ours)
        total = len(due)
        chosen = [s.book_id for s in due[(page - 1) * per_page : page * per_page]]
    else:
        total = session.scalar(select(func.count()).select_from(ours.subquery())) or 0
        chosen = list(
            session.scalars(
                select(MedicalBook.id)
                .join(Person, Person.id == MedicalBook.person_id)
                .where(MedicalBook.id.in_(ours))
                .order_by(Person.surname, Person.given_name, MedicalBook.id)
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
        )
    return BooksPage(
        items=_lines(session, actor, chosen, today),
        page=page,
        per_page=per_page,
        total=total,
        within_days=within_days,
    )


def _lines(session: Session, actor: Actor, chosen: list[int], today: dt.date) -> list[BookLine]:
    """Return the lines of the chosen books in the order given, and log each as a read of its book."""
    if not chosen:
        return []
    standing = standings(session, select(MedicalBook.id).where(MedicalBook.id.in_(chosen)), today)
    rows = {
        book.id: (book, person)
        for book, person in session.execute(
            select(MedicalBook, Person)
            .join(Person, Person.id == MedicalBook.person_id)
            .where(MedicalBook.id.in_(chosen))
        )
    }
    groups = names_of(session, (book.group_code for book, _ in rows.values()))
    out = []
    for book_id in chosen:
        book, person = rows[book_id]
        _log_listed(session, actor, book.id, person.id, BOOKS_PURPOSE)
        s = standing[book.id]
        out.append(
            BookLine(
                book_id=book.id,
                surname=person.surname,
                given_name=person.given_name,
                patronymic=person.patronymic,
                position=book.position,
                group_code=book.group_code,
                group_names=groups.get(book.group_code, {}),
                status=s.status,
                valid_until=s.valid_until,
                kept_here=book.entity_id == actor.entity_id,
            )
        )
    return out
