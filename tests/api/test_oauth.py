"""The SMART token endpoint and discovery over HTTP (issue 17): a client application gets a five-minute token
for its system scopes; refusals are RFC 6749 §5.2 JSON with the registry's code and kk/ru/en messages; the
people's password endpoint sends a system client to the right door; /.well-known/smart-configuration and the
CapabilityStatement declare the same token endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.models import ApiToken, ClientAssertion
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.app import create_app
from emhana.kernel.config import Settings
from tests.builders.smart import Client, form, make_key, register_client, sign

WELL_KNOWN = "/fhir/R4/.well-known/smart-configuration"


@pytest.fixture
def registered(sessions: sessionmaker[Session], seeded_entity: int) -> Client:
    with sessions.begin() as s:
        return register_client(
            s, entity_id=seeded_entity, scopes="system/Patient.rs system/Observation.c", jwks=make_key().jwks()
        )


def token_url(client: TestClient) -> str:
    return str(client.get(WELL_KNOWN).json()["token_endpoint"])


def test_the_smart_configuration_is_public_and_complete(client: TestClient) -> None:
    r = client.get(WELL_KNOWN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["token_endpoint"].endswith("/api/v1/oauth/token")
    assert doc["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert doc["grant_types_supported"] == ["client_credentials"]
    assert {"client-confidential-asymmetric", "permission-v2"} <= set(doc["capabilities"])
    assert {"system/Patient.rs", "system/Observation.cu", "system/*.rs"} <= set(doc["scopes_supported"])


@pytest.fixture
def public_app(database_url: str, sessions: sessionmaker[Session]) -> Iterator[FastAPI]:
    application = create_app(Settings(database_url=database_url, public_base_url="https://emhana.example.kz"))
    yield application
    application.state.engine.dispose()


def test_the_token_endpoint_comes_from_the_public_base_not_the_host_header(public_app: FastAPI) -> None:
    with TestClient(public_app, base_url="http://evil.example") as c:
        doc = c.get(WELL_KNOWN).json()
        cap = c.get("/fhir/R4/metadata").json()
    assert doc["token_endpoint"] == "https://emhana.example.kz/api/v1/oauth/token"
    oauth = cap["rest"][0]["security"]["extension"][0]
    assert oauth["extension"] == [{"url": "token", "valueUri": doc["token_endpoint"]}]


def test_the_capability_statement_declares_smart_and_stays_valid(client: TestClient) -> None:
    cap = client.get("/fhir/R4/metadata").json()
    CapabilityStatement.model_validate(cap)  # fhir.resources: the statement is valid FHIR
    security = cap["rest"][0]["security"]
    assert security["service"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
        "code": "SMART-on-FHIR",
        "display": "SMART-on-FHIR",
    }
    (oauth,) = security["extension"]
    assert oauth["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    assert oauth["extension"] == [{"url": "token", "valueUri": token_url(client)}]


def test_a_client_gets_a_token_and_uses_it(client: TestClient, registered: Client) -> None:
    url = token_url(client)
    r = client.post(url, data=form(sign(make_key(), client_id=registered.client_id, aud=url), "system/Patient.rs"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 300 and body["scope"] == "system/Patient.rs"
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["role"] == "mis_client"
    assert me.json()["entity_id"] == registered.entity_id


def test_the_answer_names_the_narrowed_grant(client: TestClient, registered: Client) -> None:
    url = token_url(client)
    asked = "launch/patient system/Patient.cruds system/Observation.c system/Condition.c"
    r = client.post(url, data=form(sign(make_key(), client_id=registered.client_id, aud=url), asked))
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "system/Patient.rs system/Observation.c"


def _error(r: Any, status: int, error: str, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert body["error"] == error and body["code"] == code
    assert body["error_description"].isascii() and body["error_description"] == body["messages"]["en"]
    assert set(body["messages"]) == {"kk", "ru", "en"} and len(set(body["messages"].values())) == 3
    return body


def test_refusals_speak_oauth_and_the_registry(
    client: TestClient, registered: Client, sessions: sessionmaker[Session]
) -> None:
    url = token_url(client)
    key = make_key()
    wrong_aud = sign(key, client_id=registered.client_id, aud="https://elsewhere/token")
    body = _error(client.post(url, data=form(wrong_aud)), 401, "invalid_client", "oauth.assertion_audience")
    assert url in body["error_description"]
    ru = client.post(url, data=form(wrong_aud), headers={"Accept-Language": "ru"}).json()
    assert ru["detail"] == ru["messages"]["ru"]
    good = sign(key, client_id=registered.client_id, aud=url)
    _error(client.post(url, data=form(good, "system/Condition.c")), 400, "invalid_scope", "oauth.invalid_scope")
    _error(client.post(url, data=form(good, None)), 400, "invalid_scope", "oauth.scope_missing")
    _error(client.post(url, data={}), 400, "unsupported_grant_type", "oauth.unsupported_grant_type")
    _error(client.post(url, data=form(good, client_assertion_type="x")), 400, "invalid_request", "oauth.assertion_type")
    _error(client.post(url, json=form(good)), 400, "unsupported_grant_type", "oauth.unsupported_grant_type")
    with sessions() as s:  # nothing of the refused requests was kept
        assert s.scalar(select(func.count()).where(ApiToken.account_id == registered.account_id)) == 0
        assert s.scalar(select(func.count()).select_from(ClientAssertion)) == 0
    assert client.post(url, data=form(good, "system/Patient.rs")).status_code == 200  # it was never spent
    _error(client.post(url, data=form(good, "system/Patient.rs")), 401, "invalid_client", "oauth.assertion_replayed")


def test_the_password_endpoint_sends_system_clients_to_the_token_endpoint(
    client: TestClient, registered: Client, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    url = token_url(client)
    r = client.post("/api/v1/auth/token", data=form(sign(make_key(), client_id=registered.client_id, aud=url)))
    assert r.status_code == 400 and r.json()["code"] == "oauth.unsupported_grant_type", r.text
    assert all(url in m for m in r.json()["messages"].values())
    actor, _ = make_actor(Role.REGISTRAR)  # people still sign in there with their password
    ok = client.post("/api/v1/auth/token", data={"username": actor.username, "password": "secret-pass"})
    assert ok.status_code == 200 and ok.json()["expires_in"] > 300
