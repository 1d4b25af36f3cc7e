"""Content negotiation of the FHIR door: JSON only (XML asked for: 406, an XML body: 415), ``_pretty``, and an
OperationOutcome for every error under /fhir whatever the Accept header, the registry's code kept."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from emhana.api.fhir import resources
from emhana.fhir import systems
from tests.builders.fhir import FhirWorld, bundle, observation

FHIR_JSON = "application/fhir+json"
ACCEPTS = [{}, {"Accept": "application/json"}, {"Accept": FHIR_JSON}, {"Accept": "*/*"}]


def outcome_of(r: Any) -> tuple[int, str, str]:
    """The status, the first issue's FHIR code and the registry's code of an OperationOutcome answer."""
    assert r.headers["content-type"].startswith(FHIR_JSON), (r.status_code, r.headers, r.text)
    body = r.json()
    assert body["resourceType"] == "OperationOutcome", body
    issue = body["issue"][0]
    return r.status_code, issue["code"], issue["details"]["coding"][0]["code"]


def patient_query(fw: FhirWorld) -> dict[str, str]:
    return {"identifier": f"{systems.IIN}|{fw.w.cook_iin}"}


@pytest.mark.parametrize("accept", ACCEPTS, ids=["none", "json", "fhir-json", "any"])
def test_every_error_under_fhir_is_an_operation_outcome(
    client: TestClient, fw: FhirWorld, accept: dict[str, str]
) -> None:
    anonymous = client.get("/fhir/R4/Patient", params=patient_query(fw), headers=accept)
    assert outcome_of(anonymous) == (401, "login", "auth.not_authenticated")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    employer = client.get("/fhir/R4/Patient", params=patient_query(fw), headers={**fw.w.h["employer"], **accept})
    assert outcome_of(employer)[:2] == (403, "forbidden")
    mis = {**fw.w.h["mis_a"], **accept}
    assert outcome_of(client.get("/fhir/R4/Nothing", headers=mis)) == (404, "not-found", "core.not_found")
    assert outcome_of(client.get("/fhir/R5/metadata", headers=accept)) == (404, "not-found", "core.not_found")
    assert outcome_of(client.get("/fhir", headers=accept))[:2] == (404, "not-found")
    wrong_method = client.delete("/fhir/R4/metadata", headers=mis)
    assert outcome_of(wrong_method) == (405, "not-supported", "core.method_not_allowed")
    assert "GET" in wrong_method.headers["allow"]
    unstated = client.get("/fhir/R4/Patient/999999", headers=mis)  # outside the MIS's population, no purpose
    assert outcome_of(unstated) == (422, "invalid", "identity.purpose_required")


def test_the_outcome_speaks_the_readers_language(client: TestClient) -> None:
    r = client.get("/fhir/R4/Patient/1", headers={"Accept-Language": "kk"})
    assert outcome_of(r)[0] == 401
    kk = r.json()["issue"][0]["details"]["text"]
    en = client.get("/fhir/R4/Patient/1", headers={"Accept-Language": "en"}).json()["issue"][0]["details"]["text"]
    assert kk != en and r.json()["issue"][0]["diagnostics"] == en


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"_format": "xml"}, {}),
        ({"_format": "application/fhir+xml"}, {}),
        ({"_format": "text/turtle"}, {}),
        ({}, {"Accept": "application/fhir+xml"}),
        ({}, {"Accept": "application/xml, text/xml;q=0.5"}),
        ({}, {"Accept": "application/fhir+json;q=0, application/fhir+xml"}),
    ],
)
def test_xml_asked_for_is_406_in_json(
    client: TestClient, fw: FhirWorld, params: dict[str, str], headers: dict[str, str]
) -> None:
    r = client.get("/fhir/R4/metadata", params=params, headers=headers)
    assert outcome_of(r) == (406, "not-supported", "fhir.not_acceptable")
    assert r.json()["issue"][0].get("expression", ["_format"]) == ["_format"]
    search = client.get(
        "/fhir/R4/Patient", params={**patient_query(fw), **params}, headers={**fw.w.h["mis_a"], **headers}
    )
    assert search.status_code == 406 and fw.w.cook_iin not in search.text


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"_format": "json"}, {}),
        ({"_format": "application/json"}, {}),
        ({"_format": "application/fhir+json"}, {"Accept": "application/fhir+xml"}),  # _format wins
        ({}, {"Accept": "application/fhir+json; fhirVersion=4.0"}),
        ({}, {"Accept": "application/json"}),
        ({}, {"Accept": "application/fhir+xml;q=0.9, */*;q=0.1"}),
        ({}, {}),
    ],
)
def test_json_in_any_spelling_is_served(
    client: TestClient, fw: FhirWorld, params: dict[str, str], headers: dict[str, str]
) -> None:
    r = client.get("/fhir/R4/metadata", params=params, headers=headers)
    assert r.status_code == 200 and r.json()["resourceType"] == "CapabilityStatement"
    assert r.headers["content-type"].startswith(FHIR_JSON)


@pytest.mark.parametrize("kind", ["application/fhir+xml", "application/xml", "text/xml; charset=utf-8"])
def test_an_xml_body_is_415(client: TestClient, fw: FhirWorld, kind: str) -> None:
    xml = b'<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/></Bundle>'
    for path in ("/fhir/R4", "/fhir/R4/Bundle/$validate"):
        r = client.post(path, content=xml, headers={**fw.w.h["mis_a"], "Content-Type": kind})
        assert outcome_of(r) == (415, "not-supported", "fhir.unsupported_media")
    form = client.post("/fhir/R4/Patient/_search", content=b"<x/>", headers={**fw.w.h["mis_a"], "Content-Type": kind})
    assert form.status_code == 415


def test_a_json_body_under_any_json_name_is_read(client: TestClient, fw: FhirWorld) -> None:
    doc = bundle([observation(fw.w.cook_iin)], signer=fw.signer)
    for kind in (FHIR_JSON, "application/json", "application/fhir+json; charset=utf-8"):
        r = client.post(
            "/fhir/R4/Bundle/$validate",
            content=json.dumps(doc).encode(),
            headers={**fw.w.h["mis_a"], "Content-Type": kind},
        )
        assert r.status_code == 200 and r.json()["issue"][0]["severity"] == "information", r.text


def test_pretty_indents_and_plain_is_compact(client: TestClient) -> None:
    pretty = client.get("/fhir/R4/metadata", params={"_pretty": "true"})
    plain = client.get("/fhir/R4/metadata", params={"_pretty": "false"})
    assert pretty.status_code == plain.status_code == 200
    assert pretty.text.startswith("{\n  ") and "\n" not in plain.text
    assert pretty.json() == plain.json() and pretty.headers["content-type"].startswith(FHIR_JSON)
    error = client.get("/fhir/R4/Patient/1", params={"_pretty": "true"})
    assert error.status_code == 401 and error.text.startswith("{\n  ") and "www-authenticate" in error.headers
    bad = client.get("/fhir/R4/metadata", params={"_pretty": "yes"})
    assert outcome_of(bad) == (400, "invalid", "fhir.bad_parameter")
    assert bad.json()["issue"][0]["expression"] == ["_pretty"]


def test_the_rest_of_the_api_keeps_problem_json(client: TestClient) -> None:
    r = client.get("/api/v1/interop/dead-letters", headers={"Accept": FHIR_JSON})
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert (
        client.get("/api/v1/nothing", params={"_format": "xml"})
        .headers["content-type"]
        .startswith("application/problem+json")
    )


def test_an_unexpected_error_is_an_operation_outcome_too(
    client: TestClient, fw: FhirWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(base: str) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(resources, "capability_statement", broken)
    r = client.get("/fhir/R4/metadata", headers={"Accept": "application/json"})
    assert outcome_of(r) == (500, "exception", "core.internal")
    assert r.json()["issue"][0]["severity"] == "fatal" and "boom" not in r.text


def test_a_read_takes_summary_and_elements(client: TestClient, fw: FhirWorld) -> None:
    found = client.post(
        "/fhir/R4/Practitioner/_search",
        data={"identifier": f"{systems.IIN}|{fw.signer.iin}"},
        headers=fw.w.h["mis_a"],
    ).json()
    url = f"/fhir/R4/Practitioner/{found['entry'][0]['resource']['id']}"
    full = client.get(url, headers=fw.w.h["mis_a"]).json()
    assert "qualification" in full
    summary = client.get(url, params={"_summary": "true"}, headers=fw.w.h["mis_a"]).json()
    assert "qualification" not in summary and summary["name"] == full["name"]
    assert summary["meta"]["tag"][-1]["code"] == "SUBSETTED"
    only = client.get(url, params={"_elements": "name"}, headers=fw.w.h["mis_a"]).json()
    assert set(only) - {"resourceType", "id", "meta"} == {"name"}
    bad = client.get(url, params={"_summary": "short"}, headers=fw.w.h["mis_a"])
    assert outcome_of(bad) == (400, "invalid", "fhir.bad_search")


def test_the_capability_statement_declares_the_result_parameters_and_validate(client: TestClient) -> None:
    rest = client.get("/fhir/R4/metadata").json()["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    for rtype in ("Patient", "Practitioner", "Organization"):
        names = {p["name"] for p in by_type[rtype]["searchParam"]}
        assert {"_count", "_summary", "_total"} <= names, names
    assert by_type["Bundle"]["operation"][0]["name"] == "validate"
