"""The desk offers each item under its own kind, refuses a kind/item mismatch with a localized message and
writes nothing, fills the correction form from the entry a clinician picks, and names corrected items by their
labels in the book's history (C-13, C-40, C-41)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.medbook.pdf import _value
from tests.builders.medbook import World, counts, csrf_of, form, issue_book, record, sign_in


def optgroups(html: str, select_id: str) -> dict[str, list[str]]:
    """Return a select's item codes by the data-kind of their optgroup."""
    found = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert found, select_id
    return {
        kind: re.findall(r'<option value="([^"]+)"', body)
        for kind, body in re.findall(
            r'<optgroup label="[^"]+" data-kind="([^"]+)">(.*?)</optgroup>', found.group(1), re.S
        )
    }


def opened(client: TestClient, w: World) -> tuple[int, str]:
    book_id = int(issue_book(client, w)["id"])
    sign_in(client, w, "clin_a")
    return book_id, client.get(f"/medbook/desk/books/{book_id}?lang=en").text


def test_the_desk_offers_each_item_under_its_kind(client: TestClient, world: World) -> None:
    _book_id, page = opened(client, world)
    groups = optgroups(page, "item_code")
    assert sorted(groups["specialist_exam"]) == ["dermatovenerologist", "gynecologist", "therapist"]
    assert groups["xray"] == ["fluorography"]
    assert "gynecologist" not in groups["lab_result"] and "syphilis" in groups["lab_result"]
    assert '<optgroup label="Laboratory test" data-kind="lab_result">' in page


def test_a_mismatch_posted_at_the_desk_is_refused_in_the_page_language(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id, page = opened(client, world)
    before = counts(sessions)
    r = client.post(
        f"/medbook/desk/books/{book_id}/entries?lang=kk",
        data={
            "csrf": csrf_of(page),
            "kind": "lab_result",
            "item_code": "gynecologist",
            "performed_on": "2026-03-02",
            "result": "negative",
        },
    )
    assert r.status_code == 422
    alert = re.search(r'<p class="alert" role="alert">(.*?)</p>', r.text, re.S)
    assert alert and "Гинеколог" in alert.group(1) and "gynecologist" not in alert.group(1)
    assert counts(sessions)[:3] == before[:3]


def test_picking_an_entry_fills_the_correction_form_with_its_values(client: TestClient, world: World) -> None:
    book_id = int(issue_book(client, world)["id"])
    first = record(client, world, book_id, "specialist_exam", "therapist", "normal").json()
    picked = client.post(
        f"/api/v1/medbook/books/{book_id}/entries",
        headers=world.h["clin_a"],
        json={
            "kind": "xray",
            "item_code": "fluorography",
            "performed_on": "2026-02-27",
            "result": "abnormal",
            "result_text": "очаговая тень",
        },
    ).json()
    sign_in(client, world, "clin_a")
    page = client.get(f"/medbook/desk/books/{book_id}?lang=en").text
    assert f'href="/medbook/desk/books/{book_id}?correct={picked["id"]}#correct"' in page
    assert f"?correct={first['id']}#correct" in page
    page = client.get(f"/medbook/desk/books/{book_id}?lang=en&correct={picked['id']}").text
    form_html = page[page.index('id="correct"') :]
    assert f'<option value="{picked["id"]}" selected>' in form_html
    assert re.search(r'<select id="correct-kind".*?<option value="xray" selected>', form_html, re.S)
    assert re.search(r'<select id="correct-item".*?<option value="fluorography" selected>', form_html, re.S)
    assert 'id="correct-date" name="performed_on" type="date" max="2026-03-10" value="2026-02-27"' in form_html
    assert re.search(r'<select id="correct-result".*?<option value="abnormal" selected>', form_html, re.S)
    assert 'value="очаговая тень"' in form_html


def test_a_corrected_item_is_named_not_coded_in_the_history(client: TestClient, world: World) -> None:
    book_id = int(issue_book(client, world)["id"])
    wrong = record(client, world, book_id, "specialist_exam", "therapist", "normal").json()
    sign_in(client, world, "clin_a")
    page = client.get(f"/medbook/desk/books/{book_id}?lang=en").text
    done = client.post(
        f"/medbook/desk/books/{book_id}/correction",
        data={"csrf": csrf_of(page), **form(wrong["id"], item_code="dermatovenerologist")},
    )
    assert done.status_code == 200, done.text
    changes = re.search(r'<ul class="changes">(.*?)</ul>', done.text, re.S)
    assert changes, done.text
    assert "<del>Терапевт</del>" in changes.group(1) and "<ins>Дерматовенеролог</ins>" in changes.group(1)
    assert "dermatovenerologist" not in changes.group(1)


def test_the_pdf_names_a_corrected_item_in_the_books_language() -> None:
    assert _value("kk", "item_code", "helminths") == "Гельминттерге зерттеу"
    assert _value("ru", "item_code", "intestinal_carriage").startswith("Бактериологическое исследование")
