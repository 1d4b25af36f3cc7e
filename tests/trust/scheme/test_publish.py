"""The signed lists at their public URLs, and revocation and supersession end to end through the API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.facilities.models import Entity
from emhana.kernel.errors import TrustListInvalid
from emhana.trust.keys import pki
from emhana.trust.keys.certs import load_certificate
from emhana.trust.lists.revocation import load_revocation_list
from emhana.trust.lists.trustlist import load_trust_list
from emhana.trust.scheme import issue as seals
from emhana.trust.scheme import rotation
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.cwt import Clearance, ClearanceStatus
from tests.builders.scheme import issue, other_entity


def anchor(client: TestClient) -> bytes:
    resp = client.get("/trust/anchor.pem")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-pem-file")
    return resp.content


def test_lists_are_signed_by_the_anchor_and_advance_when_the_signer_set_changes(
    client: TestClient, sessions: sessionmaker[Session], seeded_entity: int
) -> None:
    with sessions.begin() as s:
        rotation.signer_for(s, seeded_entity)
    ca = load_certificate(anchor(client))
    first = client.get("/trust/list")
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    context = load_trust_list(first.content, ca)
    assert context.trust_list is not None
    sequence = context.trust_list.sequence
    assert sum(len(v) for v in context.signers.values()) == 1
    # Unchanged signers: the same list is served again (cached in the database, same sequence).
    again = client.get("/trust/list")
    assert again.content == first.content and again.headers["x-list-sequence"] == str(sequence)
    with sessions.begin() as s:
        rotation.rotate(s, seeded_entity)
    rotated = load_trust_list(client.get("/trust/list").content, ca)
    assert rotated.trust_list is not None and rotated.trust_list.sequence == sequence + 1
    assert sorted(e.problem or "ok" for v in rotated.signers.values() for e in v) == ["ok", "ok"]
    # A list signed by another CA does not verify against the published anchor.
    stranger = pki.make_scheme_ca(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    revocations = client.get("/trust/revocations")
    index, info = load_revocation_list(revocations.content, ca)
    assert index == {} and info.sequence >= 1
    with pytest.raises(TrustListInvalid):
        load_revocation_list(revocations.content, stranger.certificate)


def verify(client: TestClient, text: str) -> dict[str, object]:
    resp = client.post("/api/v1/verify", json={"text": text})
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


def test_revocation_and_supersession_through_the_api_reach_the_verifier(
    client: TestClient, sessions: sessionmaker[Session], seeded_entity: int, auth: Callable[..., dict[str, str]]
) -> None:
    with sessions.begin() as s:
        wrong, old, corrected = issue(s, seeded_entity), issue(s, seeded_entity), issue(s, seeded_entity)
    admin = auth(Role.ENTITY_ADMIN, entity_id=seeded_entity)
    for text in (wrong, old, corrected):
        assert verify(client, text)["outcome"] == "VALID"
    before = client.get("/trust/revocations").headers["x-list-sequence"]

    resp = client.post(
        "/api/v1/trust/seals/revoke",
        json={"seal": wrong, "reason": "issued-in-error"},
        headers={**admin, "Idempotency-Key": "revoke-1"},
    )
    assert resp.status_code == 200 and resp.json()["status"] == "issued-in-error"
    replay = client.post(
        "/api/v1/trust/seals/revoke",
        json={"seal": wrong, "reason": "issued-in-error"},
        headers={**admin, "Idempotency-Key": "revoke-1"},
    )
    assert replay.json() == resp.json()
    result = verify(client, wrong)
    assert (result["outcome"], result["reason"]) == ("REVOKED", "issued-in-error")
    assert isinstance(result["meaning"], dict) and set(result["meaning"]) == {"kk", "ru", "en"}

    resp = client.post(
        "/api/v1/trust/seals/supersede",
        json={"seal": old, "replacement": corrected},
        headers={**admin, "Idempotency-Key": "supersede-1"},
    )
    assert resp.status_code == 200 and resp.json()["status"] == "superseded"
    assert verify(client, old)["outcome"] == "SUPERSEDED"
    assert verify(client, corrected)["outcome"] == "VALID"
    # A superseded seal that is then revoked is revoked: the stronger status wins, never the reverse.
    client.post("/api/v1/trust/seals/revoke", json={"seal": old}, headers=admin)
    assert verify(client, old)["outcome"] == "REVOKED"
    client.post("/api/v1/trust/seals/supersede", json={"seal": old, "replacement": corrected}, headers=admin)
    assert verify(client, old)["outcome"] == "REVOKED"

    listed = client.get("/trust/revocations")
    assert int(listed.headers["x-list-sequence"]) > int(before)
    payload = json.loads(listed.content)["payload"]
    assert isinstance(payload, str)
    import base64

    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    entries = [e for items in body["entries"].values() for e in items]
    assert len(entries) == 4 and all(set(e) == {"hash", "reason", "at"} for e in entries)
    assert all(len(base64.b64decode(e["hash"])) == 16 for e in entries)


def test_only_the_issuing_facility_or_the_fund_may_revoke(
    client: TestClient, sessions: sessionmaker[Session], seeded_entity: int, auth: Callable[..., dict[str, str]]
) -> None:
    with sessions.begin() as s:
        other = other_entity(s)
        text = issue(s, seeded_entity)
    stranger = auth(Role.ENTITY_ADMIN, entity_id=other)
    refused = client.post("/api/v1/trust/seals/revoke", json={"seal": text}, headers=stranger)
    assert refused.status_code == 403 and refused.json()["code"] == "auth.forbidden"
    assert verify(client, text)["outcome"] == "VALID"
    fund = auth(Role.FUND_ADMIN)
    assert client.post("/api/v1/trust/seals/revoke", json={"seal": text}, headers=fund).status_code == 200
    assert verify(client, text)["outcome"] == "REVOKED"


def test_seals_not_of_this_service_and_bad_texts_are_refused(
    client: TestClient, sessions: sessionmaker[Session], seeded_entity: int, auth: Callable[..., dict[str, str]]
) -> None:
    with sessions.begin() as s:
        mine, notice_text = (
            issue(s, seeded_entity),
            seals.issue_clearance(
                s,
                entity_id=seeded_entity,
                clearance=Clearance("A B", dt.date(2000, 1, 1), ClearanceStatus.FIT),
                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
            ),
        )
        entity = s.get(Entity, seeded_entity)
        assert entity is not None
    ca = pki.make_scheme_ca(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    foreign_dsc = pki.make_dsc(
        ca, facility_name="Чужой", bin_=entity.bin, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    )
    foreign = seal.issue(
        Clearance("A B", dt.date(2000, 1, 1), ClearanceStatus.FIT),
        signer=seal.SealSigner.of(foreign_dsc.key, foreign_dsc.certificate),  # type: ignore[arg-type]
        issued_at=dt.datetime.now(dt.UTC),
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
    )
    admin = auth(Role.ENTITY_ADMIN, entity_id=seeded_entity)
    unknown = client.post("/api/v1/trust/seals/revoke", json={"seal": foreign}, headers=admin)
    assert unknown.status_code == 404 and unknown.json()["code"] == "trust.seal_unknown"
    bad = client.post("/api/v1/trust/seals/revoke", json={"seal": "KZMB1:%%%"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["code"] == "trust.malformed"
    mixed = client.post("/api/v1/trust/seals/supersede", json={"seal": mine, "replacement": foreign}, headers=admin)
    assert mixed.status_code == 404
    same = client.post("/api/v1/trust/seals/supersede", json={"seal": mine, "replacement": mine}, headers=admin)
    assert same.status_code == 422
    assert verify(client, mine)["outcome"] == "VALID" and verify(client, notice_text)["outcome"] == "VALID"
    assert verify(client, foreign)["outcome"] == "UNKNOWN_ISSUER"
    assert verify(client, "HELLO")["outcome"] == "MALFORMED"
    assert client.post("/api/v1/verify", json={"text": ""}).status_code == 422
    assert client.post("/api/v1/verify", json=["x"]).status_code == 422
    assert client.post("/api/v1/verify", content=b"{", headers={"content-type": "application/json"}).status_code == 422
