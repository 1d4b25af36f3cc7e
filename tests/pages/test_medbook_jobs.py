"""Desk pages of the book that follows the worker (issue 15): a second clinic finds the book by IIN with a
purpose and starts an examination from the desk; the jobs page shows the employment history in kk/ru/en, records
a job change to an individual entrepreneur's café, and keeps what was typed when a form is refused."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.medbook.models import Employment, Examination
from tests.builders.medbook import CAFE_IIN, CAFE_JOB, EMPLOYER_BIN, World, add_clinic, issue_book, sign_in
from tests.builders.web import csrf_of

CLINIC_C = "120540012302"
LABELS = {
    "kk": ("Еңбек тарихы", "Ағымдағы жұмыс", "Аяқталған", "Жұмыстың ауысуын немесе қосымша жұмысты тіркеу"),
    "ru": ("История трудовой деятельности", "Текущая работа", "Завершена", "Записать смену работы или вторую работу"),
    "en": ("Employment history", "Current job", "Ended", "Record a job change or a second job"),
}


def examinations(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Examination)) or 0


def jobs(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Employment)) or 0


def test_a_second_clinic_starts_an_examination_from_the_desk(
    client: TestClient, world: World, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    book_id = issue_book(client, world)["id"]
    add_clinic(sessions, make_actor, world, "c", CLINIC_C)
    sign_in(client, world, "rt_c")
    token = csrf_of(client.get("/medbook/desk?lang=en").text)
    no_purpose = client.post("/medbook/desk/find?lang=en", data={"csrf": token, "iin": world.cook_iin})
    assert no_purpose.status_code == 422 and "state the purpose" in no_purpose.text
    found = client.post(
        "/medbook/desk/find?lang=en", data={"csrf": token, "iin": world.cook_iin, "purpose": "hiring at a café"}
    )
    assert found.status_code == 200 and "Start an examination" in found.text
    assert "История трудовой деятельности" in found.text  # the book, in its language, shows the jobs
    assert client.get(f"/medbook/desk/books/{book_id}").status_code == 403  # not before the examination
    refused = client.post(
        f"/medbook/desk/books/{book_id}/examinations?lang=en",
        data={"csrf": token, "kind": "at_hiring", "purpose": " ", "iin": world.cook_iin},
    )
    assert refused.status_code == 422 and 'value="at_hiring" selected' in refused.text
    assert examinations(sessions) == 0
    assert (
        client.post(
            f"/medbook/desk/books/{book_id}/examinations",
            data={"csrf": "x", "kind": "at_hiring", "purpose": "hiring", "iin": world.cook_iin},
        ).status_code
        == 403
    )
    started = client.post(
        f"/medbook/desk/books/{book_id}/examinations",
        data={"csrf": token, "kind": "at_hiring", "purpose": "hiring at a café", "iin": world.cook_iin},
        follow_redirects=False,
    )
    assert started.status_code == 303 and started.headers["location"] == f"/medbook/desk/books/{book_id}"
    assert world.cook_iin not in started.headers["location"]
    assert client.get(f"/medbook/desk/books/{book_id}").status_code == 200
    assert examinations(sessions) == 1


def test_the_jobs_page_records_a_job_change_and_keeps_what_was_typed(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = issue_book(client, world)["id"]
    sign_in(client, world, "clin_a")
    for lang, labels in LABELS.items():
        page = client.get(f"/medbook/desk/books/{book_id}/jobs?lang={lang}")
        assert page.status_code == 200
        missing = [label for label in labels if label not in page.text and label != labels[2]]
        assert missing == [], lang
    token = csrf_of(page.text)
    form = {"csrf": token, **CAFE_JOB, "valid_from": "2026-03-10"}
    before = jobs(sessions)
    bad = client.post(f"/medbook/desk/books/{book_id}/jobs?lang=en", data={**form, "employer_number": "880315301281"})
    assert bad.status_code == 422 and "neither a valid BIN" in bad.text
    assert 'value="Кафе «Жібек жолы»"' in bad.text and 'value="880315301281"' in bad.text
    early = client.post(f"/medbook/desk/books/{book_id}/jobs?lang=ru", data={**form, "valid_from": "2026-03-01"})
    assert early.status_code == 422 and "Работа не может закончиться раньше, чем началась" in early.text
    unknown = client.post(f"/medbook/desk/books/{book_id}/jobs?lang=kk", data={**form, "group_code": "astronauts"})
    assert unknown.status_code == 404 and 'value="повар-кондитер"' in unknown.text
    assert jobs(sessions) == before
    done = client.post(f"/medbook/desk/books/{book_id}/jobs", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/medbook/desk/books/{book_id}/jobs?done=job"
    page = client.get(f"/medbook/desk/books/{book_id}/jobs?lang=en&done=job")
    assert "The job is recorded in the employment history." in page.text
    current, ended = page.text.index(CAFE_IIN), page.text.index(EMPLOYER_BIN)
    assert current < ended  # the current job on top
    assert "Individual entrepreneur, IIN" in page.text and "Legal entity, BIN" in page.text
    assert "Current job" in page.text and "Ended" in page.text and "from 10.03.2026 to 10.03.2026" in page.text
    first = page.text.split('data-job="')[2].split('"')[0]
    late = client.post(
        f"/medbook/desk/books/{book_id}/jobs/{first}/end?lang=en", data={"csrf": token, "ended_on": "2026-03-10"}
    )
    assert late.status_code == 404  # an ended job is not ended again
    desk = client.get(f"/medbook/desk/books/{book_id}")
    assert "Кафе «Жібек жолы»" in desk.text and "Текущая работа" in desk.text and "Завершена" in desk.text
    sign_in(client, world, "cook")  # the worker's own page shows her jobs too, in her book's language
    mine = client.get("/medbook/my?lang=en").text
    assert "История трудовой деятельности" in mine and mine.index(CAFE_IIN) < mine.index(EMPLOYER_BIN)
