"""Signatures that count (C-06, C-40, C-41): no seal while the clearance is unsigned, a VALID one once its
clinician signed it; an unsigned correction is pending (the old entry stays in force, the seal unchanged) until
signed, which supersedes the entry and withdraws the old seal; unsigned findings count for nothing a seal asserts;
an invalid signature is refused with its coded error and changes nothing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.medbook import seal, service
from emhana.medbook.models import ClearanceSeal, JournalEntry, MedicalBook
from emhana.trust.keys import pki
from emhana.trust.scheme import publish
from emhana.trust.seals.cwt import Section
from emhana.trust.seals.verifier import Outcome
from emhana.trust.signatures.models import RecordSignature
from tests.builders.medbook import NOW, World, granted_book, sign_in
from tests.builders.signatures import PASSWORD, certificate_of, ncalayer, sign_entries, trust_test_pki

API = "/api/v1/medbook"
SIGN = "/api/v1/signatures/medbook_entry"


def book_of(sessions: sessionmaker[Session], book_id: int) -> tuple[MedicalBook, JournalEntry | None]:
    with sessions() as s:
        book = s.get_one(MedicalBook, book_id)
        return book, service.latest_clearance(service.current_entries(session=s, book_id=book_id))


def sealed(sessions: sessionmaker[Session], book_id: int, now: dt.datetime = NOW) -> str | None:
    """Return the seal of a book's clearance in force (issued and kept, as a page or PDF would)."""
    with sessions.begin() as s:
        book = s.get_one(MedicalBook, book_id)
        mark = service.latest_clearance(service.current_entries(session=s, book_id=book_id))
        return seal.seal_for(s, book, mark, now=now)


def outcome(sessions: sessionmaker[Session], text: str, now: dt.datetime = NOW) -> Outcome:
    with sessions.begin() as s:
        return publish.verify_text(s, text, now=now).outcome


def entry_ids(sessions: sessionmaker[Session], book_id: int, **where: str) -> list[int]:
    with sessions() as s:
        query = select(JournalEntry.id).where(JournalEntry.book_id == book_id).order_by(JournalEntry.id)
        for name, value in where.items():
            query = query.where(getattr(JournalEntry, name) == value)
        return list(s.scalars(query))


def current_ids(sessions: sessionmaker[Session], book_id: int) -> list[int]:
    with sessions() as s:
        return [e.id for e in service.current_entries(session=s, book_id=book_id)]


def test_no_seal_while_the_clearance_is_unsigned_and_signing_it_gives_a_valid_one(
    app: FastAPI, client: TestClient, world: World, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    book_id = int(granted_book(client, world, signed=False)["id"])
    [clearance] = entry_ids(sessions, book_id, kind="clearance")
    findings = [i for i in entry_ids(sessions, book_id) if i != clearance]
    sign_entries(client, world, *findings)  # the findings are signed; the clearance is not
    assert sealed(sessions, book_id) is None
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ClearanceSeal)) == 0
        assert seal.awaits_signature(s.get_one(JournalEntry, clearance), NOW.date())
    # The PDF says the clearance awaits its signature, and carries no QR code.
    sign_in(client, world, "cook")
    pdf = client.get("/medbook/my/book.pdf")
    assert pdf.status_code == 200 and b"/Subtype /Image" not in pdf.content

    # The responsible therapist signs the clearance through the NCALayer API: now it is sealed, VALID.
    trust_test_pki(app)
    issued = certificate_of(sessions, world.actors["rt_a"].account_id)
    p12 = tmp_path / "therapist.p12"
    p12.write_bytes(pki.to_pkcs12("therapist", issued, [trust_test_pki(app).inter.certificate], PASSWORD))
    data = base64.b64decode(client.get(f"{SIGN}/{clearance}/to-sign", headers=world.h["rt_a"]).json()["canonical"])
    cms = ncalayer(p12, data)  # the clock moves to the wall clock, where NCALayer signs
    r = client.post(f"{SIGN}/{clearance}", headers={**world.h["rt_a"], "Idempotency-Key": "c-1"}, json={"cms": cms})
    assert r.status_code == 201, r.text
    now = dt.datetime.now(dt.UTC)
    text = sealed(sessions, book_id, now)
    assert text is not None and outcome(sessions, text, now) is Outcome.VALID
    with sessions() as s:
        book = s.get_one(MedicalBook, book_id)
        mark = s.get_one(JournalEntry, clearance)
        summary = seal.summary_of(s, book, mark)
        assert summary is not None and not seal.awaits_signature(mark, now.date())
        stored = s.scalar(select(RecordSignature.cms).where(RecordSignature.record_id == clearance))
    # §6.3 key 8: the seal carries the hash of the clinician's CMS of the clearance.
    assert stored is not None and summary.record_hash == hashlib.sha256(stored).digest()[:16]
    assert {section for section, _ in summary.dates} == {Section.EXAM, Section.LAB, Section.XRAY}


