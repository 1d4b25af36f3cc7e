"""MIS client applications in the JSON API (/api/v1/clients, issue 17): the Fund registers them for any
organization, an organization's administrator for its own; refusals are problem+json with stable ``clients.*``
codes and messages in kk, ru and en, and leave the database as it was."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.models import Account, ClientApp
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from tests.builders.accounts import Orgs, bearer, two_orgs
from tests.builders.clients import ec_key, rsa_key

MakeActor = Callable[..., tuple[Actor, str]]
PRIVATE = {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "d": "AA", "kid": "k", "alg": "ES384"}
RS256 = {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "k", "alg": "RS256"}


@pytest.fixture
def orgs(sessions: sessionmaker[Session], make_actor: MakeActor) -> Orgs:
    return two_orgs(sessions, make_actor(Role.FUND_ADMIN)[0])


def test_the_fund_registers_reads_and_lists_a_client(
    client: TestClient, auth: Callable[..., dict[str, str]], orgs: Orgs
) -> None:
    fund = auth(Role.FUND_ADMIN)
    key = ec_key("k1")
    body = {"name": "Damu MIS", "entity_id": orgs.b, "jwks": json.loads(key.jwks()), "scopes": ["system/Observation.c"]}
    made = client.post("/api/v1/clients", json=body, headers=fund)
    assert made.status_code == 201, made.text
    out = made.json()
    assert (out["entity_id"], out["key_ids"], out["scopes"], out["active"]) == (
        orgs.b,
        ["k1"],
        ["system/Observation.c"],
        True,
    )
    read = client.get(f"/api/v1/clients/{out['client_id']}", headers=fund)
    assert read.status_code == 200 and read.json()["jwks"]["keys"][0]["x"] == key.jwk["x"]
    listed = client.get("/api/v1/clients", params={"entity_id": orgs.b}, headers=fund).json()
    assert listed["total"] == 1 and [c["client_id"] for c in listed["items"]] == [out["client_id"]]


def test_an_administrator_keeps_its_own_organizations_clients_only(
    client: TestClient, make_actor: MakeActor, auth: Callable[..., dict[str, str]], orgs: Orgs
) -> None:
    _, token_a = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)
    _, token_b = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.b)
    admin_a, admin_b = bearer(token_a), bearer(token_b)
    made = client.post("/api/v1/clients", json={"name": "MIS of A"}, headers=admin_a)
    assert made.status_code == 201 and made.json()["entity_id"] == orgs.a, made.text
    client_id = made.json()["client_id"]
    elsewhere = client.post("/api/v1/clients", json={"name": "MIS of B", "entity_id": orgs.b}, headers=admin_a)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "clients.not_own_organization")
    assert client.get("/api/v1/clients", headers=admin_b).json() == {"total": 0, "items": []}
    absent = client.get("/api/v1/clients/no-such-client", headers=admin_b)
    hidden = client.get(f"/api/v1/clients/{client_id}", headers=admin_b)
    assert (
        (hidden.status_code, hidden.json()["code"])
        == (absent.status_code, absent.json()["code"])
        == (404, "clients.not_found")
    )
    for path, body in (
        (f"/api/v1/clients/{client_id}/scopes", {"scopes": ["system/*.rs"]}),
        (f"/api/v1/clients/{client_id}/jwks", json.loads(ec_key().jwks())),
    ):
        assert client.put(path, json=body, headers=admin_b).status_code == 404
    assert client.post(f"/api/v1/clients/{client_id}/deactivate", headers=admin_b).status_code == 404
    for role in (Role.REGISTRAR, Role.MIS_CLIENT, Role.CITIZEN):
        entity = orgs.a if role is not Role.CITIZEN else None
        assert client.get("/api/v1/clients", headers=auth(role, entity_id=entity)).status_code == 403
    assert client.get("/api/v1/clients").status_code == 401  # fmt: skip


def test_keys_scopes_and_deactivation(client: TestClient, make_actor: MakeActor, orgs: Orgs) -> None:
    admin = bearer(make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)[1])
    client_id = client.post("/api/v1/clients", json={"name": "Damu MIS"}, headers=admin).json()["client_id"]
    rotated = {"keys": [ec_key("old").jwk, rsa_key("new").jwk]}
    keys = client.put(f"/api/v1/clients/{client_id}/jwks", json=rotated, headers=admin)
    assert keys.status_code == 200 and keys.json()["key_ids"] == ["old", "new"], keys.text
    scopes = client.put(
        f"/api/v1/clients/{client_id}/scopes", json={"scopes": ["system/Patient.rs", "system/*.rs"]}, headers=admin
    )
    assert scopes.status_code == 200 and scopes.json()["scopes"] == ["system/*.rs", "system/Patient.rs"]
    off = client.post(
        f"/api/v1/clients/{client_id}/deactivate",
        headers=admin,
    )
    assert off.status_code == 200 and off.json()["active"] is False
    again = client.put(f"/api/v1/clients/{client_id}/scopes", json={"scopes": []}, headers=admin)
    assert (again.status_code, again.json()["code"]) == (409, "clients.inactive")  # fmt: skip


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "X", "scopes": ["patient/Observation.rs"]}, "clients.invalid_scope"),
        ({"name": "X", "jwks": {"keys": [PRIVATE]}}, "clients.invalid_jwks"),
        ({"name": "X", "jwks": {"keys": [RS256]}}, "clients.invalid_jwks"),
        ({"name": "\u202eX"}, "clients.invalid"),
    ],
)  # fmt: skip
def test_refusals_are_problems_in_three_languages_and_write_nothing(
    client: TestClient,
    sessions: sessionmaker[Session],
    make_actor: MakeActor,
    orgs: Orgs,
    body: dict[str, object],
    code: str,
) -> None:
    admin = bearer(make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)[1])
    with sessions() as s:
        accounts = s.scalar(select(func.count()).select_from(Account))
    refused = client.post("/api/v1/clients", json=body, headers=admin)
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == code, problem
    assert set(problem["messages"]) == {"kk", "ru", "en"}
    assert (
        problem["messages"]["kk"] != problem["messages"]["en"]
        and problem["messages"]["ru"] != problem["messages"]["en"]
    )
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ClientApp)) == 0
        assert s.scalar(select(func.count()).select_from(Account)) == accounts
