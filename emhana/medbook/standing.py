"""Clearance standing of many books in one query (docs/scale.md: 1.6 M books): the clearance entry in force per book.

The choice is the one ``service.latest_clearance`` makes for one book, done set-based with a window function:
among a book's clearance entries that no correction superseded, the latest by date, then by recording order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.rules import ClearanceStatus, EntryKind, status_on

SIGNED = "signed"  # JournalEntry.signature_state once its author's signature is verified (C-40)


@dataclass(frozen=True)
class Standing:
    """A book's clearance in force: the entry, its status today and its dates (None when never decided)."""

    book_id: int
    entry_id: int | None
    status: ClearanceStatus
    decided_on: dt.date | None
    valid_until: dt.date | None


def in_force(books: Select[int] | None = None) -> Select[int, int, str | None, dt.date, dt.date | None]:
    """Return a query of (book_id, entry_id, clearance, performed_on, valid_until) of each book's clearance in
    force; ``books`` (a query of book ids) narrows the books looked at before ranking."""
    superseded = select(JournalEntry.supersedes_id).where(JournalEntry.supersedes_id.is_not(None))
    rank = func.row_number().over(
        partition_by=JournalEntry.book_id, order_by=(JournalEntry.performed_on.desc(), JournalEntry.id.desc())
    )
    conditions: list[ColumnElement[bool]] = [
        JournalEntry.kind == EntryKind.CLEARANCE.value,
        JournalEntry.id.not_in(superseded),
        # service.counts: a grant counts once signed (C-06, C-40); a refusal or a suspension at once (C-30)
        or_(JournalEntry.clearance != ClearanceStatus.GRANTED.value, JournalEntry.signature_state == SIGNED),
    ]
    if books is not None:
        conditions.append(JournalEntry.book_id.in_(books))
    ranked = (
        select(
            JournalEntry.book_id,
            JournalEntry.id.label("entry_id"),
            JournalEntry.clearance,
            JournalEntry.performed_on,
            JournalEntry.valid_until,
            rank.label("rank"),
        )
        .where(and_(*conditions))
        .subquery()
    )
    return select(
        ranked.c.book_id, ranked.c.entry_id, ranked.c.clearance, ranked.c.performed_on, ranked.c.valid_until
    ).where(ranked.c.rank == 1)


def standings(session: Session, books: Select[int], today: dt.date) -> dict[int, Standing]:
    """Return the standing today of every book of a query of book ids, in one round trip (C-20, C-21)."""
    found = {
        row.book_id: Standing(
            row.book_id,
            row.entry_id,
            status_on(row.clearance, row.valid_until, today),
            row.performed_on,
            row.valid_until,
        )
        for row in session.execute(in_force(books))
    }
    return {
        book_id: found.get(book_id) or Standing(book_id, None, ClearanceStatus.NONE, None, None)
        for book_id in session.scalars(books)
    }


def expiring(session: Session, *, today: dt.date, within_days: int, books: Select[int] | None = None) -> list[Standing]:
    """Return the granted clearances in force that end within N days (the reminders' query, C-21).

    Only books with a granted clearance ending in the window are ranked (the kind/valid_until index finds
    them); a later suspension or refusal in force excludes the book.
    """
    until = today + dt.timedelta(days=within_days)
    candidates = select(JournalEntry.book_id).where(
        JournalEntry.kind == EntryKind.CLEARANCE.value,
        JournalEntry.clearance == ClearanceStatus.GRANTED.value,
        JournalEntry.valid_until > today,
        JournalEntry.valid_until <= until,
    )
    if books is not None:
        candidates = candidates.where(JournalEntry.book_id.in_(books))
    query = in_force(candidates)
    rows = session.execute(query.order_by(query.selected_columns.valid_until, query.selected_columns.book_id))
    return [
        Standing(r.book_id, r.entry_id, ClearanceStatus.GRANTED, r.performed_on, r.valid_until)
        for r in rows
        if r.clearance == ClearanceStatus.GRANTED.value and r.valid_until is not None and today < r.valid_until <= until
    ]


def books_of_employer(bin_: str) -> Select[int]:
    """Return the query of the ids of the books that name an employer's BIN."""
    return select(MedicalBook.id).where(MedicalBook.employer_bin == bin_)
