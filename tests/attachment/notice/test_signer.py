"""The attachment notice is signed by the deciding PHC organization (A-54): OU=BIN of that organization and
SERIALNUMBER=IIN of the person acting for it (its registrar or head)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.notice.issue import ensure_notice
from emhana.attachment.notice.models import AttachmentNotice
from emhana.attachment.notice.signer import PendingSigner
from emhana.identity.models import Person
from emhana.trust.keys import pki
from emhana.trust.signatures import canonical
from emhana.trust.signatures.models import RecordSignature
from emhana.trust.signatures.truststore import TrustStore
from tests.builders.attachment import IN_WINDOW, Country
from tests.builders.signatures import PASSWORD, Pki, ncalayer

URL = "/api/v1/attachment"
API = "/api/v1/signatures/attachment_notice"


def test_the_deciding_organization_signs_its_notice(
    client: TestClient,
    app: FastAPI,
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
    sessions: sessionmaker[Session],
    ec_pki: Pki,
    tmp_path: Path,
) -> None:
    clerk = person()
    actor, token = make_actor(Role.REGISTRAR, entity_id=country.a, person_id=clerk)
    registrar = {"Authorization": f"Bearer {token}"}
    applied = client.post(
        f"{URL}/applications/written",
        headers=registrar,
        data={
            "application": json.dumps(
                {
                    "person_id": person(),
                    "district_id": country.districts[("A1", 1)],
                    "documents": [{"kind": "id_card", "number": "1"}],
                }
            )
        },
        files=[("files", ("a.pdf", b"%PDF", "application/pdf"))],
    ).json()
    r = client.post(
        f"{URL}/applications/{applied['id']}/decision",
        headers={**registrar, "If-Match": f'"application-{applied["id"]}-v1"'},
        json={"decision": "refuse", "reason_code": "attachment.documents_inaccurate", "note": "скан"},
    )
    assert r.status_code < 300, r.text
    with sessions.begin() as s:
        notice = ensure_notice(s, application_id=applied["id"], signer=PendingSigner(), now=IN_WINDOW)
        notice_id, pdf_sha256 = notice.id, notice.sha256
        iin = s.get(Person, clerk).iin  # type: ignore[union-attr]
    app.state.signature_trust = TrustStore(anchors=(ec_pki.root.certificate,), crls=(ec_pki.crl,))

    got = client.get(f"{API}/{notice_id}/to-sign", headers=registrar)
    assert got.status_code == 200, got.text
    data = base64.b64decode(got.json()["canonical"])
    form = json.loads(data)
    assert form["type"] == canonical.NOTIFICATION and form["pdf_sha256"] == pdf_sha256
    assert form["kind"] == "refusal" and iin not in data.decode()

    def p12(iin_: str, bin_: str) -> Path:
        path = tmp_path / f"{iin_}-{bin_}.p12"
        path.write_bytes(pki.to_pkcs12("org", ec_pki.person(iin=iin_, bin_=bin_), [ec_pki.inter.certificate], PASSWORD))
        return path

    other_org = client.post(
        f"{API}/{notice_id}", headers=registrar, json={"cms": ncalayer(p12(iin, "201140004575"), data)}
    )
    assert other_org.json()["code"] == "signature.wrong_signer"
    r = client.post(f"{API}/{notice_id}", headers=registrar, json={"cms": ncalayer(p12(iin, "150340001236"), data)})
    assert r.status_code == 201, r.text
    assert r.json()["signer_bin"] == "150340001236"
    with sessions() as s:
        row = s.scalar(select(RecordSignature))
        assert row is not None and row.record_kind == "attachment_notice" and row.signer_iin == iin
        assert s.get(AttachmentNotice, notice_id) is not None
    # Another organization's staff may neither read the bytes nor sign.
    _, other = make_actor(Role.REGISTRAR, entity_id=country.b)
    assert client.get(f"{API}/{notice_id}/to-sign", headers={"Authorization": f"Bearer {other}"}).status_code == 403
