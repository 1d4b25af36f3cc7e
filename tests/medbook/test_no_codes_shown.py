"""No code reaches a reader (issue 15 item 4): the desk, the organization's books, the issue form, the worker's
page, the employer's page, the book's PDF and the seal verifier, for a book with every kind of entry (clean scope,
a correction, a vaccination, a past infection, a specialist's diagnosis, clearance, a positive result that suspends
and refers), in Kazakh, Russian and English, show no catalogue item or group code, entry kind, result, clearance
status, source, employer kind or seal status as a word of their visible text; a refusal's message neither."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.medbook import catalogue
from emhana.medbook.models import ClearanceSeal
from emhana.medbook.rules import ClearanceStatus, EntryKind, Result, Source
from emhana.medbook.schemas import EmployerKind
from emhana.trust.seals.cwt import ClearanceStatus as SealStatus
from tests.builders.medbook import World, granted_book, link_employers, record, sign_in
from tests.builders.web import csrf_of

API = "/api/v1/medbook"
LANGUAGES = ("kk", "ru", "en")
INVISIBLE = {"script", "style", "title", "head"}
SHOWN_ATTRIBUTES = ("title", "aria-label", "alt", "placeholder", "label")


def known_codes() -> set[str]:
    """Every code a reader must never see: catalogue items and groups (and their scopes), entry kinds, results,
    clearance statuses, sources, employer kinds, the seal's clearance statuses."""
    enums: Iterable[Iterable[object]] = (EntryKind, Result, ClearanceStatus, Source, EmployerKind, SealStatus)
    codes = {str(getattr(v, "value", v)) for enum in enums for v in enum}
    codes |= {s.name.lower() for s in SealStatus}
    codes |= set(catalogue.item_names()) | set(catalogue.group_names())
    return {c for c in codes if c and not c.isdigit()}


def suspicious(codes: set[str], lang: str) -> set[str]:
    """The codes to look for in a language: in English, plain words (negative, vaccination) are also labels, so
    only the codes that no English sentence has (an underscore, a digit, xray, mis) are looked for."""
    if lang != "en":
        return codes
    return {c for c in codes if "_" in c or any(ch.isdigit() for ch in c) or c in ("xray", "mis")}


