"""The attachment notice carries the organization's QR seal (A-54): read it from the PDF, verify it on the API."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pypdf
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.identity.models import Person
from emhana.trust.scheme import publish
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.verifier import Outcome
from tests.builders.attachment import IN_WINDOW, Country


def test_the_notice_pdf_carries_a_seal_that_verifies_and_names_no_person(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
    now: Callable[[dt.datetime], None],
) -> None:
    pid = person()
    me = auth(Role.CITIZEN, person_id=pid)
    app = client.post(
        "/api/v1/attachment/applications",
        headers=me,
        json={"person_id": pid, "district_id": country.districts[("A1", 1)]},
    ).json()
    pdf = client.get(f"/api/v1/attachment/applications/{app['id']}/notice.pdf", headers=me)
    assert pdf.status_code == 200, pdf.text
    images = [image for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages for image in page.images]
    assert len(images) == 1
    text = seal.read_qr(images[0].data)
    assert text is not None and text.startswith("KZMB1:")
    with sessions() as s:
        iin = s.get_one(Person, pid).iin
    # The routes' clock stands in the 2025 campaign: at that time the seal is valid ...
    with sessions.begin() as s:
        verdict = publish.verify_text(s, text, now=IN_WINDOW + dt.timedelta(days=1))
    assert verdict.outcome is Outcome.VALID, verdict
    # ... and over a year later the API finds it expired: a notice seal is valid a year at most.
    now(IN_WINDOW + dt.timedelta(days=400))
    result = client.post("/api/v1/verify", json={"text": text}).json()
    assert result["outcome"] == "EXPIRED" and result["reason"] == "expired"
    claims = result["claims"]
    assert claims["record_type"] == "attachment.notification" and claims["facility_bin"] == "150340001236"
    assert claims["notice_kind"] == "attachment" and claims["notice_number"].endswith(f"{app['id']:08d}")
    assert iin not in text and iin not in str(result)
