"""What identity asks the medical book about an organization's population (emhana.identity.access): a person
whose personal medical book the organization issued belongs to it, so its staff read the owner's identity data
without stating a purpose each time (issue 14), and so does one of a book the organization is examining now
(issue 15)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.identity import access
from emhana.medbook.models import Examination, MedicalBook


def has_book_there(session: Session, entity_id: int, person_id: int, day: dt.date) -> bool:
    """Tell whether the organization issued the person's medical book (one book per person, C-03)."""
    del day
    found = session.scalar(
        select(MedicalBook.id).where(MedicalBook.person_id == person_id, MedicalBook.entity_id == entity_id)
    )
    return found is not None


def examines_there(session: Session, entity_id: int, person_id: int, day: dt.date) -> bool:
    """Tell whether the organization has an open examination of the person's book (issue 15): an open case."""
    found = session.scalar(
        select(Examination.id)
        .join(MedicalBook, MedicalBook.id == Examination.book_id)
        .where(
            MedicalBook.person_id == person_id,
            Examination.entity_id == entity_id,
            Examination.closed_at.is_(None),
            Examination.open_until >= day,
        )
        .limit(1)
    )
    return found is not None


access.register_relation("medbook.book", has_book_there)
access.register_relation("medbook.examination", examines_there)
