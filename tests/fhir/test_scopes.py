"""System scopes enforced (issue 17): a client application's token does only what its SMART scopes allow, on
every route shape of /fhir/R4 (and nothing of the JSON API but "who am I", signing out and the interop routes);
a refusal is a 403 OperationOutcome ``auth.insufficient_scope``; scopes never widen a role or an organization."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import issue_token
from emhana.api.fhir.scopes import needs
from emhana.fhir import systems
from emhana.web.deps import iter_routes
from tests.builders import fhir as b
from tests.builders.fhir import FHIR_JSON, FhirWorld, open_letters, written
from tests.builders.smart import PUSH, scoped_headers

CLINICAL_READ = "system/Observation.rs system/DiagnosticReport.rs system/Immunization.rs system/Condition.rs"


def _texts(method: str, path: str, query: dict[str, str] | None = None, bundle: list[str] | None = None) -> Any:
    parts = [p for p in path.split("/") if p]
    found = needs(method, parts, query or {}, bundle)
    return None if found is None else sorted(n.text() for n in found)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "Patient/12", ["system/Patient.r"]),
        ("GET", "Observation/abc", ["system/Observation.r"]),
        ("GET", "Organization/3/_history", ["system/Organization.r"]),
        ("GET", "Organization/3/_history/2", ["system/Organization.r"]),
        ("GET", "Patient", ["system/Patient.s"]),
        ("POST", "Patient/_search", ["system/Patient.s"]),
        ("GET", "Location/_history", ["system/Location.s"]),
        ("GET", "_history", ["system/*.s"]),
        ("POST", "Observation", ["system/Observation.c"]),
        ("PUT", "Observation/1", ["system/Observation.u"]),
        ("PATCH", "Observation/1", ["system/Observation.u"]),
        ("DELETE", "Observation/1", ["system/Observation.d"]),
        ("GET", "metadata", []),
        ("GET", ".well-known/smart-configuration", []),
        ("GET", "$export", ["system/*.r"]),
        ("GET", "Group/5", ["system/Group.r"]),
        ("GET", "Group/5/$export", ["system/*.r", "system/Group.r"]),
        ("GET", "Patient/$export", ["system/*.r", "system/Patient.r"]),
        ("GET", "$export-status/9", ["system/*.r"]),
        ("DELETE", "$export-status/9", ["system/*.r"]),
        ("GET", "$export-file/9/1", ["system/*.r"]),
        ("POST", "Bundle/$validate", ["system/*.cu"]),
        ("POST", "Observation/$validate", ["system/Observation.cu"]),
        ("POST", "Observation/1/$validate", ["system/Observation.cu"]),
        (
            "GET",
            "Patient/7/$medbook",
            sorted(["system/Patient.r", *(s.replace(".rs", ".r") for s in CLINICAL_READ.split())]),
        ),
        ("GET", "Patient/7/$everything", None),
        ("POST", "metadata", None),
        ("GET", "patient/7", None),
        ("PUT", "Patient", None),
        ("GET", "Patient/7/_history/1/extra", None),
        ("POST", "$validate", None),
    ],
)
def test_each_route_shape_needs_its_scope(method: str, path: str, expected: list[str] | None) -> None:
    assert _texts(method, path) == expected


def test_export_with_types_needs_a_read_of_each() -> None:
    assert _texts("GET", "$export", {"_type": "Patient,Observation"}) == ["system/Observation.r", "system/Patient.r"]
    assert _texts("GET", "Group/1/$export", {"_type": "Observation"}) == ["system/Group.r", "system/Observation.r"]


def test_a_transaction_needs_create_or_update_of_every_type_in_it() -> None:
    assert _texts("POST", "", bundle=["Observation", "Provenance", "Observation"]) == [
        "system/Observation.cu",
        "system/Provenance.cu",
    ]
    assert _texts("POST", "", bundle=None) == ["system/*.cu"]  # unknown content: some write scope at least
    assert _texts("GET", "") is None


def test_every_route_of_the_fhir_door_is_mapped(app: FastAPI) -> None:
    """Routes other helpers add (reads of ingested types, history, export, validate) are covered by a shape."""
    seen = 0
    for path, methods, _ in iter_routes(app):
        if not path.startswith("/fhir/R4"):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path[len("/fhir/R4") :])
        for method in methods - {"HEAD", "OPTIONS"}:
            seen += 1
            assert _texts(method, concrete, bundle=["Observation"]) is not None, (method, path)
    assert seen > 20


# --- Over HTTP ------------------------------------------------------------------------------------------


def _headers(sessions: sessionmaker[Session], entity_id: int, scopes: str) -> dict[str, str]:
    with sessions.begin() as s:
        return {**scoped_headers(s, entity_id=entity_id, scopes=scopes), "Accept": FHIR_JSON}


def _refused(r: Any) -> str:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    (issue,) = r.json()["issue"]
    assert issue["code"] == "forbidden" and issue["details"]["coding"][0]["code"] == "auth.insufficient_scope"
    return str(issue["diagnostics"])


def _search_cook(client: TestClient, fw: FhirWorld, headers: dict[str, str]) -> Any:
    return client.post(
        "/fhir/R4/Patient/_search", data={"identifier": f"{systems.IIN}|{fw.w.cook_iin}"}, headers=headers
    )


def test_a_read_needs_its_scope(client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    writer = _headers(sessions, fw.w.a, PUSH)
    assert "system/Patient.s" in _refused(_search_cook(client, fw, writer))
    assert "system/Patient.r" in _refused(client.get(f"/fhir/R4/Patient/{fw.w.cook}", headers=writer))
    reader = _headers(sessions, fw.w.a, "system/Patient.rs")
    r = _search_cook(client, fw, reader)
    assert r.status_code == 200 and r.json()["total"] == 1, r.text
    v1 = _headers(sessions, fw.w.a, "system/Patient.read")  # SMART 1 spelling, the same rights
    assert _search_cook(client, fw, v1).status_code == 200
    assert client.get("/fhir/R4/metadata", headers=writer).status_code == 200


def test_medbook_needs_the_patient_and_its_clinical_types(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    path = f"/fhir/R4/Patient/{fw.w.cook}/$medbook"
    patient_only = _headers(sessions, fw.w.a, "system/Patient.rs")
    assert "system/Observation.r" in _refused(client.get(path, headers=patient_only))
    everything = _headers(sessions, fw.w.a, "system/Patient.rs " + CLINICAL_READ)
    assert client.get(path, headers=everything).status_code == 200
    wildcard = _headers(sessions, fw.w.a, "system/*.rs")
    assert client.get(path, headers=wildcard).status_code == 200


def test_a_transaction_needs_every_type_in_the_bundle(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    doc = b.bundle([b.observation(fw.w.cook_iin)], signer=fw.signer)
    before, letters = written(sessions), len(open_letters(sessions))
    no_provenance = _headers(sessions, fw.w.a, "system/Observation.c system/Patient.rs")
    post = {"Content-Type": FHIR_JSON}
    assert "system/Provenance.cu" in _refused(
        client.post("/fhir/R4", content=b.body(doc), headers={**no_provenance, **post})
    )
    reader = _headers(sessions, fw.w.a, "system/*.rs")
    _refused(client.post("/fhir/R4", content=b"{not json", headers={**reader, **post}))
    assert written(sessions) == before and len(open_letters(sessions)) == letters  # not even a dead letter
    writer = _headers(sessions, fw.w.a, PUSH)
    r = client.post("/fhir/R4", content=b.body(doc), headers={**writer, **post})
    assert r.status_code == 200, r.text
    assert written(sessions)[0] == before[0] + 1


def test_an_unmapped_request_is_refused(client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    everything = _headers(sessions, fw.w.a, "system/*.cruds")
    assert "may not make this request" in _refused(
        client.get(f"/fhir/R4/Patient/{fw.w.cook}/$everything", headers=everything)
    )


def test_public_routes_stay_open_to_any_token(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    writer = _headers(sessions, fw.w.a, "system/Observation.c")
    assert client.get(f"/fhir/R4/Organization/{fw.w.a}", headers=writer).status_code == 200
    assert client.get("/fhir/R4/.well-known/smart-configuration", headers=writer).status_code == 200


def test_scopes_never_widen_the_role_or_the_organization(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    other_org = _headers(sessions, fw.w.b, "system/*.cruds")  # a client of clinic B, the book is clinic A's
    r = client.get(f"/fhir/R4/Patient/{fw.w.cook}/$medbook", headers=other_org)
    assert r.status_code == 403 and r.json()["issue"][0]["details"]["coding"][0]["code"] == "auth.forbidden", r.text
    with sessions.begin() as s:  # a scoped token on a citizen's account: the role still refuses
        citizen = fw.w.actors["cook"]
        assert citizen.role == Role.CITIZEN
        token = issue_token(session=s, actor=citizen, ttl=dt.timedelta(hours=1), scopes=frozenset({"system/*.cruds"}))
    r = client.get(f"/fhir/R4/Patient/{fw.w.cook}", headers={"Authorization": f"Bearer {token}", "Accept": FHIR_JSON})
    assert r.status_code == 403 and r.json()["issue"][0]["details"]["coding"][0]["code"] == "auth.forbidden"


def test_a_scoped_token_is_no_key_to_the_json_api(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    headers = _headers(sessions, fw.w.a, "system/*.cruds")
    r = client.get(f"/api/v1/medbook/books/{fw.book_id}", headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "auth.insufficient_scope", r.text
    assert set(r.json()["messages"]) == {"kk", "ru", "en"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.get("/api/v1/interop/sync-status", headers=headers).status_code == 200
    writer = _headers(sessions, fw.w.a, "system/Observation.c")
    assert client.get("/api/v1/interop/sync-status", headers=writer).status_code == 403
    assert client.get(f"/api/v1/medbook/books/{fw.book_id}", headers=fw.w.h["rt_a"]).status_code == 200  # people
