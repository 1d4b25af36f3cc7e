"""The desk's pages of an organization's books (emhana/pages/medbook_books.py) and the worker's seal on her page:
the list with labels and dates, its "due within N days" filter and pages; the responsible therapist's form that
issues a book (POST-redirect-GET by the book's number, never the IIN; a refusal keeps what was typed and says why in
the page's language); the QR code of the seal her PDF carries, or why there is none."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.identity.rules import Sex, make_iin
from emhana.kernel import clock
from emhana.medbook.models import ClearanceSeal, JournalEntry, MedicalBook
from emhana.medbook.my_seal import svg_of
from tests.builders.medbook import EMPLOYER_BIN, World, granted_book, issue_book, record, sign_in
from tests.builders.web import csrf_of

VALID_UNTIL = "02.03.2027"


def issue_form(world: World, **changes: str) -> dict[str, str]:
    return {
        "iin": world.cook_iin,
        "language": "ru",
        "profession": "повар",
        "position": "повар школьной столовой",
        "workplace": "Школа-лицей №5, столовая",
        "employer_bin": EMPLOYER_BIN,
        "group_code": "catering",
        **changes,
    }


def books_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(MedicalBook)) or 0


def test_the_books_list_shows_labels_and_dates(client: TestClient, world: World) -> None:
    book = granted_book(client, world)
    sign_in(client, world, "clin_a")
    page = client.get("/medbook/desk/books?lang=ru")
    assert page.status_code == 200, page.text
    text = page.text
    assert f'href="/medbook/desk/books/{book["id"]}"' in text
    assert "Допущен к работе" in text and VALID_UNTIL in text and "Тестов Тест" in text
    assert "Общественное питание" in text or "питани" in text  # the group's Russian name, not its code
    assert ">catering<" not in text and world.cook_iin not in text
    assert 'href="/medbook/desk/issue"' not in text  # a clinician does not issue books
    english = client.get("/medbook/desk/books?lang=en").text
    assert "Cleared for work" in english and "Books of the organization" in english
    # Due within N days: the clock on 10 March 2026, the clearance ends 2 March 2027.
    assert "Тестов Тест" not in client.get("/medbook/desk/books?lang=ru&due=1&days=30").text
    clock_ = clock.Fixed(dt.datetime(2027, 2, 10, 10, 0, tzinfo=clock.KZ_TIME))
    with clock.use(clock_):
        due = client.get("/medbook/desk/books?lang=ru&due=1").text
    assert "Тестов Тест" in due and 'value="30"' in due  # 30 days by default


def test_the_books_list_pages_keep_the_filter(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    issue_book(client, world)
    sign_in(client, world, "rt_a")
    page = client.get("/medbook/desk/books?lang=en&due=1&days=45")
    assert page.status_code == 200 and 'value="45"' in page.text and 'href="/medbook/desk/issue"' in page.text
    assert 'rel="next"' not in page.text


def test_the_responsible_therapist_issues_a_book_on_the_web(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, world, "rt_a")
    form = client.get("/medbook/desk/issue?lang=ru")
    assert form.status_code == 200
    assert 'value="catering"' in form.text and ">catering<" not in form.text  # groups by their names
    sent = client.post(
        "/medbook/desk/issue?lang=ru", data={**issue_form(world), "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    with sessions() as s:
        book = s.scalar(select(MedicalBook))
        assert book is not None and book.language == "ru" and book.group_code == "catering"
    assert location == f"/medbook/desk/books/{book.id}?done=issued" and world.cook_iin not in location
    shown = client.get(location + "&lang=ru").text
    assert "Личная медицинская книжка выдана." in shown and world.cook_iin in shown


def test_a_refused_issue_keeps_what_was_typed(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, world, "rt_a")
    token = csrf_of(client.get("/medbook/desk/issue?lang=ru").text)
    bad = client.post(
        "/medbook/desk/issue?lang=ru",
        data={**issue_form(world, employer_bin="123456789012", position="кондитер цеха"), "csrf": token},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and books_count(sessions) == 0
    assert 'value="кондитер цеха"' in bad.text and 'value="123456789012"' in bad.text
    assert f'value="{world.cook_iin}"' in bad.text and 'value="catering" selected' in bad.text
    assert re.search(r'id="issue-error">[^<]*(БИН|ИИН)', bad.text), bad.text  # the coded message, in Russian
    assert "medbook.invalid_employer" not in bad.text
    # A person the register does not know; a field left empty, named by its label.
    stranger = client.post(
        "/medbook/desk/issue?lang=en",
        data={**issue_form(world, iin=world.cook_iin[:-1] + str((int(world.cook_iin[-1]) + 1) % 10)), "csrf": token},
        follow_redirects=False,
    )
    assert stranger.status_code == 422 and "IIN" in stranger.text and books_count(sessions) == 0
    unknown_iin = _unregistered_iin()
    missing = client.post(
        "/medbook/desk/issue?lang=en",
        data={**issue_form(world, iin=unknown_iin), "csrf": token},
        follow_redirects=False,
    )
    assert missing.status_code == 404 and "No person with this IIN is in the register" in missing.text
    empty = client.post(
        "/medbook/desk/issue?lang=en", data={**issue_form(world, profession=""), "csrf": token}, follow_redirects=False
    )
    assert empty.status_code == 422 and "Check the field “Profession”" in empty.text
    # A second book for the same person is refused with its own message.
    issue_book(client, world)
    again = client.post(
        "/medbook/desk/issue?lang=en", data={**issue_form(world), "csrf": token}, follow_redirects=False
    )
    assert again.status_code == 409 and "already has a personal medical book" in again.text
    assert books_count(sessions) == 1


def _unregistered_iin() -> str:
    """A valid IIN nobody in the test register has (born 2 January 1950: the builders never use that day)."""
    iin = make_iin(dt.date(1950, 1, 2), Sex.MALE, 9001)
    assert iin is not None
    return iin


def test_only_the_responsible_therapist_issues_and_only_with_csrf(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, world, "clin_a")
    assert client.get("/medbook/desk/issue?lang=en").status_code == 403
    sign_in(client, world, "rt_a")
    forged = client.post(
        "/medbook/desk/issue", data={**issue_form(world), "csrf": "forged.token"}, follow_redirects=False
    )
    assert forged.status_code == 403 and books_count(sessions) == 0


def test_the_worker_sees_the_qr_code_of_her_seal(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, world, "cook")
    granted_book(client, world)
    page = client.get("/medbook/my?lang=kk")
    assert page.status_code == 200
    with sessions() as s:
        kept = s.scalar(select(ClearanceSeal))
        assert kept is not None
        text = kept.text
    assert svg_of(text, label="Жұмысқа рұқсат мөрінің QR коды") in page.text  # the seal the PDF carries
    assert "02.03.2027 дейін жарамды" in page.text
    assert world.cook_iin not in text


def test_without_a_seal_the_worker_is_told_why(client: TestClient, world: World) -> None:
    issue_book(client, world)
    sign_in(client, world, "cook")
    page = client.get("/medbook/my?lang=en")
    assert "No seal: the book has no clearance for work in force." in page.text and "<svg" not in page.text


def test_a_book_recorded_in_before_opens_with_a_stated_purpose(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book = issue_book(client, world)
    entry = record(client, world, book["id"], "specialist_exam", "therapist", "normal")
    assert entry.status_code == 201, entry.text
    with sessions.begin() as s:  # clinic B recorded this entry (as a second clinic does, issue 15)
        s.execute(update(JournalEntry).where(JournalEntry.id == entry.json()["id"]).values(entity_id=world.b))
    sign_in(client, world, "clin_b")
    listed = client.get("/medbook/desk/books?lang=en").text
    assert f'href="/medbook/desk/books/{book["id"]}"' in listed and "kept by another organization" in listed
    asked = client.get(f"/medbook/desk/books/{book['id']}?lang=en")
    assert asked.status_code == 422 and 'name="purpose"' in asked.text and world.cook_iin not in asked.text
    opened = client.get(f"/medbook/desk/books/{book['id']}?lang=en&purpose=periodic+examination")
    assert opened.status_code == 200 and world.cook_iin in opened.text
