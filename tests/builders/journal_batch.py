"""A batch of journal entries shared by the record_many and record_batch tests, and the rows of a book."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.medbook.models import JournalEntry
from emhana.medbook.rules import Result
from emhana.medbook.schemas import ClinicalKind, EntryIn
from tests.builders.medbook import TODAY

BATCH = [
    EntryIn(kind=ClinicalKind.LAB_RESULT, item_code="syphilis", performed_on=TODAY, result=Result.NEGATIVE),
    EntryIn(kind=ClinicalKind.LAB_RESULT, item_code="intestinal_carriage", performed_on=TODAY, result=Result.POSITIVE),
    EntryIn(
        kind=ClinicalKind.SPECIALIST_EXAM,
        item_code="therapist",
        performed_on=TODAY,
        result=Result.NORMAL,
        codes=["Z00.0"],
    ),
]


def rows(session: Session, book_id: int) -> list[JournalEntry]:
    return list(session.scalars(select(JournalEntry).where(JournalEntry.book_id == book_id).order_by(JournalEntry.id)))
