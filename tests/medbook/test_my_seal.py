"""The worker's seal on her page (emhana.medbook.my_seal): the QR code of her clearance's seal, big enough to scan
from a phone, with its last day; when there is none, the reason in words: no clearance, refused, suspended,
expired, awaiting the signature (C-20, C-21, C-30)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.facilities.models import Entity
from emhana.medbook import my_seal
from emhana.medbook.models import MedicalBook
from emhana.trust.seals.cwt import Clearance
from tests.builders.medbook import NOW, World, granted_book, issue_book

API = "/api/v1/medbook"
VALID_UNTIL = dt.date(2027, 3, 2)


class NoSigner:
    """A facility without a document-signer key: no seal can be made."""

    def issue(
        self, session: Session, entity: Entity, clearance: Clearance, *, expires_at: dt.datetime, now: dt.datetime
    ) -> str | None:
        return None


def view(sessions: sessionmaker[Session], book_id: int, now: dt.datetime = NOW, **kw: object) -> my_seal.SealView:
    with sessions.begin() as s:
        book = s.get(MedicalBook, book_id)
        assert book is not None
        return my_seal.seal_view(s, book, now=now, **kw)  # type: ignore[arg-type]


def test_a_granted_clearance_shows_its_seal_as_a_scannable_qr_code(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book = granted_book(client, world)
    seen = view(sessions, book["id"], label="QR")
    assert seen.reason is None and seen.valid_until == VALID_UNTIL and seen.svg is not None
    assert seen.svg.startswith(f'<svg width="{my_seal.QR_PIXELS}" height="{my_seal.QR_PIXELS}" role="img" ')
    assert "<title>QR</title>" in seen.svg and world.cook_iin not in seen.svg


def test_without_a_seal_the_reason_is_given_in_words(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book_id = int(issue_book(client, world)["id"])
    assert view(sessions, book_id).reason == my_seal.NO_CLEARANCE
    r = client.post(f"{API}/books/{book_id}/clearance", headers=world.h["rt_a"], json={"decision": "refused"})
    assert r.status_code == 201, r.text
    assert view(sessions, book_id) == my_seal.SealView(None, None, my_seal.REFUSED)
    r = client.post(f"{API}/books/{book_id}/clearance", headers=world.h["rt_a"], json={"decision": "suspended"})
    assert r.status_code == 201, r.text
    assert view(sessions, book_id).reason == my_seal.SUSPENDED


def test_an_expired_or_unsigned_clearance_says_so(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book = granted_book(client, world)
    later = dt.datetime(2027, 3, 3, 10, 0, tzinfo=NOW.tzinfo)
    assert view(sessions, book["id"], later) == my_seal.SealView(None, VALID_UNTIL, my_seal.EXPIRED)
    unsigned = view(sessions, book["id"], signers=NoSigner())
    mark = next(e for e in book["entries"] if e["kind"] == "clearance")
    expected = my_seal.AWAITING_SIGNATURE if mark["signature_state"] != "signed" else my_seal.UNAVAILABLE
    assert unsigned == my_seal.SealView(None, VALID_UNTIL, expected)
