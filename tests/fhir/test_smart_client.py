"""SMART Backend Services with real client libraries against a live server (issue 17): the SMART on FHIR Python
client (``fhirclient``, smart-on-fhir/client-py) finds the token endpoint in the CapabilityStatement, trades the
client assertion for a token and reads with it; fhirpy reads with the same kind of token; the assertion and the
keys come from examples/backend_auth.py, the helper an MIS copies."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhirclient import client as smart_client  # type: ignore[import-untyped]
from fhirclient.models.organization import Organization  # type: ignore[import-untyped]
from fhirclient.models.patient import Patient  # type: ignore[import-untyped]
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError
from sqlalchemy.orm import Session, sessionmaker

from emhana.fhir import systems
from tests.builders.fhir import FhirWorld
from tests.builders.servers import serve
from tests.builders.smart import register_client

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "backend_auth.py"
SCOPES = "system/Patient.rs system/Organization.rs"


def _backend_auth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("backend_auth", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def backend_auth() -> ModuleType:
    return _backend_auth()


@pytest.fixture(scope="module")
def keys(backend_auth: ModuleType) -> tuple[bytes, dict[str, Any]]:
    pem, jwks = backend_auth.keypair("mis-key-1")
    assert all("d" not in k for k in jwks["keys"])  # the JWK set to register holds the public half only
    return pem, jwks


def test_fhirclient_and_fhirpy_work_with_backend_services(
    app: FastAPI,
    fw: FhirWorld,
    sessions: sessionmaker[Session],
    backend_auth: ModuleType,
    keys: tuple[bytes, dict[str, Any]],
) -> None:
    pem, jwks = keys
    with sessions.begin() as s:
        registered = register_client(s, entity_id=fw.w.a, scopes=SCOPES + " system/Observation.c", jwks=jwks)
    cid = registered.client_id
    with serve(app, "uvicorn-smart") as origin:
        base = f"{origin}/fhir/R4"
        config = httpx.get(f"{base}/.well-known/smart-configuration").json()
        token_url = config["token_endpoint"]
        assert token_url == f"{origin}/api/v1/oauth/token"

        # The SMART on FHIR client: CapabilityStatement -> oauth-uris token endpoint -> client_credentials.
        settings = {
            "app_id": cid,
            "api_base": base,
            "scope": SCOPES,
            "jwt_token": backend_auth.assertion(token_url, cid, pem, "mis-key-1"),
        }
        smart = smart_client.FHIRClient(settings=settings, save_func=lambda state: None)
        assert not smart.prepare()  # the statement is read (and parsed by the library's R4 models); no token yet
        assert smart.server.auth._token_uri == token_url
        smart.authorize()  # it asks launch/patient too (its default): the grant leaves that out
        assert smart.launch_context["scope"] == SCOPES and smart.ready
        org = Organization.read(str(fw.w.a), smart.server)
        assert org.identifier[0].value == "150340001236"
        query = Patient.where(struct={"identifier": f"{systems.IIN}|{fw.w.cook_iin}"})
        found = list(query.perform_resources_iter(smart.server))
        assert [p.id for p in found] == [str(fw.w.cook)]

        # fhirpy with a token from the example helper (a new assertion, a new jti).
        bearer = backend_auth.token(token_url, cid, pem, "mis-key-1", SCOPES)
        fhir = SyncFHIRClient(base, authorization=f"Bearer {bearer}")
        patients = fhir.resources("Patient").search(identifier=f"{systems.IIN}|{fw.w.cook_iin}").fetch()
        assert [p["id"] for p in patients] == [str(fw.w.cook)]
        assert fhir.reference("Organization", str(fw.w.a)).to_resource()["identifier"][0]["value"] == "150340001236"
        with pytest.raises(ForbiddenError, match="auth.insufficient_scope"):  # no scope for the book's clinical types
            fhir.execute(f"Patient/{fw.w.cook}/$medbook", method="get")

        # The helper reports a refusal with the server's words.
        with pytest.raises(RuntimeError, match="invalid_scope"):
            backend_auth.token(token_url, cid, pem, "mis-key-1", "system/Condition.c")
