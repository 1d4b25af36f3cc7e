"""The attachment notice says whether the organization has signed it (A-54): pending until its CMS is accepted
through emhana.trust.signatures, then ``signed``, and the PDF handed out (download and e-mail) says so."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pypdf
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.notice.models import AttachmentNotice
from emhana.attachment.notice.signer import DemoNotificationSigner
from emhana.identity.models import Person
from emhana.notify.models import Notification
from emhana.notify.service import deliver_pending
from emhana.testing.mail import Mailbox
from emhana.trust.keys import pki
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.signatures.truststore import TrustStore
from tests.builders.attachment import IN_WINDOW, Country
from tests.builders.signatures import PASSWORD, Pki, ncalayer

URL = "/api/v1/attachment"
API = "/api/v1/signatures/attachment_notice"


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def seal_of(pdf: bytes) -> str | None:
    images = [image for page in pypdf.PdfReader(io.BytesIO(pdf)).pages for image in page.images]
    return seal.read_qr(images[0].data) if images else None


def test_the_notice_says_signed_once_the_organization_cms_is_accepted(
    client: TestClient,
    app: FastAPI,
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
    sessions: sessionmaker[Session],
    ec_pki: Pki,
    tmp_path: Path,
) -> None:
    pid = person()
    _, citizen = make_actor(Role.CITIZEN, person_id=pid)
    me = {"Authorization": f"Bearer {citizen}"}
    applied = client.post(
        f"{URL}/applications", headers=me, json={"person_id": pid, "district_id": country.districts[("A1", 1)]}
    ).json()
    pending = client.get(f"{URL}/applications/{applied['id']}/notice.pdf", headers=me)
    assert pending.status_code == 200 and pending.headers["x-signature-status"] == "demo"
    assert "ожидается" in text_of(pending.content) and "подписано" not in text_of(pending.content)
    with sessions() as s:
        notice = s.scalar(select(AttachmentNotice).where(AttachmentNotice.application_id == applied["id"]))
        assert notice is not None and notice.sha256 == hashlib.sha256(pending.content).hexdigest()
        notice_id, issued_sha256 = notice.id, notice.sha256

    clerk = person()
    _, token = make_actor(Role.REGISTRAR, entity_id=country.a, person_id=clerk)
    registrar = {"Authorization": f"Bearer {token}"}
    with sessions() as s:
        iin = s.get_one(Person, clerk).iin
    app.state.signature_trust = TrustStore(anchors=(ec_pki.root.certificate,), crls=(ec_pki.crl,))
    data = base64.b64decode(client.get(f"{API}/{notice_id}/to-sign", headers=registrar).json()["canonical"])
    p12 = tmp_path / "org.p12"
    p12.write_bytes(
        pki.to_pkcs12("org", ec_pki.person(iin=iin, bin_="150340001236"), [ec_pki.inter.certificate], PASSWORD)
    )
    r = client.post(f"{API}/{notice_id}", headers=registrar, json={"cms": ncalayer(p12, data)})
    assert r.status_code == 201, r.text

    signed = client.get(f"{URL}/applications/{applied['id']}/notice.pdf", headers=me)
    assert signed.status_code == 200 and signed.headers["x-signature-status"] == "signed"
    assert signed.headers["digest"] == f"sha-256={hashlib.sha256(signed.content).hexdigest()}"
    text = text_of(signed.content)
    assert "подписано" in text and "150340001236" in text and issued_sha256 in text
    assert "ожидается" not in text
    assert seal_of(signed.content) == seal_of(pending.content) is not None  # the same seal, printed again
    sig = client.get(f"{URL}/applications/{applied['id']}/notice.sig", headers=me).json()
    assert sig["status"] == "signed" and sig["sha256"] == issued_sha256 and sig["cms_signer_bin"] == "150340001236"
    with sessions() as s:
        row = s.get_one(AttachmentNotice, notice_id)
        assert row.signature_status == "signed" and row.pdf == pending.content  # the issued notice is kept as is
    # The message of the decision carries the signed copy.
    mailbox = Mailbox()
    with sessions.begin() as s:
        for row_ in s.scalars(select(Notification)):
            row_.channel = "email"
        deliver_pending(
            s, channels={"email": mailbox}, now=IN_WINDOW + dt.timedelta(minutes=5), signer=DemoNotificationSigner()
        )
    enclosures = [e for m in mailbox.messages for e in m.enclosures]
    assert enclosures and all(e.content == signed.content for e in enclosures)