class Visible(HTMLParser):
    """The text a person sees (and hears from a screen reader), by the language it is marked in: data outside
    script and style, and the shown attributes; never the values of inputs and options, the form's data."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.parts: list[tuple[str, str]] = []
        self.hidden = 0
        self.langs: list[tuple[str, str, int]] = [("", lang, 0)]  # (tag, language, nesting of that tag)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in INVISIBLE:
            self.hidden += 1
        top_tag, top_lang, depth = self.langs[-1]
        marked = dict(attrs).get("lang")
        if marked:
            self.langs.append((tag, marked, 1))
        elif tag == top_tag:
            self.langs[-1] = (top_tag, top_lang, depth + 1)
        self.parts.extend((self.langs[-1][1], v) for k, v in attrs if k in SHOWN_ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in INVISIBLE and self.hidden:
            self.hidden -= 1
        top_tag, top_lang, depth = self.langs[-1]
        if tag == top_tag and len(self.langs) > 1:
            self.langs[-1] = (top_tag, top_lang, depth - 1)
            if depth == 1:
                self.langs.pop()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append((self.langs[-1][1], data))


def codes_in(text: str, codes: set[str]) -> list[str]:
    return sorted(c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text))


def codes_shown(html: str, lang: str, codes: set[str]) -> list[str]:
    """Return the codes in a page's visible text, each part looked at with its own language's list."""
    parser = Visible(lang)
    parser.feed(html)
    found: set[str] = set()
    for part_lang, text in parser.parts:
        found |= set(codes_in(text, suspicious(codes, part_lang)))
    return sorted(found)


def pdf_text(client: TestClient) -> str:
    r = client.get("/medbook/my/book.pdf")
    assert r.status_code == 200, r.text
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages).split())


def every_kind(client: TestClient, w: World, sessions: sessionmaker[Session]) -> tuple[int, str]:
    """Issue the cook's book with every kind of entry; return its id and the seal of its granted clearance."""
    link_employers(client, w)
    book = granted_book(client, w)
    book_id = int(book["id"])
    sign_in(client, w, "cook")
    assert client.get("/medbook/my").status_code == 200  # the page issues and keeps the seal
    with sessions() as s:
        seal = s.scalar(select(ClearanceSeal.text))
    assert seal is not None
    therapist = next(e for e in book["entries"] if e["item_code"] == "therapist")
    fixed = client.post(
        f"{API}/entries/{therapist['id']}/correction",
        headers=w.h["clin_a"],
        json={
            "kind": "lab_result",
            "item_code": "helminths",
            "performed_on": "2026-03-02",
            "result": "negative",
            "reason": "the wrong kind was chosen",
        },
    )
    assert fixed.status_code == 201, fixed.text
    for body in (
        {"kind": "vaccination", "item_code": "diphtheria", "result": "normal"},
        {"kind": "past_infection", "item_code": "dysentery", "codes": ["A03"], "clinical_status": "resolved"},
        {
            "kind": "specialist_diagnosis",
            "item_code": "therapist_diagnosis",
            "codes": ["J45"],
            "clinical_status": "resolved",
        },
    ):
        r = client.post(
            f"{API}/books/{book_id}/entries", headers=w.h["clin_a"], json={"performed_on": "2026-03-03", **body}
        )
        assert r.status_code == 201, r.text
    positive = record(client, w, book_id, "lab_result", "intestinal_carriage", "positive")  # suspends and refers
    assert positive.status_code == 201, positive.text
    return book_id, seal


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_code_is_shown_on_any_page_pdf_or_verdict(
    client: TestClient, world: World, sessions: sessionmaker[Session], lang: str
) -> None:
    book_id, seal = every_kind(client, world, sessions)
    codes = known_codes()
    shown: dict[str, list[str]] = {}

    def look(where: str, html: str, *, text_of: str = "") -> None:
        found = codes_in(html, suspicious(codes, text_of)) if text_of else codes_shown(html, lang, codes)
        if found:
            shown[where] = found

    sign_in(client, world, "rt_a")
    desk = client.get(f"/medbook/desk/books/{book_id}?lang={lang}")
    assert desk.status_code == 200 and "Тестов" in desk.text
    look("desk", desk.text)
    look("books", client.get(f"/medbook/desk/books?lang={lang}").text)
    look("issue form", client.get(f"/medbook/desk/issue?lang={lang}").text)
    refused = client.post(
        f"/medbook/desk/books/{book_id}/entries?lang={lang}",
        data={
            "csrf": csrf_of(desk.text),
            "kind": "lab_result",
            "item_code": "therapist",
            "performed_on": "2026-03-04",
            "result": "normal",
        },
    )
    assert refused.status_code == 422
    look("refusal at the desk", refused.text)
    sign_in(client, world, "employer")
    look("employer", client.get(f"/medbook/workers?lang={lang}").text)
    sign_in(client, world, "cook")
    for book_language in ("ru", "kk"):
        r = client.put(f"{API}/me/language", headers=world.h["cook"], json={"language": book_language})
        assert r.status_code == 200, r.text
        page = client.get(f"/medbook/my?lang={lang}")
        assert page.status_code == 200
        look(f"worker's page, book in {book_language}", page.text)
        if lang == book_language or (lang == "en" and book_language == "ru"):
            look(f"pdf in {book_language}", pdf_text(client), text_of=book_language)
    form = client.get(f"/verify?lang={lang}")
    verdict = client.post(f"/verify?lang={lang}", data={"csrf": csrf_of(form.text), "text": seal})
    assert verdict.status_code == 200 and 'id="claims"' in verdict.text
    look("verifier", verdict.text)
    assert shown == {}
