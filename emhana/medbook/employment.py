"""The worker's jobs (issue 15): one book follows her across jobs, with an employment history — profession,
position, workplace, employer (a legal entity's BIN or an individual entrepreneur's IIN), decreed group, from/to.

A job change ends the main job where the new one begins; a second job (a second decreed activity) is added beside
it; a job is ended on a date. The book's own profession, position, workplace, employer and group mirror the main
current job (the book is hash-chained, so every change of the mirror appends an ``update`` link). ``valid_to`` is
the first day without the job: a job is current on days ``valid_from <= day < valid_to``.

Only the responsible therapist or a clinician of an organization that may write in the book records jobs
(``medbook.access.may_write``); every change is audited. Functions never commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.identity.rules import iin_problem
from emhana.kernel.errors import (
    DateInFuture,
    EmploymentNotFound,
    InvalidEmployerNumber,
    InvalidJobDates,
    NotIssuingStaff,
)
from emhana.medbook import access, catalogue
from emhana.medbook.group_names import names_of
from emhana.medbook.models import Employment, MedicalBook
from emhana.medbook.schemas import EmploymentOut, JobIn, employer_kind
from emhana.medbook.service import get_book, local_day

RECORDERS = frozenset({Role.RESPONSIBLE_THERAPIST, Role.CLINICIAN})
OBJECT = "medbook_employment"


def _dmy(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def current_on(job: Employment, day: dt.date) -> bool:
    """Tell whether a job is held on a day (``valid_to`` is the first day without it)."""
    return job.valid_from <= day and (job.valid_to is None or job.valid_to > day)


def history(*, session: Session, book_id: int) -> list[Employment]:
    """Return every job of the book, newest first."""
    return list(
        session.scalars(
            select(Employment)
            .where(Employment.book_id == book_id)
            .order_by(Employment.valid_from.desc(), Employment.id.desc())
        )
    )


def current(*, session: Session, book_id: int, day: dt.date) -> list[Employment]:
    """Return the jobs held on a day, the earliest begun first."""
    return [j for j in reversed(history(session=session, book_id=book_id)) if current_on(j, day)]


def _mirrors(book: MedicalBook, job: Employment) -> bool:
    return (book.profession, book.position, book.workplace, book.employer_bin, book.group_code) == (
        job.profession,
        job.position,
        job.workplace,
        job.employer_number,
        job.group_code,
    )


def main_job(book: MedicalBook, jobs: list[Employment]) -> Employment | None:
    """Return the main one of the current jobs: the one the book mirrors, else the earliest begun."""
    return next((j for j in jobs if _mirrors(book, j)), jobs[0] if jobs else None)


def groups_of(session: Session, book: MedicalBook, day: dt.date) -> list[str]:
    """Return the decreed group codes of the jobs held on a day, for the clearance rule; the book's own group when
    it holds none (a book issued before its owner's jobs were recorded)."""
    codes: list[str] = []
    for job in current(session=session, book_id=book.id, day=day):
        if job.group_code not in codes:
            codes.append(job.group_code)
    return codes or [book.group_code]


def _mirror(book: MedicalBook, job: Employment) -> None:
    book.profession, book.position, book.workplace = job.profession, job.position, job.workplace
    book.employer_bin, book.group_code = job.employer_number, job.group_code


def _require_recorder(session: Session, actor: Actor, book: MedicalBook, day: dt.date) -> None:
    if actor.role not in RECORDERS or not access.may_write(session, actor, book, day):
        raise NotIssuingStaff()


def _audit(session: Session, actor: Actor, book: MedicalBook, job: Employment, what: str, now: dt.datetime) -> None:
    kind = employer_kind(job.employer_number)
    record_event(
        session=session,
        actor=actor,
        action=f"medbook.job.{what}",
        object_type=OBJECT,
        object_id=str(job.id),
        subject_person_id=book.person_id,
        purpose=f"book {book.id}, group {job.group_code}, employer: {kind.value if kind else '-'}",
        now=now,
    )


def _check(session: Session, data: JobIn, day: dt.date) -> None:
    """Refuse a job that starts in the future, names no valid employer or an unknown group (nothing is written)."""
    if data.valid_from > day:
        raise DateInFuture(day=_dmy(data.valid_from))
    if employer_kind(data.employer_number) is None:  # the schema refuses it at the door; services are called too
        raise InvalidEmployerNumber(reason=iin_problem(data.employer_number) or "")
    catalogue.in_force(session=session, code=data.group_code, day=day)


def record_job(*, session: Session, actor: Actor, book_id: int, data: JobIn, now: dt.datetime) -> Employment:
    """Record a job change (the main job, or the one ``replaces`` names, ends where the new one begins) or, with
    ``second``, a further current job; the book mirrors the new job when it becomes the main one."""
    book = get_book(session=session, book_id=book_id)
    day = local_day(now)
    _require_recorder(session, actor, book, day)
    _check(session, data, day)
    jobs = current(session=session, book_id=book.id, day=day)
    main = main_job(book, jobs)
    ended: Employment | None = None
    if not data.second:
        ended = main if data.replaces is None else next((j for j in jobs if j.id == data.replaces), None)
        if data.replaces is not None and ended is None:
            raise EmploymentNotFound()
        if ended is not None and data.valid_from < ended.valid_from:
            raise InvalidJobDates(began=_dmy(ended.valid_from), day=_dmy(data.valid_from))
    job = Employment(
        book_id=book.id,
        profession=data.profession,
        position=data.position,
        workplace=data.workplace,
        employer_number=data.employer_number,
        group_code=data.group_code,
        valid_from=data.valid_from,
        entity_id=actor.entity_id,
        recorded_by=actor.account_id,
        recorded_at=now,
    )
    session.add(job)
    if ended is not None:
        ended.valid_to = data.valid_from
    if main is None or (ended is not None and ended is main):
        _mirror(book, job)
    session.flush()
    if ended is not None:
        _audit(session, actor, book, ended, "end", now)
    _audit(session, actor, book, job, "second" if data.second else "change", now)
    return job


def end_job(
    *, session: Session, actor: Actor, book_id: int, employment_id: int, ended_on: dt.date, now: dt.datetime
) -> Employment:
    """End a current job on a date (the first day without it); when it was the main job, the book mirrors the
    next current one, if any (else it keeps the last job's data)."""
    book = get_book(session=session, book_id=book_id)
    day = local_day(now)
    _require_recorder(session, actor, book, day)
    jobs = current(session=session, book_id=book.id, day=day)
    job = next((j for j in jobs if j.id == employment_id), None)
    if job is None:
        raise EmploymentNotFound()
    if ended_on > day:
        raise DateInFuture(day=_dmy(ended_on))
    if ended_on < job.valid_from:
        raise InvalidJobDates(began=_dmy(job.valid_from), day=_dmy(ended_on))
    was_main = job is main_job(book, jobs)
    job.valid_to = ended_on
    rest = [j for j in jobs if j is not job]
    if was_main and rest:
        _mirror(book, rest[0])
    session.flush()
    _audit(session, actor, book, job, "end", now)
    return job


def employments_out(session: Session, book: MedicalBook, day: dt.date) -> list[EmploymentOut]:
    """Return the book's jobs for reading: the current ones first (the main one on top), then the ended ones,
    newest first, each with its decreed group's kk/ru/en name."""
    jobs = history(session=session, book_id=book.id)
    held = [j for j in reversed(jobs) if current_on(j, day)]
    main = main_job(book, held)
    ordered = ([main] if main else []) + [j for j in held if j is not main] + [j for j in jobs if j not in held]
    names = names_of(session, {j.group_code for j in jobs})
    return [
        EmploymentOut(
            id=j.id,
            profession=j.profession,
            position=j.position,
            workplace=j.workplace,
            employer_number=j.employer_number,
            employer_kind=employer_kind(j.employer_number),
            group_code=j.group_code,
            group_name_kk=names.get(j.group_code, {}).get("name_kk", j.group_code),
            group_name_ru=names.get(j.group_code, {}).get("name_ru", j.group_code),
            group_name_en=names.get(j.group_code, {}).get("name_en", j.group_code),
            valid_from=j.valid_from,
            valid_to=j.valid_to,
            current=j in held,
            main=j is main,
        )
        for j in ordered
    ]
