"""The attachment notice (A-54): a PDF in the recipient's language with Kazakh letters, no full IIN,
a detached signature that verifies, issued once; downloadable by the person and the deciding entity."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable

import pypdf
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.api import notify as notify_api
from emhana.attachment.notice.issue import ensure_notice
from emhana.attachment.notice.signer import DemoNotificationSigner, PendingSigner, Signature, verify
from emhana.identity.models import Person
from emhana.notify.outbox import RecipientKind, set_contact
from tests.builders.attachment import IN_WINDOW, Country

URL = "/api/v1/attachment"
NOW = IN_WINDOW + dt.timedelta(minutes=5)


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def iin_of(sessions: sessionmaker[Session], pid: int) -> str:
    with sessions() as s:
        return s.get_one(Person, pid).iin


@pytest.fixture
def signer(app: FastAPI) -> DemoNotificationSigner:
    demo = DemoNotificationSigner()
    app.dependency_overrides[notify_api.get_signer] = lambda: demo
    return demo


def test_a54_notice_in_kazakh_masks_the_iin_and_its_signature_verifies(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
    signer: DemoNotificationSigner,
) -> None:
    pid = person()
    with sessions.begin() as s:
        set_contact(session=s, kind=RecipientKind.PERSON, recipient_id=pid, language="kk", email=None)
    me = auth(Role.CITIZEN, person_id=pid)
    app = client.post(
        f"{URL}/applications", headers=me, json={"person_id": pid, "district_id": country.districts[("A1", 1)]}
    ).json()
    resp = client.get(f"{URL}/applications/{app['id']}/notice.pdf", headers=me)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf" and resp.headers["x-signature-status"] == "demo"
    pdf = resp.content
    text = text_of(pdf)
    assert "бекіту" in text.lower() and "Тестов Тест" in text and "15.03.1988" in text and "11.09.2025" in text
    assert "күтілуде" in text  # the organization's EDS: pending, said so
    iin = iin_of(sessions, pid)
    assert iin.encode() not in pdf and iin not in text and iin[-4:] in text
    sig = client.get(f"{URL}/applications/{app['id']}/notice.sig", headers=me).json()
    signature = Signature(
        format=sig["format"],
        algorithm=sig["algorithm"],
        value=sig["value"],
        certificate_pem=sig["certificate_pem"],
        digest_sha256=sig["sha256"],
        qualified=sig["qualified"],
        signed_at="",
    )
    assert verify(pdf, signature, entity_bin="150340001236", anchor=signer.ca_certificate)
    assert not verify(pdf + b" ", signature) and not verify(pdf, signature, entity_bin="201140004575")
    assert client.get(f"{URL}/applications/{app['id']}/notice.pdf", headers=me).content == pdf  # issued once


def test_a100_the_deciding_entity_may_download_and_others_may_not(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    signer: DemoNotificationSigner,
) -> None:
    pid = person()
    me = auth(Role.CITIZEN, person_id=pid)
    app = client.post(
        f"{URL}/applications", headers=me, json={"person_id": pid, "district_id": country.districts[("A1", 1)]}
    ).json()
    url = f"{URL}/applications/{app['id']}/notice.pdf"
    assert client.get(url, headers=auth(Role.REGISTRAR, entity_id=country.a)).status_code == 200
    assert client.get(url, headers=auth(Role.REGISTRAR, entity_id=country.b)).status_code == 403
    assert client.get(url, headers=auth(Role.CITIZEN, person_id=person())).status_code == 403
    assert client.get(url, headers=auth(Role.FUND_ADMIN)).status_code == 403
    # A missing application answers like someone else's: no oracle of which ids exist (issue 8).
    assert client.get(f"{URL}/applications/999999/notice.pdf", headers=me).status_code == 403


def test_a_refusal_notice_in_russian_gives_the_reason_code_and_text(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    pid = person()
    registrar = auth(Role.REGISTRAR, entity_id=country.a)
    app = client.post(
        f"{URL}/applications/written",
        headers=registrar,
        data={
            "application": json.dumps(
                {
                    "person_id": pid,
                    "district_id": country.districts[("A1", 1)],
                    "documents": [{"kind": "id_card", "number": "1"}],
                }
            )
        },
        files=[("files", ("a.pdf", b"%PDF", "application/pdf"))],
    ).json()
    url = f"{URL}/applications/{app['id']}/notice.pdf"
    assert client.get(url, headers=registrar).status_code == 404  # not decided yet: no notice
    client.post(
        f"{URL}/applications/{app['id']}/decision",
        headers={**registrar, "If-Match": f'"application-{app["id"]}-v1"'},
        json={"decision": "refuse", "reason_code": "attachment.documents_inaccurate", "note": "скан нечитаем"},
    )
    with sessions.begin() as s:
        notice = ensure_notice(s, application_id=app["id"], signer=PendingSigner(), now=NOW)
        assert (notice.kind, notice.language, notice.signature_status) == ("refusal", "ru", "pending")
        pdf = notice.pdf
        assert json.loads(notice.content)["reason_code"] == "attachment.documents_inaccurate"
    text = text_of(pdf)
    assert "Мотивированный отказ" in text and "attachment.documents_inaccurate" in text and "скан нечитаем" in text
    assert "Документы или сведения" in text or "недостовер" in text
    assert iin_of(sessions, pid).encode() not in pdf
    assert client.get(url, headers=registrar).content == pdf  # the stored notice, not a new one
