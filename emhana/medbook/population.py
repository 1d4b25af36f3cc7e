"""What identity asks the medical book about an organization's population (emhana.identity.access): a person
whose personal medical book the organization issued belongs to it, so its staff read the owner's identity data
without stating a purpose each time (issue 14)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.identity import access
from emhana.medbook.models import MedicalBook


def has_book_there(session: Session, entity_id: int, person_id: int, day: dt.date) -> bool:
    """Tell whether the organization issued the person's medical book (one book per person, C-03)."""
    del day
    found = session.scalar(
        select(MedicalBook.id).where(MedicalBook.person_id == person_id, MedicalBook.entity_id == entity_id)
    )
    return found is not None


access.register_relation("medbook.book", has_book_there)
