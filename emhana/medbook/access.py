"""Who may read and write a worker's medical book once it follows her across clinics and jobs (issue 15, C-04).

- **Write**: the clinicians, the responsible therapist and the MIS of the issuing organization, or of an
  organization with an open examination of the book.
- **Read**: the owner; staff of the issuing organization, of an organization examining her now, or of one that
  has recorded in the book (the last with a stated purpose).
- **Find by IIN** (the second clinic): the responsible therapist or a clinician of an organization that holds a
  medical licence and is registered in the Resource Management System (СУР), with a stated purpose.
- **Employers** see status and dates only, of workers they employ today (``current_employer``).

Every function here only answers; the reads are logged by ``medbook.views``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import Actor
from emhana.facilities.models import Entity, Licence
from emhana.identity.rules import ReadPurpose, is_stated, purpose_label
from emhana.kernel.i18n import LANGUAGES, N_, Localized, gettext_for
from emhana.medbook.models import Employment, Examination, JournalEntry, MedicalBook


class Basis(StrEnum):
    """Why a reader may read the whole book."""

    OWNER = "owner"
    ISSUER = "issuer"
    EXAMINING = "examining"  # an open examination of the reader's organization
    RECORDED = "recorded"  # the reader's organization recorded in the book before (a purpose is needed)


FINDERS = frozenset({Role.RESPONSIBLE_THERAPIST, Role.CLINICIAN})
REASON_PURPOSE = N_("write why you read the book, for example an examination at hiring")


def purpose_reason() -> Localized:
    """The reason a lookup or an examination without a purpose is refused, in every language."""
    return Localized({lang: gettext_for(lang, REASON_PURPOSE) for lang in LANGUAGES})


def licensed_and_registered(*, session: Session, entity_id: int, day: dt.date) -> bool:
    """Tell whether an entity holds a medical licence and is registered in the Resource Management System on a
    day (C-04): the two conditions for issuing books and examining workers."""
    registered = session.scalar(select(Entity.sur_registered_on).where(Entity.id == entity_id))
    if registered is None or registered > day:
        return False
    licensed = session.scalar(
        select(Licence.id)
        .where(
            Licence.entity_id == entity_id,
            Licence.issued_on <= day,
            or_(Licence.valid_until.is_(None), Licence.valid_until >= day),
        )
        .limit(1)
    )
    return licensed is not None


def open_examination(*, session: Session, book_id: int, entity_id: int, day: dt.date) -> Examination | None:
    """Return the organization's examination of the book open on a day (not closed, not past its end)."""
    return session.scalar(
        select(Examination)
        .where(
            Examination.book_id == book_id,
            Examination.entity_id == entity_id,
            Examination.closed_at.is_(None),
            Examination.open_until >= day,
        )
        .order_by(Examination.open_until.desc(), Examination.id.desc())
        .limit(1)
    )


def has_recorded(*, session: Session, book_id: int, entity_id: int) -> bool:
    """Tell whether the organization has recorded an entry in the book."""
    found = session.scalar(
        select(JournalEntry.id).where(JournalEntry.book_id == book_id, JournalEntry.entity_id == entity_id).limit(1)
    )
    return found is not None


def may_write(session: Session, actor: Actor, book: MedicalBook, day: dt.date) -> bool:
    """Tell whether the actor may record in the book: writing staff of the issuer or of an examining organization."""
    if not may(actor.role, Can.WRITE_MEDBOOK_ENTRY) or actor.entity_id is None:
        return False
    if actor.entity_id == book.entity_id:
        return True
    return open_examination(session=session, book_id=book.id, entity_id=actor.entity_id, day=day) is not None


def read_basis(session: Session, actor: Actor, book: MedicalBook, day: dt.date) -> Basis | None:
    """Return why the actor may read the whole book, or None (then the book answers as a missing one)."""
    return basis_of(
        actor,
        person_id=book.person_id,
        entity_id=book.entity_id,
        examining=lambda entity: (
            open_examination(session=session, book_id=book.id, entity_id=entity, day=day) is not None
        ),
        recorded=lambda entity: has_recorded(session=session, book_id=book.id, entity_id=entity),
    )


def basis_of(
    actor: Actor,
    *,
    person_id: int,
    entity_id: int,
    examining: Callable[[int], bool],
    recorded: Callable[[int], bool],
) -> Basis | None:
    """``read_basis`` of a book with its owner and issuer, asking ``examining`` (an open examination of the reader's
    organization on the day) and then ``recorded`` (an entry of it in the book) only when the answer depends on them:
    with queries (``read_basis``) or from what the caller has already read (``medbook.views.read_book_out``)."""
    if actor.role is Role.CITIZEN:
        return Basis.OWNER if actor.person_id is not None and actor.person_id == person_id else None
    if actor.entity_id is None or not (
        may(actor.role, Can.EXAMINE_FOR_MEDBOOK) or may(actor.role, Can.READ_FHIR_MEDBOOK)
    ):
        return None
    if actor.entity_id == entity_id:
        return Basis.ISSUER
    if examining(actor.entity_id):
        return Basis.EXAMINING
    if recorded(actor.entity_id):
        return Basis.RECORDED
    return None


def may_find(session: Session, actor: Actor, day: dt.date) -> bool:
    """Tell whether the actor may find by IIN a book her organization never recorded in (with a stated purpose):
    the responsible therapist or a clinician of a licensed organization registered in СУР (C-04)."""
    return (
        actor.role in FINDERS
        and actor.entity_id is not None
        and licensed_and_registered(session=session, entity_id=actor.entity_id, day=day)
    )


def stated_purpose(purpose: str) -> str:
    """Return the purpose as logged: a listed one as given, words without a listed code as an examination for a
    medical book (``medbook: …``), nothing when nothing was said."""
    words = " ".join(purpose.split())
    if not words:
        return ""
    return words[:200] if is_stated(words) else purpose_label(ReadPurpose.MEDBOOK.value, words)[:200]


def held_on(day: dt.date) -> ColumnElement[bool]:
    """The condition of a job held on a day (``valid_to`` is the first day without it)."""
    return and_(Employment.valid_from <= day, or_(Employment.valid_to.is_(None), Employment.valid_to > day))


def employed_books(number: str, day: dt.date) -> Select[int]:
    """Return the query of the ids of the books whose owner works for an employer (BIN or IIN) on a day."""
    return select(Employment.book_id).where(Employment.employer_number == number, held_on(day)).distinct()
