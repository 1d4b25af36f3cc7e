"""Medical-book pages through TestClient: roles, the worker's own book in the language they chose (C-10)
with corrections, clearance and the access log (journey 9), the language form with CSRF, and the employer's
view without clinical content."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.identity.models import Person
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.pages.medbook import router as medbook_pages
from emhana.web.deps import SESSION_COOKIE, declared_roles, iter_routes
from tests.builders.medbook import World, clean_scope, issue_book, link_employers, record
from tests.builders.people import add_person
from tests.builders.signatures import sign_entries
from tests.builders.web import csrf_of

API = "/api/v1/medbook"
HTML = {"Accept": "text/html"}


def sign_in(client: TestClient, w: World, name: str) -> None:
    """Use the world's token as the browser session cookie (its accounts have no password)."""
    client.cookies.set(SESSION_COOKIE, w.h[name]["Authorization"].removeprefix("Bearer "))


def full_book(client: TestClient, w: World) -> int:
    """Issue the cook's book (ru), record the scope with one corrected entry, and grant clearance."""
    book_id = int(issue_book(client, w)["id"])
    clean_scope(client, w, book_id, skip=("therapist",))
    wrong = record(client, w, book_id, "specialist_exam", "therapist", "abnormal").json()
    fixed = client.post(
        f"{API}/entries/{wrong['id']}/correction",
        headers=w.h["clin_a"],
        json={
            "kind": "specialist_exam",
            "item_code": "therapist",
            "performed_on": "2026-03-02",
            "result": "normal",
            "reason": "typing error in the result",
        },
    )
    assert fixed.status_code == 201, fixed.text
    sign_entries(client, w, fixed.json()["id"])  # a correction takes effect once signed (C-40)
    granted = client.post(f"{API}/books/{book_id}/clearance", headers=w.h["rt_a"], json={"decision": "granted"})
    assert granted.status_code == 201, granted.text
    sign_entries(client, w, granted.json()["id"])  # a grant counts once signed (C-06)
    return book_id


def test_every_medbook_page_declares_who_it_admits() -> None:
    paths = set()
    for path, _methods, dependant in iter_routes(medbook_pages):
        assert declared_roles(dependant.dependencies) is not None, path
        paths.add(path)
    assert {
        "/medbook/my",
        "/medbook/my/language",
        "/medbook/workers",
        "/medbook/desk",
        "/medbook/desk/find",
        "/medbook/desk/books/{book_id}/entries",
        "/medbook/desk/books/{book_id}/clearance",
    } <= paths


@pytest.mark.parametrize(
    ("path", "other"),
    [
        ("/medbook/my", "employer"),
        ("/medbook/workers", "cook"),
        ("/medbook/workers", "clin_a"),
        ("/medbook/my", "rt_a"),
        ("/medbook/desk", "cook"),
        ("/medbook/desk", "employer"),
    ],
)
def test_medbook_pages_admit_only_their_role(client: TestClient, world: World, path: str, other: str) -> None:
    anonymous = client.get(f"{path}?lang=en", headers=HTML)
    assert anonymous.url.path == "/login" and anonymous.url.params["next"] == path  # back here once signed in
    assert anonymous.status_code == 200 and "Log in to see this page." in anonymous.text
    sign_in(client, world, other)
    assert client.get(f"{path}?lang=en", headers=HTML).status_code == 403


def test_worker_without_a_book_is_told_so(client: TestClient, world: World) -> None:
    sign_in(client, world, "cook")
    page = client.get("/medbook/my?lang=en")
    assert page.status_code == 200 and "You have no personal medical book." in page.text
    assert 'href="/medbook/my"' in page.text


def test_worker_sees_the_book_in_its_language_with_history_and_access_log(client: TestClient, world: World) -> None:
    book_id = full_book(client, world)
    seen = client.post(f"{API}/books/lookup", headers=world.h["clin_a"], json={"iin": world.cook_iin})
    assert seen.status_code == 200
    sign_in(client, world, "cook")
    page = client.get("/medbook/my?lang=en")
    assert page.status_code == 200, page.text
    text = page.text
    # The page speaks English; the book itself speaks the owner's chosen Russian (C-10).
    assert "My medical book" in text and "Who has read my book" in text
    assert f"Личная медицинская книжка № {book_id}" in text and world.cook_iin in text
    assert "повар школьной столовой" in text and "940140000385" in text
    assert "Допущен к работе" in text and "действителен до 02.03.2027" in text
    assert "Подпись ожидается" in text
    # The corrected entry stays, marked as superseded, and its correction shows the reason and difference.
    assert "Заменена записью №" in text and "Причина: typing error in the result" in text
    assert "<del>выявлена патология</del> → <ins>без патологии</ins>" in text
    # The access log: the clinician's lookup and the owner's own reads, with why.
    assert "Test clinician" in text and "medical examination" in text
    assert "the owner reads their own book" in text