def test_unsigned_findings_count_for_nothing_the_seal_asserts(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(granted_book(client, world, signed=False)["id"])
    [clearance] = entry_ids(sessions, book_id, kind="clearance")
    exams = entry_ids(sessions, book_id, kind="specialist_exam")
    sign_entries(client, world, clearance, *exams)  # the lab results and the X-ray stay unsigned
    text = sealed(sessions, book_id)
    assert text is not None and outcome(sessions, text) is Outcome.VALID
    with sessions() as s:
        summary = seal.summary_of(s, s.get_one(MedicalBook, book_id), s.get_one(JournalEntry, clearance))
    assert summary is not None and [section for section, _ in summary.dates] == [Section.EXAM]


def correct_therapist(client: TestClient, world: World, entry_id: int) -> int:
    r = client.post(
        f"{API}/entries/{entry_id}/correction",
        headers=world.h["clin_a"],
        json={
            "kind": "specialist_exam",
            "item_code": "therapist",
            "performed_on": "2026-03-04",
            "result": "normal",
            "reason": "дата осмотра указана неверно",
        },
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_an_unsigned_correction_is_pending_until_signed_then_it_supersedes_and_withdraws_the_seal(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(granted_book(client, world)["id"])
    first = sealed(sessions, book_id)
    assert first is not None and outcome(sessions, first) is Outcome.VALID
    old = entry_ids(sessions, book_id, item_code="therapist")[0]
    fixed = correct_therapist(client, world, old)

    # Unsigned: the old entry stays in force, the correction is pending, the seal is the same and VALID.
    assert old in current_ids(sessions, book_id) and fixed not in current_ids(sessions, book_id)
    assert sealed(sessions, book_id) == first and outcome(sessions, first) is Outcome.VALID
    with sessions() as s:
        assert s.get_one(JournalEntry, fixed).signature_state == "pending"
    sign_in(client, world, "clin_a")
    desk = client.get(f"/medbook/desk/books/{book_id}?lang=en").text
    # The desk shows it awaiting signature (in the book's language), with a sign button for its author only.
    assert "Подпись ожидается" in desk and f'data-ncalayer-sign="{fixed}"' in desk and "Sign with NCALayer" in desk
    assert desk.count("data-ncalayer-sign=") == 1

    # Signed: the correction supersedes the entry, the old seal is SUPERSEDED, a new one says the new date.
    sign_entries(client, world, fixed)
    assert old not in current_ids(sessions, book_id) and fixed in current_ids(sessions, book_id)
    assert outcome(sessions, first) is Outcome.SUPERSEDED
    second = sealed(sessions, book_id)
    assert second is not None and second != first and outcome(sessions, second) is Outcome.VALID
    with sessions() as s:
        [clearance] = [e for e in service.current_entries(session=s, book_id=book_id) if e.kind == "clearance"]
        summary = seal.summary_of(s, s.get_one(MedicalBook, book_id), clearance)
    assert summary is not None and dict(summary.dates)[Section.EXAM] == dt.date(2026, 3, 4)


@pytest.mark.parametrize(
    ("what", "code"), [("garbage", "signature.malformed"), ("tampered", "signature.digest_mismatch")]
)
def test_an_invalid_signature_of_a_clearance_or_a_correction_is_refused_and_changes_nothing(
    app: FastAPI,
    client: TestClient,
    world: World,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    what: str,
    code: str,
) -> None:
    book_id = int(granted_book(client, world, signed=False)["id"])
    [clearance] = entry_ids(sessions, book_id, kind="clearance")
    sign_entries(client, world, *[i for i in entry_ids(sessions, book_id) if i != clearance])
    old = entry_ids(sessions, book_id, item_code="therapist")[0]
    fixed = correct_therapist(client, world, old)
    p = trust_test_pki(app)
    for entry_id, name in ((clearance, "rt_a"), (fixed, "clin_a")):
        issued = certificate_of(sessions, world.actors[name].account_id)
        p12 = tmp_path / f"{name}.p12"
        p12.write_bytes(pki.to_pkcs12(name, issued, [p.inter.certificate], PASSWORD))
        data = base64.b64decode(client.get(f"{SIGN}/{entry_id}/to-sign", headers=world.h[name]).json()["canonical"])
        cms = base64.b64encode(b"\x30\x03\x02\x01\x00").decode() if what == "garbage" else ncalayer(p12, data + b" ")
        headers = {**world.h[name], "Idempotency-Key": f"{what}-{entry_id}", "Accept-Language": "kk"}
        r = client.post(f"{SIGN}/{entry_id}", headers=headers, json={"cms": cms})
        assert r.status_code == 422 and r.json()["code"] == code, r.text
        assert set(r.json()["messages"]) == {"kk", "ru", "en"}
    with sessions() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(RecordSignature)
                .where(RecordSignature.record_id.in_([clearance, fixed]))
            )
            == 0
        )
        assert s.get_one(JournalEntry, clearance).signature_state == "pending"
    assert sealed(sessions, book_id, dt.datetime.now(dt.UTC)) is None
    assert old in current_ids(sessions, book_id) and fixed not in current_ids(sessions, book_id)


def test_a_new_grant_counts_once_signed_and_only_then_replaces_the_standing_seal(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    """Until the new grant is signed the earlier signed decision stands with its seal; the book says a new one
    awaits its signature; signing it supersedes the earlier seal and seals the new decision."""
    book_id = int(granted_book(client, world)["id"])
    first = sealed(sessions, book_id)
    assert first is not None and outcome(sessions, first) is Outcome.VALID
    again = client.post(f"{API}/books/{book_id}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert again.status_code == 201, again.text
    book = client.get(f"{API}/books/{book_id}", headers=world.h["rt_a"]).json()
    assert book["clearance"]["pending_grant_on"] == NOW.date().isoformat()
    assert book_of(sessions, book_id)[1].id != again.json()["id"]  # type: ignore[union-attr]
    assert sealed(sessions, book_id) == first and outcome(sessions, first) is Outcome.VALID
    sign_in(client, world, "rt_a")
    desk = client.get(f"/medbook/desk/books/{book_id}?lang=en").text
    assert "он вступит в силу после подписания врачом" in desk  # the book speaks its own language (ru)
    sign_entries(client, world, again.json()["id"])
    assert outcome(sessions, first) is Outcome.SUPERSEDED
    second = sealed(sessions, book_id)
    assert second is not None and second != first and outcome(sessions, second) is Outcome.VALID
    assert client.get(f"{API}/books/{book_id}", headers=world.h["rt_a"]).json()["clearance"]["pending_grant_on"] is None
