"""The desk records a diagnosis with its ICD-10 codes and status (issue 15, C-30): an active one that bars the
work suspends clearance at once; a diagnosis item under a test's kind, or a diagnosis without a status, is
refused with a coded message and nothing is written."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.medbook.models import JournalEntry
from tests.builders.medbook import World, issue_book, sign_in
from tests.builders.web import csrf_of


def _entries(sessions: sessionmaker[Session]) -> list[tuple[str, str | None, str | None]]:
    with sessions() as s:
        return [
            (e.kind, e.clearance, e.clinical_status) for e in s.scalars(select(JournalEntry).order_by(JournalEntry.id))
        ]


def test_the_desk_offers_diagnoses_and_vaccinations_by_name(client: TestClient, world: World) -> None:
    book_id = int(issue_book(client, world)["id"])
    sign_in(client, world, "clin_a")
    for lang, words in (
        ("kk", ("Диагноз (АХЖ-10)", "Қызылшаға қарсы вакцинация", "АХЖ-10 кодтары (диагноз)")),
        ("ru", ("Диагноз (МКБ-10)", "Вакцинация против кори", "Коды МКБ-10 (диагноз)")),
        ("en", ("Diagnosis (ICD-10)", "Measles vaccination", "ICD-10 codes (a diagnosis)")),
    ):
        page = client.get(f"/medbook/desk/books/{book_id}?lang={lang}").text
        for word in words:
            assert word in page, (lang, word)


def test_an_active_diagnosis_typed_at_the_desk_suspends(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    sign_in(client, world, "clin_a")
    token = csrf_of(client.get(f"/medbook/desk/books/{book_id}?lang=en").text)
    base = {"csrf": token, "performed_on": "2026-03-02", "item_code": "diagnosis", "codes": "a15.0"}
    wrong_kind = client.post(f"/medbook/desk/books/{book_id}/entries?lang=en", data={**base, "kind": "lab_result"})
    assert wrong_kind.status_code == 422 and "Diagnosis (ICD-10)" in wrong_kind.text
    no_status = client.post(f"/medbook/desk/books/{book_id}/entries?lang=en", data={**base, "kind": "past_infection"})
    assert no_status.status_code == 422
    assert _entries(sessions) == []
    done = client.post(
        f"/medbook/desk/books/{book_id}/entries",
        data={**base, "kind": "specialist_diagnosis", "clinical_status": "active"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    kinds = _entries(sessions)
    assert kinds[0] == ("specialist_diagnosis", None, "active")
    assert ("clearance", "suspended", None) in kinds and any(k == "referral" for k, _c, _s in kinds)
    page = client.get(f"/medbook/desk/books/{book_id}?lang=ru").text
    assert "Туберкул" in page  # the diagnosis is named, not coded
