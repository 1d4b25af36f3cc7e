"""The book as a PDF (C-10, C-03): owner data, clearance and journal in the owner's language, signature states,
superseded entries marked, and the facility's QR seal that an offline verifier accepts (docs/credentials.md §6)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent
from emhana.identity.models import Person
from emhana.kernel.config import get_settings
from emhana.medbook import seal as medbook_seal
from emhana.trust.models import DocumentSigner, IssuedSeal
from emhana.trust.scheme import publish
from emhana.trust.scheme.signers import utc
from emhana.trust.seals import kzmb1 as trust_seal
from emhana.trust.seals.verifier import Outcome, Result, verify
from tests.builders.medbook import NOW, World, granted_book, issue_book, record, sign_in
from tests.builders.signatures import sign_entries

API = "/api/v1/medbook"


def check(sessions: sessionmaker[Session], text: str, at: dt.datetime = NOW) -> Result:
    """Verify a seal as an offline verifier holding the service's live trust and revocation lists would."""
    with sessions.begin() as s:
        return verify(text, publish.context(s, now=at), at)


def download(client: TestClient) -> PdfReader:
    r = client.get("/medbook/my/book.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and "attachment" in r.headers["content-disposition"]
    return PdfReader(io.BytesIO(r.content))


def text_of(pdf: PdfReader) -> str:
    """Return the text of every page with line breaks and runs of spaces as single spaces (wrapped cells)."""
    return " ".join(" ".join(page.extract_text() for page in pdf.pages).split())


def seal_in(pdf: PdfReader) -> str | None:
    images = [image for page in pdf.pages for image in page.images]
    return trust_seal.read_qr(images[0].data) if images else None


def owner_name(sessions: sessionmaker[Session], w: World) -> str:
    with sessions() as s:
        person = s.get(Person, w.cook)
        assert person is not None
        return f"{person.surname} {person.given_name}"


def test_the_pdf_speaks_the_owner_language_and_carries_a_seal_that_verifies(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book = granted_book(client, world)
    until = dt.date.fromisoformat(book["clearance"]["valid_until"]).strftime("%d.%m.%Y")
    sign_in(client, world, "cook")
    russian = download(client)
    text = text_of(russian)
    assert owner_name(sessions, world) in text and world.cook_iin in text
    assert f"Личная медицинская книжка № {book['id']}" in text
    assert "Допущен к работе" in text and f"действителен до {until}" in text and "Подписано автором" in text
    assert "дейін жарамды" not in text
    sealed = seal_in(russian)
    assert sealed is not None and sealed.startswith("KZMB1:")
    verdict = check(sessions, sealed)
    assert verdict.outcome is Outcome.VALID, verdict
    assert verdict.shown is not None and verdict.shown["name"] == owner_name(sessions, world)
    assert verdict.shown["valid_until"].startswith(
        str(dt.date.fromisoformat(book["clearance"]["valid_until"]) - dt.timedelta(days=1))
    )  # midnight Kazakhstan time, in UTC
    assert verdict.shown["categories"] == ["catering"] and verdict.shown["facility_bin"] == "150340001236"
    assert world.cook_iin not in json.dumps(verdict.to_dict())  # never an IIN in a QR code
    # The seal expires with the clearance: the verifier says EXPIRED on its last day's end.
    later = dt.datetime.combine(dt.date.fromisoformat(book["clearance"]["valid_until"]), dt.time(1), NOW.tzinfo)
    assert check(sessions, sealed, later).outcome is Outcome.EXPIRED

    r = client.put(f"{API}/me/language", headers=world.h["cook"], json={"language": "kk"})
    assert r.status_code == 200, r.text
    kazakh = text_of(download(client))
    assert owner_name(sessions, world) in kazakh and f"{until} дейін жарамды" in kazakh
    assert "Жұмысқа жіберілді" in kazakh and "Авторы қол қойған" in kazakh
    assert "действителен до" not in kazakh and "Допущен к работе" not in kazakh


def test_the_download_is_an_audited_read(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    book_id = int(issue_book(client, world)["id"])
    sign_in(client, world, "cook")
    download(client)
    with sessions() as s:
        reads = s.execute(
            select(AuditEvent.action, AuditEvent.purpose, AuditEvent.account_id).where(
                AuditEvent.object_type == "medical_book",
                AuditEvent.object_id == str(book_id),
                AuditEvent.action == "medbook.read",
            )
        ).all()
    assert [(a, p, who) for a, p, who in reads] == [("medbook.read", "download", world.actors["cook"].account_id)]
    page = client.get("/medbook/my?lang=en").text
    assert 'href="/medbook/my/book.pdf"' in page and "the owner downloads the book as a PDF" in page


def test_without_a_current_clearance_there_is_no_seal_and_superseded_entries_are_marked(
    client: TestClient, world: World
) -> None:
    book_id = int(issue_book(client, world)["id"])
    wrong = record(client, world, book_id, "lab_result", "helminths", "positive").json()
    fixed = client.post(
        f"{API}/entries/{wrong['id']}/correction",
        headers=world.h["clin_a"],
        json={
            "kind": "lab_result",
            "item_code": "helminths",
            "performed_on": "2026-03-02",
            "result": "negative",
            "reason": "wrong sample",
        },
    )
    assert fixed.status_code == 201, fixed.text
    sign_entries(client, world, fixed.json()["id"])  # a correction supersedes once signed (C-40)
    sign_in(client, world, "cook")
    pdf = download(client)
    text = text_of(pdf)
    assert seal_in(pdf) is None and not [i for p in pdf.pages for i in p.images]
    assert "Нет печати" in text  # the worker is told why there is no QR seal
    assert f"Заменена записью № {fixed.json()['id']}" in text
    assert f"Исправляет запись № {wrong['id']}. Причина: wrong sample" in text
    assert "Результат: положительный → отрицательный" in text  # the difference of the correction (C-41)


@pytest.mark.parametrize("who", ["employer", "clin_a", "rt_a"])
def test_only_the_owner_downloads_the_book(client: TestClient, world: World, who: str) -> None:
    issue_book(client, world)
    sign_in(client, world, who)
    assert client.get("/medbook/my/book.pdf").status_code == 403


def test_a_citizen_without_a_book_is_sent_back_to_the_book_page(client: TestClient, world: World) -> None:
    sign_in(client, world, "cook")
    r = client.get("/medbook/my/book.pdf", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/medbook/my"


def test_seal_for_refuses_what_is_not_a_current_grant(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    from emhana.medbook.models import JournalEntry, MedicalBook
    from emhana.medbook.service import current_entries, latest_clearance

    book = granted_book(client, world)
    r = client.post(f"{API}/books/{book['id']}/clearance", headers=world.h["rt_a"], json={"decision": "suspended"})
    assert r.status_code == 201, r.text
    with sessions() as s:
        row = s.get(MedicalBook, book["id"])
        assert row is not None
        mark = latest_clearance(current_entries(session=s, book_id=row.id))
        assert mark is not None and mark.clearance == "suspended"
        assert medbook_seal.seal_for(s, row, mark, now=NOW) is None
        granted = s.scalar(select(JournalEntry).where(JournalEntry.clearance == "granted"))
        assert granted is not None
        assert medbook_seal.seal_for(s, row, granted, now=NOW) is not None
        expired_at = dt.datetime.combine(granted.valid_until, dt.time(9), NOW.tzinfo)  # type: ignore[arg-type]
        assert medbook_seal.seal_for(s, row, granted, now=expired_at) is None
        assert medbook_seal.seal_for(s, row, None, now=NOW) is None


def test_a_seal_never_outlives_its_signer_certificate(
    client: TestClient, world: World, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DSC valid 100 days signs a clearance valid 12 months: the seal ends with the DSC (§6.5)."""
    monkeypatch.setattr(get_settings(), "trust_dsc_days", 100)
    monkeypatch.setattr(get_settings(), "trust_rotate_days", 90)
    granted_book(client, world)
    sign_in(client, world, "cook")
    text = seal_in(download(client))
    assert text is not None
    verdict = check(sessions, text)
    assert verdict.outcome is Outcome.VALID and verdict.shown is not None
    with sessions() as s:
        [signer_end] = [utc(d) for d in s.scalars(select(DocumentSigner.not_after))]
    assert verdict.shown["valid_until"] == signer_end.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert NOW + dt.timedelta(days=99) < signer_end < NOW + dt.timedelta(days=100)


def test_one_seal_per_clearance_verifies_through_the_live_lists_until_a_correction_supersedes_it(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book = granted_book(client, world)
    sign_in(client, world, "cook")
    first = seal_in(download(client))
    assert first is not None and seal_in(download(client)) == first  # kept, not issued on every download
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IssuedSeal)) == 1
    assert check(sessions, first).outcome is Outcome.VALID
    r = client.post("/api/v1/verify", json={"text": first})
    assert r.status_code == 200 and r.json()["outcome"] == "VALID", r.text
    assert r.json()["claims"]["facility_bin"] == "150340001236"
    # The clearance relied on the helminths test of 2 March; it is corrected: the seal is replaced (C-41).
    helminths = next(e for e in book["entries"] if e["item_code"] == "helminths")
    fixed = client.post(
        f"{API}/entries/{helminths['id']}/correction",
        headers=world.h["clin_a"],
        json={
            "kind": "lab_result",
            "item_code": "helminths",
            "performed_on": "2026-03-03",
            "result": "negative",
            "reason": "date of the sample",
        },
    )
    assert fixed.status_code == 201, fixed.text
    assert check(sessions, first).outcome is Outcome.VALID  # unsigned, the correction is pending (C-40)
    sign_entries(client, world, fixed.json()["id"])
    assert check(sessions, first).outcome is Outcome.SUPERSEDED
    r = client.post("/api/v1/verify", json={"text": first})
    assert r.status_code == 200 and r.json()["outcome"] == "SUPERSEDED", r.text
    second = seal_in(download(client))  # the clearance still stands: a new seal with the corrected dates
    assert second is not None and second != first and seal_in(download(client)) == second
    verdict = check(sessions, second)
    assert verdict.outcome is Outcome.VALID and verdict.shown is not None
    assert "2026-03-03" in json.dumps(verdict.shown)
    # A suspension leaves no seal, and the last one says so (C-30): suspended, not superseded; the first stays
    # superseded only if nothing stronger applies: its clearance is suspended too.
    r = client.post(f"{API}/books/{book['id']}/clearance", headers=world.h["rt_a"], json={"decision": "suspended"})
    assert r.status_code == 201, r.text
    assert check(sessions, second).outcome is Outcome.SUSPENDED
    assert check(sessions, first).outcome is Outcome.SUSPENDED
    assert seal_in(download(client)) is None


def test_each_entry_shows_its_own_signature_state(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    from emhana.medbook.models import JournalEntry

    book_id = int(issue_book(client, world)["id"])
    first = record(client, world, book_id, "lab_result", "helminths", "negative").json()
    record(client, world, book_id, "lab_result", "syphilis", "negative")
    with sessions.begin() as s:  # as emhana.trust.signatures does once the author's CMS is verified
        entry = s.get(JournalEntry, first["id"])
        assert entry is not None
        entry.signature_state = "signed"
    sign_in(client, world, "cook")
    text = text_of(download(client))
    assert text.count("Подписано автором") == 1 and text.count("Подпись ожидается") == 1
    # The page too shows the translated label in the book's language, never the raw state word.
    page = client.get("/medbook/my?lang=en").text
    assert page.count("Подписано автором") == 1 and ">signed<" not in page
    r = client.put(f"{API}/me/language", headers=world.h["cook"], json={"language": "kk"})
    assert r.status_code == 200, r.text
    page = client.get("/medbook/my?lang=ru").text
    assert page.count("Авторы қол қойған") == 1 and "Подписано автором" not in page and ">signed<" not in page
