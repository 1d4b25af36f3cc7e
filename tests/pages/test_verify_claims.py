"""The verifier shows a seal's claims as the book does: the day in Kazakhstan's time (a clearance valid until
3 December is not shown as "2 December 19:00 UTC"), the birth date dd.mm.yyyy, the clearance and the decreed group
by their kk/ru/en names and never their codes; the JSON API keeps ISO instants and adds the local dates."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.kernel.clock import KZ_TIME
from emhana.trust.scheme import issue as seals
from emhana.trust.seals.cwt import Clearance, ClearanceStatus
from tests.builders.attachment import IN_WINDOW
from tests.builders.web import csrf_of

# A book's clearance "valid until 03.12.2026": its seal expires at the start of that day in Kazakhstan
# (emhana.medbook.seal), which is 2 December 19:00 in UTC.
BOOK_UNTIL = dt.datetime(2026, 12, 3, tzinfo=KZ_TIME)
CATERING = Clearance("СЕЙТҚАЛИ ДАНА", dt.date(1995, 4, 12), ClearanceStatus.FIT, ("catering",))


@pytest.fixture
def text(sessions: sessionmaker[Session], seeded_entity: int, now: Callable[[dt.datetime], None]) -> str:
    with sessions.begin() as s:
        return seals.issue_clearance(
            s, entity_id=seeded_entity, clearance=CATERING, expires_at=BOOK_UNTIL, now=IN_WINDOW
        )


def claims_of(html: str) -> str:
    found = re.search(r'<dl class="facts" id="claims">(.*?)</dl>', html, re.S)
    assert found, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))


@pytest.mark.parametrize(
    ("lang", "cleared", "group"),
    [
        ("kk", "Жұмысқа жіберілді", "Қоғамдық тамақтану"),
        ("ru", "Допущен к работе", "Общественное питание"),
        ("en", "Cleared for work", "Public catering"),
    ],
)
def test_the_page_shows_the_books_day_and_names_not_codes(
    client: TestClient, text: str, lang: str, cleared: str, group: str
) -> None:
    token = csrf_of(client.get(f"/verify?lang={lang}").text)
    done = client.post(f"/verify?lang={lang}", data={"csrf": token, "text": text})
    assert done.status_code == 200 and 'id="outcome">VALID<' in done.text
    claims = claims_of(done.text)
    assert "03.12.2026" in claims and "02.12.2026" not in claims and "T19:00" not in claims
    assert "12.04.1995" in claims and "1995-04-12" not in claims
    assert cleared in claims and group in claims
    assert not re.search(r"\b(fit|catering)\b", claims.replace(group, ""))
    # The moment of verification is Kazakhstan's time too (10:00 there, 05:00 UTC).
    assert "10.09.2025 10:00 (UTC+5)" in done.text and "UTC)" not in done.text.replace("(UTC+5)", "")


def test_the_api_keeps_iso_and_adds_the_local_day_and_the_labels(client: TestClient, text: str) -> None:
    body = client.post("/api/v1/verify", json={"text": text}).json()
    assert body["outcome"] == "VALID"
    claims = body["claims"]
    assert claims["valid_until"] == "2026-12-02T19:00:00Z" and claims["valid_until_local"] == "2026-12-03"
    assert claims["issued_at_local"] == "2025-09-10" and claims["timezone"] == "Asia/Almaty"
    assert claims["clearance"] == "fit" and claims["categories"] == ["catering"]  # the codes, for programs
    ru = {row["label"]: row["value"] for row in body["shown"]["ru"]}
    assert ru["Действует до"] == "03.12.2026" and ru["Дата рождения"] == "12.04.1995"
    assert "Общественное питание" in body["shown"]["ru"][3]["value"]
    kk = [row["value"] for row in body["shown"]["kk"]]
    assert "Жұмысқа жіберілді" in kk and "Қоғамдық тамақтану" in kk