def test_worker_changes_the_book_language_only_with_csrf(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    sign_in(client, world, "cook")
    page = client.get("/medbook/my?lang=ru")
    assert "Язык книжки" in page.text and "Личная медицинская книжка" in page.text
    forged = client.post(
        "/medbook/my/language", data={"csrf": "forged.token", "language": "kk"}, follow_redirects=False
    )
    assert forged.status_code == 403
    with sessions() as s:
        assert s.get(MedicalBook, book_id).language == "ru"  # type: ignore[union-attr]
    bad = client.post(
        "/medbook/my/language", data={"csrf": csrf_of(page.text), "language": "en"}, follow_redirects=False
    )
    assert bad.status_code == 303 and bad.headers["location"] == "/medbook/my?error=language"
    moved = client.post(
        "/medbook/my/language", data={"csrf": csrf_of(page.text), "language": "kk"}, follow_redirects=False
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/medbook/my"
    with sessions() as s:
        assert s.get(MedicalBook, book_id).language == "kk"  # type: ignore[union-attr]
    kazakh = client.get("/medbook/my?lang=ru").text
    assert f"№ {book_id} жеке медициналық кітапша" in kazakh and "Жұмысқа жіберу әлі жоқ" in kazakh
    assert "Язык книжки" in kazakh  # the page around the book stays in the page language


def test_employer_sees_clearance_status_and_dates_only(client: TestClient, world: World) -> None:
    link_employers(client, world)
    book_id = full_book(client, world)
    record(client, world, book_id, "lab_result", "helminths", "negative", dt.date(2026, 3, 3))
    sign_in(client, world, "employer")
    page = client.get("/medbook/workers?lang=ru")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Тестов Тест" in text and "повар школьной столовой" in text and "Допущен к работе" in text
    assert "10.03.2026" in text and "02.03.2027" in text
    for clinical in (
        "02.03.2026",
        "Журнал",
        "Осмотр специалиста",
        "Лабораторное",
        "negative",
        "отрицательный",
        "abnormal",
        "typing error",
        "helminths",
        "syphilis",
        "Причина",
        "Подпись",
        world.cook_iin,
        "флюорография",
        "Декретированная",
        "catering",
        "Терапевт",
        "result",
    ):
        assert clinical not in text, clinical
    sign_in(client, world, "other_employer")
    assert "Тестов" not in client.get("/medbook/workers?lang=en").text


def test_clinician_finds_a_book_by_iin_in_the_form_and_records_an_entry(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    sign_in(client, world, "clin_a")
    desk = client.get("/medbook/desk?lang=en")
    assert desk.status_code == 200 and 'action="/medbook/desk/find"' in desk.text
    token = csrf_of(desk.text)
    assert client.post("/medbook/desk/find", data={"csrf": "x", "iin": world.cook_iin}).status_code == 403
    bad = client.post("/medbook/desk/find?lang=en", data={"csrf": token, "iin": "990101300123"})
    assert bad.status_code == 422 and "Check the form" in bad.text
    with sessions() as s:
        other_iin = s.get(Person, add_person(sessions)).iin  # type: ignore[union-attr]
    missing = client.post("/medbook/desk/find?lang=en", data={"csrf": token, "iin": other_iin, "purpose": "hiring"})
    assert missing.status_code == 404 and "The personal medical book does not exist." in missing.text
    sign_in(client, world, "clin_b")  # another organization's book looks like no book at all (issue 14)
    token_b = csrf_of(client.get("/medbook/desk?lang=en").text)
    elsewhere = client.post("/medbook/desk/find?lang=en", data={"csrf": token_b, "iin": world.cook_iin})
    none = client.post("/medbook/desk/find?lang=en", data={"csrf": token_b, "iin": other_iin})
    assert elsewhere.status_code == none.status_code == 422  # issue 15: without a purpose, whether or not it exists
    assert elsewhere.text.replace(token_b, "") == none.text.replace(token_b, "")
    sign_in(client, world, "clin_a")
    token = csrf_of(client.get("/medbook/desk?lang=en").text)
    found = client.post(
        "/medbook/desk/find?lang=en", data={"csrf": token, "iin": world.cook_iin, "purpose": "periodic examination"}
    )
    assert found.status_code == 200 and f"Личная медицинская книжка № {book_id}" in found.text
    assert world.cook_iin not in str(found.url) and "/clearance" not in found.text  # clinicians do not decide
    future = client.post(
        f"/medbook/desk/books/{book_id}/entries?lang=en",
        data={
            "csrf": token,
            "kind": "lab_result",
            "item_code": "helminths",
            "performed_on": "2026-04-01",
            "result": "negative",
        },
    )
    assert future.status_code == 422 and "The date 01.04.2026 is in the future." in future.text
    done = client.post(
        f"/medbook/desk/books/{book_id}/entries",
        data={
            "csrf": token,
            "kind": "lab_result",
            "item_code": "helminths",
            "performed_on": "2026-03-02",
            "result": "negative",
            "result_text": "яйца гельминтов не обнаружены",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/medbook/desk/books/{book_id}?done=entry"
    page = client.get(done.headers["location"] + "&lang=en")
    assert "The entry is recorded." in page.text and "яйца гельминтов не обнаружены" in page.text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(JournalEntry)) == 1
    sign_in(client, world, "cook")
    reads = client.get("/medbook/my?lang=en").text
    assert "periodic examination" in reads


def test_responsible_therapist_grants_clearance_only_with_the_full_scope(client: TestClient, world: World) -> None:
    book_id = int(issue_book(client, world)["id"])
    sign_in(client, world, "rt_a")
    page = client.get(f"/medbook/desk/books/{book_id}?lang=en")
    assert page.status_code == 200 and f"/medbook/desk/books/{book_id}/clearance" in page.text
    token = csrf_of(page.text)
    early = client.post(f"/medbook/desk/books/{book_id}/clearance?lang=en", data={"csrf": token, "decision": "granted"})
    assert early.status_code == 422 and "Work clearance needs every required examination" in early.text
    clean_scope(client, world, book_id)
    granted = client.post(
        f"/medbook/desk/books/{book_id}/clearance", data={"csrf": token, "decision": "granted"}, follow_redirects=False
    )
    assert granted.status_code == 303
    shown = client.get(granted.headers["location"] + "&lang=en").text
    assert "The clearance decision is recorded." in shown and "действителен до 02.03.2027" in shown
    sign_in(client, world, "clin_a")
    assert (
        client.post(
            f"/medbook/desk/books/{book_id}/clearance", data={"csrf": token, "decision": "refused"}, headers=HTML
        ).status_code
        == 403
    )
