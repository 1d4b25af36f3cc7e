"""The correction form of the clinician's and responsible therapist's desk (C-40, C-41): choose an entry, give the
corrected values and a mandatory reason; only staff of the issuing organization; the history shows both entries
and the difference; every refusal has its own message and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.medbook.models import JournalEntry
from emhana.pages.medbook import router as medbook_pages
from emhana.web.deps import declared_roles, iter_routes
from tests.builders.medbook import World, counts, csrf_of, form, issue_book, record, sign_in
from tests.builders.signatures import sign_entries

HTML = {"Accept": "text/html"}


def desk_with_wrong_entry(client: TestClient, w: World, who: str = "clin_a") -> tuple[int, int, str]:
    book_id = int(issue_book(client, w)["id"])
    wrong = record(client, w, book_id, "specialist_exam", "therapist", "abnormal")
    assert wrong.status_code == 201, wrong.text
    sign_in(client, w, who)
    page = client.get(f"/medbook/desk/books/{book_id}?lang=en")
    assert page.status_code == 200
    return book_id, int(wrong.json()["id"]), page.text


def test_the_correction_route_declares_its_roles() -> None:
    found = {path: dependant for path, _m, dependant in iter_routes(medbook_pages)}
    assert declared_roles(found["/medbook/desk/books/{book_id}/correction"].dependencies) is not None


@pytest.mark.parametrize("who", ["clin_a", "rt_a"])
def test_staff_correct_an_entry_and_the_history_shows_both_and_the_difference(
    client: TestClient, world: World, sessions: sessionmaker[Session], who: str
) -> None:
    book_id, wrong_id, page = desk_with_wrong_entry(client, world, who)
    assert f'action="/medbook/desk/books/{book_id}/correction"' in page and "Correct an entry" in page
    assert f'<option value="{wrong_id}">' in page
    done = client.post(
        f"/medbook/desk/books/{book_id}/correction",
        data={"csrf": csrf_of(page), **form(wrong_id)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/medbook/desk/books/{book_id}?done=correction"
    shown = client.get(done.headers["location"] + "&lang=en").text
    assert "The correction is recorded" in shown
    with sessions() as s:
        rows = list(s.scalars(select(JournalEntry).where(JournalEntry.book_id == book_id).order_by(JournalEntry.id)))
    assert [(r.result, r.supersedes_id, r.reason) for r in rows] == [
        ("abnormal", None, None),
        ("normal", wrong_id, "ошибка при вводе результата"),
    ]
    assert rows[1].author_name == world.actors[who].display_name
    assert "Это исправление вступит в силу после подписания." in shown and "Заменена записью" not in shown
    sign_entries(client, world, rows[1].id)  # the correction takes effect once its author signed it (C-40)
    shown = client.get(done.headers["location"] + "&lang=en").text
    # Both stay in the history (the book speaks the owner's Russian): the old one superseded, the new one with
    # its reason and the field-by-field difference.
    assert f"Заменена записью № {rows[1].id}" in shown
    assert f"Исправляет запись № {wrong_id}. Причина: ошибка при вводе результата" in shown
    assert "<del>выявлена патология</del> → <ins>без патологии</ins>" in shown
    assert "<del>—</del> → <ins>без патологии</ins>" in shown  # the conclusion was empty before
    # The superseded entry is no longer offered for correction; the current one is.
    assert f'<option value="{wrong_id}">' not in shown and f'<option value="{rows[1].id}">' in shown


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"reason": "  "}, 422, "A correction must give its reason."),
        ({"performed_on": "2026-04-01"}, 422, "The date 01.04.2026 is in the future."),
        ({"entry_id": "999999"}, 404, "The journal entry does not exist."),
        ({"kind": "clearance"}, 422, "Check the form: a field is missing or not valid."),
    ],
)
def test_a_refused_correction_says_why_and_changes_nothing(
    client: TestClient,
    world: World,
    sessions: sessionmaker[Session],
    changes: dict[str, str],
    status: int,
    message: str,
) -> None:
    book_id, wrong_id, page = desk_with_wrong_entry(client, world)
    before = counts(sessions)
    r = client.post(
        f"/medbook/desk/books/{book_id}/correction?lang=en", data={"csrf": csrf_of(page), **form(wrong_id), **changes}
    )
    assert r.status_code == status and message in r.text
    assert counts(sessions)[:3] == before[:3]
    with sessions() as s:
        assert s.scalar(select(JournalEntry.id).where(JournalEntry.supersedes_id.is_not(None))) is None


def test_an_entry_of_another_book_or_an_already_corrected_one_is_refused(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    from tests.builders.medbook import book_body
    from tests.builders.people import add_person

    book_id, wrong_id, page = desk_with_wrong_entry(client, world)
    with sessions() as s:
        from emhana.identity.models import Person

        other_iin = s.get(Person, add_person(sessions)).iin  # type: ignore[union-attr]
    other = client.post("/api/v1/medbook/books", headers=world.h["rt_a"], json=book_body(world, iin=other_iin))
    assert other.status_code == 201, other.text
    crossed = client.post(
        f"/medbook/desk/books/{other.json()['id']}/correction?lang=en", data={"csrf": csrf_of(page), **form(wrong_id)}
    )
    assert crossed.status_code == 404 and "The journal entry does not exist." in crossed.text
    ok = client.post(
        f"/medbook/desk/books/{book_id}/correction",
        data={"csrf": csrf_of(page), **form(wrong_id)},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    before = counts(sessions)
    again = client.post(
        f"/medbook/desk/books/{book_id}/correction?lang=en",
        data={"csrf": csrf_of(page), **form(wrong_id, reason="second try")},
    )
    assert again.status_code == 409 and "This entry was already corrected" in again.text
    assert counts(sessions)[:3] == before[:3]


def test_only_authorized_staff_correct(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    book_id, wrong_id, page = desk_with_wrong_entry(client, world)
    token = csrf_of(page)
    before = counts(sessions)
    assert (
        client.post(f"/medbook/desk/books/{book_id}/correction", data={"csrf": "forged", **form(wrong_id)}).status_code
        == 403
    )
    sign_in(client, world, "clin_b")  # a clinician of another organization (C-40)
    token = csrf_of(client.get("/verify").text)  # CSRF tokens are bound to the session: each signs in anew
    other = client.post(f"/medbook/desk/books/{book_id}/correction?lang=en", data={"csrf": token, **form(wrong_id)})
    assert other.status_code == 403 and "Only clinicians and the responsible therapist" in other.text
    for who in ("cook", "employer", "reg_b"):
        sign_in(client, world, who)
        token = csrf_of(client.get("/verify").text)
        assert (
            client.post(
                f"/medbook/desk/books/{book_id}/correction", headers=HTML, data={"csrf": token, **form(wrong_id)}
            ).status_code
            == 403
        )
    assert counts(sessions)[:3] == before[:3]
