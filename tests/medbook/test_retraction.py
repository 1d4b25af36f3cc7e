"""A retraction (issue 17): an entry entered in error is withdrawn by a new signed row that supersedes it; the entry
then counts nowhere (entries in force, the diagnosis rules of C-30), the book shows it as retracted, it takes no
correction or second retraction, clearance and referral entries are not retracted, and the hash chain holds."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.kernel.errors import CorrectionReasonRequired, DiagnosisBarsWork, NotCorrectable
from emhana.medbook import infections, journal
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.schemas import ClinicalKind, CorrectionIn
from emhana.medbook.service import current_entries, retracted_by
from emhana.trust.chain.verify import verify
from tests.builders.medbook import NOW, World, issue_book, record, sign_in

API = "/api/v1/medbook"


def in_force(sessions: sessionmaker[Session], book_id: int) -> list[int]:
    with sessions() as s:
        return [e.id for e in current_entries(session=s, book_id=book_id)]


def retract(sessions: sessionmaker[Session], w: World, entry_id: int, reason: str = "entered in error") -> int:
    with sessions.begin() as s:
        return journal.retract(session=s, actor=w.actors["clin_a"], entry_id=entry_id, reason=reason, now=NOW).id


def test_a_retracted_entry_counts_nowhere_and_the_book_shows_it(
    client: TestClient, world: World, sessions: sessionmaker[Session], engine: Engine
) -> None:
    book_id = int(issue_book(client, world)["id"])
    kept = record(client, world, book_id, "specialist_exam", "therapist", "normal").json()["id"]
    wrong = record(client, world, book_id, "lab_result", "helminths", "negative").json()["id"]
    retraction = retract(sessions, world, wrong)
    with sessions() as s:
        row = s.get(JournalEntry, retraction)
        assert row is not None
        assert (row.retracted, row.supersedes_id, row.signature_state) == (True, wrong, "signed")
        assert (row.kind, row.item_code, row.result) == ("lab_result", "helminths", None)
        assert retracted_by(session=s, book_id=book_id) == {wrong: retraction, retraction: retraction}
    assert in_force(sessions, book_id) == [kept]
    sign_in(client, world, "clin_a")
    page = client.get(f"/medbook/desk/books/{book_id}?lang=en").text  # the book speaks its own language (ru)
    assert f"Отозвана как внесённая ошибочно записью № {retraction}" in page
    assert f"Отзывает запись № {wrong}, внесённую ошибочно. Причина: entered in error" in page
    assert page.count('class="superseded retracted"') == 2  # both rows stay in the history, out of force
    api = client.get(f"{API}/books/{book_id}", headers=world.h["rt_a"]).json()
    by_id = {e["id"]: e for e in api["entries"]}
    assert by_id[wrong]["retracted_by_id"] == retraction and not by_id[wrong]["current"]
    assert by_id[retraction]["retracted"] and not by_id[retraction]["current"]
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, [str(f) for f in report.findings]


def test_a_retracted_diagnosis_no_longer_bars_work(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    body = {
        "kind": "past_infection",
        "item_code": "tuberculosis",
        "performed_on": "2026-03-09",
        "codes": ["A15.0"],
        "clinical_status": "active",
    }
    r = client.post(f"{API}/books/{book_id}/entries", headers=world.h["clin_a"], json=body)
    assert r.status_code == 201, r.text
    with sessions() as s:
        book = s.get(MedicalBook, book_id)
        assert book is not None
        with pytest.raises(DiagnosisBarsWork):
            infections.refuse_if_barred(s, book, dt.date(2026, 3, 10))
    retract(sessions, world, int(r.json()["id"]))
    with sessions() as s:
        book = s.get(MedicalBook, book_id)
        assert book is not None
        infections.refuse_if_barred(s, book, dt.date(2026, 3, 10))  # C-30: the rules no longer see it


def test_a_retraction_takes_the_latest_version_and_every_earlier_one_with_it(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    first = record(client, world, book_id, "lab_result", "helminths", "negative").json()["id"]
    data = CorrectionIn(
        kind=ClinicalKind.LAB_RESULT,
        item_code="helminths",
        performed_on=dt.date(2026, 3, 3),
        result_text="corrected",
        reason="typo",
    )
    with sessions.begin() as s:
        pending = journal.correct(session=s, actor=world.actors["clin_a"], entry_id=first, data=data, now=NOW).id
    assert in_force(sessions, book_id) == [first]  # the correction awaits its signature
    retraction = retract(sessions, world, first)  # named by its first version: the latest one is retracted
    with sessions() as s:
        assert s.scalar(select(JournalEntry.supersedes_id).where(JournalEntry.id == retraction)) == pending
    assert in_force(sessions, book_id) == []


def test_what_cannot_be_retracted(client: TestClient, world: World, sessions: sessionmaker[Session]) -> None:
    book_id = int(issue_book(client, world)["id"])
    wrong = record(client, world, book_id, "lab_result", "helminths", "negative").json()["id"]
    with pytest.raises(CorrectionReasonRequired):
        retract(sessions, world, wrong, reason=" ")
    retract(sessions, world, wrong)
    with pytest.raises(journal.EntryRetracted):
        retract(sessions, world, wrong)
    data = CorrectionIn(
        kind=ClinicalKind.LAB_RESULT, item_code="helminths", performed_on=dt.date(2026, 3, 3), reason="again"
    )
    with sessions() as s:
        retraction = s.scalar(select(JournalEntry.id).where(JournalEntry.retracted.is_(True)))
        assert retraction is not None
        with pytest.raises(journal.EntryRetracted):
            journal.correct(session=s, actor=world.actors["clin_a"], entry_id=retraction, data=data, now=NOW)
    r = client.post(f"{API}/books/{book_id}/clearance", headers=world.h["rt_a"], json={"decision": "suspended"})
    assert r.status_code == 201, r.text
    with pytest.raises(NotCorrectable):
        retract(sessions, world, int(r.json()["id"]))
