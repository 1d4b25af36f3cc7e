"""Routes of the book that follows the worker across clinics and jobs (issue 15): open and close an examination
of the worker, record a job change or a second job, end a job. Every POST takes an Idempotency-Key; no IIN sits
in a URL (an examination's IIN, when needed, travels in the body)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel import clock
from emhana.medbook import employment, examination
from emhana.medbook.schemas import ExaminationIn, ExaminationOut, JobEndIn, JobIn, JobsOut
from emhana.medbook.service import get_book
from emhana.web.deps import SessionDep, require
from emhana.web.idempotency import idempotent_json

router = APIRouter(prefix="/medbook", tags=["medbook"])
IdempotencyKey = Annotated[str | None, Header()]
Examiner = Annotated[Actor, require(Can.EXAMINE_FOR_MEDBOOK)]


@router.post("/books/{book_id}/examinations", response_model=ExaminationOut, status_code=201)
def open_examination(
    book_id: int, body: ExaminationIn, session: SessionDep, actor: Examiner, idempotency_key: IdempotencyKey = None
) -> Any:
    """Open an examination of the worker by the actor's organization (licensed and registered in СУР, C-04): it
    may then read and record in the book until ``open_until``. An organization with no other right to the book
    gives the owner's IIN as found by the lookup."""

    def run() -> tuple[int, dict[str, Any]]:
        exam = examination.open_examination(session=session, actor=actor, book_id=book_id, data=body, now=clock.now())
        return 201, examination.examination_out(exam).model_dump(mode="json")

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"book": book_id, **body.model_dump(mode="json")},
        run=run,
    )


@router.post("/examinations/{examination_id}/close", response_model=ExaminationOut)
def close_examination(
    examination_id: int, session: SessionDep, actor: Examiner, idempotency_key: IdempotencyKey = None
) -> Any:
    """Close an examination of the actor's organization: it no longer reads or records in the book by it."""

    def run() -> tuple[int, dict[str, Any]]:
        exam = examination.close_examination(
            session=session, actor=actor, examination_id=examination_id, now=clock.now()
        )
        return 200, examination.examination_out(exam).model_dump(mode="json")

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload={"examination": examination_id}, run=run
    )


def _jobs(session: SessionDep, book_id: int) -> dict[str, Any]:
    book = get_book(session=session, book_id=book_id)
    out = JobsOut(book_id=book.id, employments=employment.employments_out(session, book, clock.today()))
    return out.model_dump(mode="json")


@router.post("/books/{book_id}/jobs", response_model=JobsOut, status_code=201)
def record_job(
    book_id: int, body: JobIn, session: SessionDep, actor: Examiner, idempotency_key: IdempotencyKey = None
) -> Any:
    """Record a job change (the main job ends where the new one begins) or, with ``second``, a second job;
    answers the book's jobs, the current ones first (the main one on top)."""

    def run() -> tuple[int, dict[str, Any]]:
        employment.record_job(session=session, actor=actor, book_id=book_id, data=body, now=clock.now())
        return 201, _jobs(session, book_id)

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"book": book_id, **body.model_dump(mode="json")},
        run=run,
    )


@router.post("/books/{book_id}/jobs/{employment_id}/end", response_model=JobsOut)
def end_job(
    book_id: int,
    employment_id: int,
    body: JobEndIn,
    session: SessionDep,
    actor: Examiner,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """End a current job on a date (the first day without it); answers the book's jobs."""

    def run() -> tuple[int, dict[str, Any]]:
        employment.end_job(
            session=session,
            actor=actor,
            book_id=book_id,
            employment_id=employment_id,
            ended_on=body.ended_on,
            now=clock.now(),
        )
        return 200, _jobs(session, book_id)

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"book": book_id, "job": employment_id, **body.model_dump(mode="json")},
        run=run,
    )
