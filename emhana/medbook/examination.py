"""Examinations of a worker by an organization (issue 15, C-04): the responsible therapist or a clinician of a
licensed organization registered in the Resource Management System (СУР) finds the book by IIN with a stated
purpose and opens an examination; her organization may then read and record in the book until the examination
ends (``open_until``) or is closed. Functions never commit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.identity.models import Person
from emhana.kernel.errors import BookNotFound, ExaminerNotEligible, NotFound, PurposeRequired
from emhana.medbook import access
from emhana.medbook.models import Examination, MedicalBook
from emhana.medbook.schemas import ExaminationIn, ExaminationKind, ExaminationOut
from emhana.medbook.service import local_day

OBJECT = "medbook_examination"


def open_examination(
    *, session: Session, actor: Actor, book_id: int, data: ExaminationIn, now: dt.datetime
) -> Examination:
    """Open (or return the already open) examination of a book by the actor's organization.

    The actor's own eligibility is checked first (it says nothing of the book). An organization with no other
    right to the book must give its owner's IIN, as found by the lookup: a wrong IIN and a missing book answer
    alike (404 medbook.book_not_found), so book ids cannot be tried one after another.
    """
    day = local_day(now)
    if not access.may_find(session, actor, day) or actor.entity_id is None:
        raise ExaminerNotEligible(day=day.strftime("%d.%m.%Y"))
    purpose = access.stated_purpose(data.purpose)
    if not purpose:
        raise PurposeRequired(reason=access.purpose_reason())
    book = session.get(MedicalBook, book_id)
    if book is None:
        raise BookNotFound()
    if access.read_basis(session, actor, book, day) is None:
        owner = session.get(Person, book.person_id)
        if data.iin is None or owner is None or owner.iin != data.iin:
            raise BookNotFound()
    found = access.open_examination(session=session, book_id=book.id, entity_id=actor.entity_id, day=day)
    if found is not None:
        return found
    exam = Examination(
        book_id=book.id,
        entity_id=actor.entity_id,
        kind=data.kind.value,
        purpose=purpose,
        opened_by=actor.account_id,
        opened_at=now,
        open_until=day + dt.timedelta(days=data.days),
    )
    session.add(exam)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="medbook.examination.open",
        object_type=OBJECT,
        object_id=str(exam.id),
        subject_person_id=book.person_id,
        purpose=purpose,
        now=now,
    )
    return exam


def close_examination(*, session: Session, actor: Actor, examination_id: int, now: dt.datetime) -> Examination:
    """Close an open examination of the actor's organization; another organization's answers as a missing one."""
    exam = session.get(Examination, examination_id)
    if exam is None or actor.entity_id is None or exam.entity_id != actor.entity_id or exam.closed_at is not None:
        raise NotFound()
    exam.closed_at = now
    book = session.get(MedicalBook, exam.book_id)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="medbook.examination.close",
        object_type=OBJECT,
        object_id=str(exam.id),
        subject_person_id=book.person_id if book else None,
        purpose=exam.purpose,
        now=now,
    )
    return exam


def examination_out(exam: Examination) -> ExaminationOut:
    return ExaminationOut(
        id=exam.id,
        book_id=exam.book_id,
        entity_id=exam.entity_id,
        kind=ExaminationKind(exam.kind),
        purpose=exam.purpose,
        opened_at=exam.opened_at,
        open_until=exam.open_until,
        closed_at=exam.closed_at,
    )
