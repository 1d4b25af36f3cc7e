"""What identity asks the medical book about an organization's population (emhana.identity.access): a person
whose personal medical book the organization issued belongs to it, so its staff read the owner's identity data
without stating a purpose each time (issue 14), and so does one of a book the organization is examining now
(issue 15)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from emhana.identity import access
from emhana.medbook.models import Examination, MedicalBook

# The organization issued the person's medical book (one book per person, C-03).
BOOK_THERE = select(MedicalBook.id).where(
    MedicalBook.person_id == bindparam("person"), MedicalBook.entity_id == bindparam("entity")
)
# The organization has an open examination of the person's book (issue 15): an open case.
EXAMINED_THERE = (
    select(Examination.id)
    .join(MedicalBook, MedicalBook.id == Examination.book_id)
    .where(
        MedicalBook.person_id == bindparam("person"),
        Examination.entity_id == bindparam("entity"),
        Examination.closed_at.is_(None),
        Examination.open_until >= bindparam("day"),
    )
    .limit(1)
)


def has_book_there(session: Session, entity_id: int, person_id: int, day: dt.date) -> bool:
    """Tell whether the organization issued the person's medical book (``BOOK_THERE``)."""
    del day
    return session.scalar(BOOK_THERE, {"person": person_id, "entity": entity_id}) is not None


def examines_there(session: Session, entity_id: int, person_id: int, day: dt.date) -> bool:
    """Tell whether the organization has an open examination of the person's book (``EXAMINED_THERE``)."""
    params = {"person": person_id, "entity": entity_id, "day": day}
    return session.scalar(EXAMINED_THERE, params) is not None


access.register_relation("medbook.book", has_book_there, BOOK_THERE)
access.register_relation("medbook.examination", examines_there, EXAMINED_THERE)
