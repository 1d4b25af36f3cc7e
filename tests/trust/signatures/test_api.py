"""The NCALayer flow end to end: to-sign bytes, a CMS made with a demo PKCS#12 file (the `emhana sign cms`
stand-in for NCALayer), acceptance with evidence, idempotency, refusals that change nothing (C-06, C-40, C-41)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent
from emhana.medbook.models import JournalEntry
from emhana.trust.signatures import canonical
from emhana.trust.signatures.models import RecordSignature
from tests.builders.medbook import World
from tests.builders.signatures import BIN, entry_of, ncalayer

API = "/api/v1/signatures/medbook_entry"


def state(sessions: sessionmaker[Session], entry_id: int) -> tuple[str, int]:
    with sessions() as s:
        entry = s.get(JournalEntry, entry_id)
        assert entry is not None
        return entry.signature_state, s.scalar(select(func.count()).select_from(RecordSignature)) or 0


def test_the_author_signs_an_entry_with_ncalayer(
    client: TestClient, world: World, signing: Callable[..., Path], sessions: sessionmaker[Session]
) -> None:
    entry_id = entry_of(client, world)
    h = world.h["clin_a"]
    got = client.get(f"{API}/{entry_id}/to-sign", headers=h)
    assert got.status_code == 200, got.text
    body = got.json()
    data = base64.b64decode(body["canonical"])
    with sessions() as s:
        stored = s.get(JournalEntry, entry_id).canonical  # type: ignore[union-attr]
    assert data == stored and body["sha256"] == hashlib.sha256(data).hexdigest() and body["signed"] is False
    assert body["ncalayer"]["args"][2] == body["canonical"]
    assert state(sessions, entry_id) == ("pending", 0)

    cms_b64 = ncalayer(signing(), data)
    r = client.post(f"{API}/{entry_id}", headers={**h, "Idempotency-Key": "sig-1"}, json={"cms": cms_b64})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["state"] == "signed" and out["signer_bin"] == BIN and out["crl_numbers"] == [1]
    assert out["canonical_sha256"] == body["sha256"] and "iin" not in json.dumps(out).lower()
    assert state(sessions, entry_id) == ("signed", 1)
    with sessions() as s:
        row = s.scalar(select(RecordSignature))
        assert row is not None and row.cms == base64.b64decode(cms_b64) and row.signer_bin == BIN
        assert row.evidence["outcome"] == "valid" and len(row.evidence["chain"]) == 3
        assert row.evidence["crls"][0]["number"] == 1 and row.verifier == "in-process"
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"signature.to_sign", "signature.attach"} <= actions

    # Idempotent: the same request again (with or without its key) answers the same; another CMS is refused.
    again = client.post(f"{API}/{entry_id}", headers={**h, "Idempotency-Key": "sig-1"}, json={"cms": cms_b64})
    assert again.status_code == 201 and again.json() == out
    assert client.post(f"{API}/{entry_id}", headers=h, json={"cms": cms_b64}).json() == out
    other = client.post(f"{API}/{entry_id}", headers=h, json={"cms": ncalayer(signing(), data)})
    assert other.status_code == 409 and other.json()["code"] == "signature.already_signed"
    assert client.get(f"{API}/{entry_id}/to-sign", headers=h).json()["signed"] is True
    assert state(sessions, entry_id) == ("signed", 1)


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("wrong_iin", "signature.wrong_signer"),
        ("wrong_bin", "signature.wrong_signer"),
        ("tampered", "signature.digest_mismatch"),
        ("garbage", "signature.malformed"),
        ("not_base64", "signature.malformed"),
    ],
)
def test_refusals_are_problems_and_change_nothing(
    client: TestClient, world: World, signing: Callable[..., Path], sessions: sessionmaker[Session], who: str, code: str
) -> None:
    entry_id = entry_of(client, world)
    h = {**world.h["clin_a"], "Accept-Language": "kk"}
    data = base64.b64decode(client.get(f"{API}/{entry_id}/to-sign", headers=h).json()["canonical"])
    makers: dict[str, Callable[[], str]] = {
        "wrong_iin": lambda: ncalayer(signing(iin_="900101300017"), data),
        "wrong_bin": lambda: ncalayer(signing(bin_="201140004575"), data),
        "tampered": lambda: ncalayer(signing(), data + b" "),
        "garbage": lambda: base64.b64encode(b"\x30\x03\x02\x01\x00").decode(),
        "not_base64": lambda: "%%% not base64 %%%",
    }
    cms_b64 = makers[who]()
    r = client.post(f"{API}/{entry_id}", headers={**h, "Idempotency-Key": f"k-{who}"}, json={"cms": cms_b64})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == code and set(problem["messages"]) == {"kk", "ru", "en"}
    assert problem["detail"] == problem["messages"]["kk"] != problem["messages"]["en"]
    assert state(sessions, entry_id) == ("pending", 0)


def test_only_the_author_or_the_mis_of_the_organization_may_sign(
    client: TestClient, world: World, signing: Callable[..., Path]
) -> None:
    entry_id = entry_of(client, world)
    assert client.get(f"{API}/{entry_id}/to-sign", headers=world.h["mis_a"]).status_code == 200
    for name, status in (("rt_a", 403), ("clin_b", 403), ("cook", 403), ("employer", 403)):
        r = client.get(f"{API}/{entry_id}/to-sign", headers=world.h[name])
        assert r.status_code == status, (name, r.text)
    assert client.get(f"{API}/{entry_id}/to-sign").status_code == 401
    # A missing entry is refused like another organization's: the answer does not tell which entries exist.
    assert client.get(f"{API}/999999/to-sign", headers=world.h["clin_a"]).json()["code"] == "auth.forbidden"
    assert client.get("/api/v1/signatures/nonsense/1/to-sign", headers=world.h["clin_a"]).status_code == 422
    # The MIS uploads the author's signature: the certificate must still be the author's.
    data = base64.b64decode(client.get(f"{API}/{entry_id}/to-sign", headers=world.h["mis_a"]).json()["canonical"])
    r = client.post(f"{API}/{entry_id}", headers=world.h["mis_a"], json={"cms": ncalayer(signing(), data)})
    assert r.status_code == 201, r.text


def test_a_correction_signs_the_hash_of_the_entry_it_corrects(
    client: TestClient, world: World, signing: Callable[..., Path], sessions: sessionmaker[Session]
) -> None:
    entry_id = entry_of(client, world)
    r = client.post(
        f"/api/v1/medbook/entries/{entry_id}/correction",
        headers=world.h["clin_a"],
        json={
            "kind": "lab_result",
            "item_code": "syphilis",
            "performed_on": "2026-03-02",
            "result": "positive",
            "reason": "перепутаны пробирки",
        },
    )
    assert r.status_code == 201, r.text
    fixed = r.json()["id"]
    data = base64.b64decode(client.get(f"{API}/{fixed}/to-sign", headers=world.h["clin_a"]).json()["canonical"])
    form = json.loads(data)
    with sessions() as s:
        old = s.get(JournalEntry, entry_id).canonical  # type: ignore[union-attr]
    assert form["type"] == canonical.CORRECTION and form["supersedes_sha256"] == hashlib.sha256(old).hexdigest()
    assert form["entry"]["supersedes"] == entry_id and form["entry"]["reason"] == "перепутаны пробирки"
    r = client.post(f"{API}/{fixed}", headers=world.h["clin_a"], json={"cms": ncalayer(signing(), data)})
    assert r.status_code == 201, r.text
    assert state(sessions, fixed)[0] == "signed" and state(sessions, entry_id)[0] == "pending"


def test_signature_routes_refuse_roles_they_do_not_admit(
    app: FastAPI, client: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    from emhana.accounts.roles import Role
    from emhana.web.deps import declared_roles, iter_routes

    routes = [(p, m, d) for p, m, d in iter_routes(app) if p.startswith("/api/v1/signatures")]
    assert len(routes) == 2
    for path, methods, dependant in routes:
        roles = declared_roles(dependant.dependencies)
        assert isinstance(roles, frozenset) and Role.CITIZEN not in roles and Role.CLINICIAN in roles
        url = path.replace("{kind}", "medbook_entry").replace("{record_id}", "1")
        for method in methods:
            assert client.request(method, url).json()["code"] == "auth.not_authenticated"
            for role in set(Role) - roles:
                assert client.request(method, url, headers=auth(role)).json()["code"] == "auth.forbidden"
