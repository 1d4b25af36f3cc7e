"""The worker's jobs (issue 15): a job change ends the main job and the book mirrors the new one (its hash chain
still verifies), a second job stands beside it and counts for the clearance rule, a job ends on a date; every
change is audited and only the book's writing staff record it; bad input is refused with its code and writes
nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent, ChainLink
from emhana.kernel.errors import InvalidEmployerNumber, NotIssuingStaff
from emhana.medbook import employment
from emhana.medbook.models import Employment, MedicalBook
from emhana.medbook.schemas import JobIn
from emhana.trust.chain.verify import verify
from tests.builders.medbook import CAFE_IIN, CAFE_JOB, EMPLOYER_BIN, NOW, TODAY, World, issue_book

API = "/api/v1/medbook"


def job(client: TestClient, w: World, book_id: int, who: str = "rt_a", **kw: Any) -> Any:
    body = {**CAFE_JOB, "valid_from": "2026-03-05", **kw}
    return client.post(f"{API}/books/{book_id}/jobs", headers=w.h[who], json=body)


def written(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Employment)) or 0,
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def test_a_book_is_issued_with_its_first_job(client: TestClient, world: World) -> None:
    book = issue_book(client, world)
    [first] = book["employments"]
    assert (first["employer_number"], first["group_code"], first["valid_from"]) == (
        EMPLOYER_BIN,
        "catering",
        "2026-03-10",
    )
    assert first["current"] and first["main"] and first["valid_to"] is None
    assert first["employer_kind"] == "legal_entity" and first["group_name_en"] == "Public catering"


def test_a_job_change_ends_the_main_job_and_the_book_mirrors_the_new_one(
    client: TestClient,
    world: World,
    sessions: sessionmaker[Session],
    engine: Engine,
    at: Callable[[dt.datetime], None],
) -> None:
    book_id = issue_book(client, world)["id"]
    at(NOW + dt.timedelta(days=20))
    r = job(client, world, book_id, valid_from="2026-03-25")
    assert r.status_code == 201, r.text
    jobs = r.json()["employments"]
    assert [(j["employer_number"], j["current"], j["main"], j["valid_to"]) for j in jobs] == [
        (CAFE_IIN, True, True, None),
        (EMPLOYER_BIN, False, False, "2026-03-25"),
    ]
    assert jobs[0]["employer_kind"] == "entrepreneur"
    book = client.get(f"{API}/books/{book_id}", headers=world.h["rt_a"]).json()
    assert (book["employer_bin"], book["workplace"], book["position"]) == (
        CAFE_IIN,
        "Кафе «Жібек жолы»",
        "повар-кондитер",
    )
    with sessions() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("medbook.job.%"))))
        links = s.scalar(
            select(func.count())
            .select_from(ChainLink)
            .where(ChainLink.kind == "book", ChainLink.chain_key == str(book_id))
        )
    assert sorted(actions) == ["medbook.job.change", "medbook.job.end"]
    assert links == 2  # opened at issue, one update link for the new mirror
    with engine.connect() as conn:
        report = verify(conn, kinds=["book"])
    assert report.clean, [str(f) for f in report.findings]


def test_a_second_job_stands_beside_the_first_and_counts_for_clearance(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = issue_book(client, world)["id"]
    r = job(client, world, book_id, who="clin_a", second=True, group_code="food", valid_from="2026-03-10")
    assert r.status_code == 201, r.text
    jobs = r.json()["employments"]
    assert [(j["employer_number"], j["current"], j["main"]) for j in jobs] == [
        (EMPLOYER_BIN, True, True),
        (CAFE_IIN, True, False),
    ]
    with sessions() as s:
        book = s.get(MedicalBook, book_id)
        assert book is not None and book.employer_bin == EMPLOYER_BIN  # the mirror keeps the main job
        assert employment.groups_of(s, book, TODAY) == ["catering", "food"]
        assert employment.groups_of(s, book, dt.date(2026, 3, 9)) == ["catering"]  # no job yet: the book's own
    ended = client.post(
        f"{API}/books/{book_id}/jobs/{jobs[0]['id']}/end", headers=world.h["rt_a"], json={"ended_on": "2026-03-10"}
    )
    assert ended.status_code == 200, ended.text
    assert [(j["employer_number"], j["current"], j["main"]) for j in ended.json()["employments"]] == [
        (CAFE_IIN, True, True),
        (EMPLOYER_BIN, False, False),
    ]
    with sessions() as s:
        book = s.get(MedicalBook, book_id)
        assert book is not None and (book.employer_bin, book.group_code) == (CAFE_IIN, "food")
        assert employment.groups_of(s, book, TODAY) == ["food"]


def test_bad_jobs_are_refused_with_their_code_and_write_nothing(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = issue_book(client, world)["id"]
    first = client.get(f"{API}/books/{book_id}", headers=world.h["rt_a"]).json()["employments"][0]["id"]
    before = written(sessions)
    cases = [
        (job(client, world, book_id, employer_number="880315301281"), 422, "medbook.invalid_employer"),
        (job(client, world, book_id, employer_number="150340001237"), 422, "medbook.invalid_employer"),
        (job(client, world, book_id, group_code="astronauts"), 404, "medbook.group_not_found"),
        (job(client, world, book_id, valid_from="2026-03-01"), 422, "medbook.invalid_job_dates"),  # before 10.03
        (job(client, world, book_id, valid_from="2026-04-01"), 422, "medbook.date_in_future"),
        (job(client, world, book_id, replaces=999_999), 404, "medbook.employment_not_found"),
        (
            client.post(
                f"{API}/books/{book_id}/jobs/{first}/end", headers=world.h["rt_a"], json={"ended_on": "2026-03-01"}
            ),
            422,
            "medbook.invalid_job_dates",
        ),
        (job(client, world, book_id, who="clin_b"), 403, "medbook.not_staff"),  # not examining her
        (job(client, world, book_id, who="mis_a"), 403, "auth.forbidden"),  # an MIS records no jobs
        (job(client, world, book_id, who="employer"), 403, "auth.forbidden"),
    ]
    wrong = [(r.status_code, r.json().get("code"), code) for r, status, code in cases if r.status_code != status]
    wrong += [(r.status_code, r.json().get("code"), code) for r, _, code in cases if r.json().get("code") != code]
    assert wrong == []
    messages = cases[3][0].json()["messages"]
    assert "10.03.2026" in messages["kk"] and "10.03.2026" in messages["ru"] and "01.03.2026" in messages["en"]
    assert written(sessions) == before


def test_the_service_refuses_a_bad_employer_and_a_stranger(world: World, sessions: sessionmaker[Session]) -> None:
    """The service is called directly too (the demo, the CLI): it checks what the schema checks."""
    import pytest

    with sessions.begin() as s:
        book = MedicalBook(
            person_id=world.cook,
            entity_id=world.a,
            issued_by=world.actors["rt_a"].account_id,
            issued_on=TODAY,
            language="ru",
            profession="повар",
            position="повар",
            workplace="Столовая",
            employer_bin=EMPLOYER_BIN,
            group_code="catering",
        )
        s.add(book)
        s.flush()
        book_id = book.id
    data = JobIn.model_validate({**CAFE_JOB, "valid_from": TODAY}).model_copy(update={"employer_number": "123"})
    with sessions() as s, pytest.raises(InvalidEmployerNumber):
        employment.record_job(session=s, actor=world.actors["rt_a"], book_id=book_id, data=data, now=NOW)
    good = JobIn.model_validate({**CAFE_JOB, "valid_from": TODAY})
    with sessions() as s, pytest.raises(NotIssuingStaff):
        employment.record_job(session=s, actor=world.actors["clin_b"], book_id=book_id, data=good, now=NOW)
