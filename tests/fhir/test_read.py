"""Read and search of the registry through /fhir/R4: Patient by IIN (GET and POST _search), Organization by
BIN, Location near a point with paging, Practitioner, PractitionerRole; metadata; errors as OperationOutcome."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.api.fhir import _HideQuery
from emhana.facilities.models import Post
from emhana.fhir import systems
from emhana.fhir.registry import READ_ACTION
from tests.builders.fhir import FhirWorld, audit_actions

FHIR_JSON = "application/fhir+json"


def get(client: TestClient, fw: FhirWorld, path: str, who: str = "mis_a", **params: Any) -> Any:
    r = client.get(f"/fhir/R4/{path}", params=params, headers={**fw.w.h[who], "Accept": FHIR_JSON})
    assert r.headers["content-type"].startswith(FHIR_JSON), r.text
    return r


def test_metadata_is_a_capability_statement(client: TestClient) -> None:
    r = client.get("/fhir/R4/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith(FHIR_JSON)
    cap = r.json()
    assert cap["resourceType"] == "CapabilityStatement" and cap["fhirVersion"] == "4.0.1"
    types = {x["type"] for x in cap["rest"][0]["resource"]}
    assert {"Patient", "Organization", "Location", "Practitioner", "PractitionerRole"} <= types


def test_patient_by_iin_names_the_attached_organization_and_the_read_is_logged(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    r = get(client, fw, "Patient", identifier=f"{systems.IIN}|{fw.w.cook_iin}")
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    patient = bundle["entry"][0]["resource"]
    assert patient["identifier"][0] == {"use": "official", "system": systems.IIN, "value": fw.w.cook_iin}
    assert patient["gender"] == "female" and patient["birthDate"] == "1990-05-01"
    assert patient["generalPractitioner"][0]["reference"] == f"Organization/{fw.w.b}"  # the cook is attached to B
    assert all(fw.w.cook_iin not in link["url"] for link in bundle["link"])  # the IIN is never put in a link
    assert audit_actions(sessions).count(READ_ACTION) == 1
    read = get(client, fw, f"Patient/{patient['id']}")
    assert read.status_code == 200 and read.json()["id"] == patient["id"]
    assert audit_actions(sessions).count(READ_ACTION) == 2


def test_patient_search_by_post_keeps_the_iin_out_of_the_url(client: TestClient, fw: FhirWorld) -> None:
    r = client.post(
        "/fhir/R4/Patient/_search", data={"identifier": f"{systems.IIN}|{fw.w.cook_iin}"}, headers=fw.w.h["mis_a"]
    )
    assert r.status_code == 200 and r.json()["total"] == 1
    none = client.post(
        "/fhir/R4/Patient/_search", data={"identifier": f"{systems.IIN}|000000000000"}, headers=fw.w.h["mis_a"]
    )
    assert none.status_code == 200 and none.json()["total"] == 0 and "entry" not in none.json()


def test_patient_search_errors_are_precise(client: TestClient, fw: FhirWorld) -> None:
    r = get(client, fw, "Patient")
    assert r.status_code == 400
    assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "fhir.identifier_required"
    r = get(client, fw, "Patient", identifier=f"urn:other|{fw.w.cook_iin}")
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["identifier"]
    assert fw.w.cook_iin not in r.text
    r = get(client, fw, "Patient", name="Тестов")
    assert r.status_code == 400 and r.json()["issue"][0]["code"] == "not-supported"
    # Outside the MIS's population (a missing id included: no oracle) a read needs a stated purpose.
    r = get(client, fw, "Patient/999999")
    assert r.status_code == 422 and r.json()["issue"][0]["details"]["coding"][0]["code"] == "identity.purpose_required"
    r = client.get(
        "/fhir/R4/Patient/999999", headers={**fw.w.h["mis_a"], "Accept": FHIR_JSON, "X-Purpose-Of-Use": "care"}
    )
    assert r.status_code == 404 and r.json()["issue"][0]["code"] == "not-found"
    r = get(client, fw, "Patient", who="employer", identifier=f"{systems.IIN}|{fw.w.cook_iin}")
    assert r.status_code == 403 and r.json()["issue"][0]["code"] == "forbidden"


def test_organization_by_bin_and_by_name(client: TestClient, fw: FhirWorld) -> None:
    r = get(client, fw, "Organization", identifier=f"{systems.BIN}|180441000669")
    org = r.json()["entry"][0]["resource"]
    assert org["id"] == str(fw.w.x) and org["active"] is False  # excluded from the database
    r = get(client, fw, "Organization", _count="1")
    bundle = r.json()
    assert bundle["total"] == 2 and len(bundle["entry"]) == 1  # the participating ones
    assert [x["relation"] for x in bundle["link"]] == ["self", "next"]
    nxt = client.get(bundle["link"][1]["url"], headers=fw.w.h["mis_a"]).json()
    assert len(nxt["entry"]) == 1 and nxt["entry"][0]["resource"]["id"] != bundle["entry"][0]["resource"]["id"]
    assert [x["relation"] for x in nxt["link"]] == ["self", "previous"]
    assert get(client, fw, f"Organization/{fw.w.a}").json()["identifier"][0]["value"] == "150340001236"


def test_location_near_is_nearest_first_within_the_distance(client: TestClient, fw: FhirWorld) -> None:
    r = get(client, fw, "Location", near="51.15|71.45|10|km")
    bundle = r.json()
    assert r.status_code == 200, r.text
    names = [e["resource"]["managingOrganization"]["reference"] for e in bundle["entry"]]
    assert names == [f"Organization/{fw.w.b}", f"Organization/{fw.w.a}"]  # X is excluded, B is at the point
    # The distance is the match's, in entry.search (not the Location's own data).
    distances = [e["search"]["extension"][0]["valueDistance"]["value"] for e in bundle["entry"]]
    assert distances[0] == 0.0 and 0 < distances[1] < 10
    assert all(e["search"]["extension"][0]["url"].endswith("/location-distance") for e in bundle["entry"])
    assert all("extension" not in e["resource"] for e in bundle["entry"])
    assert bundle["total"] == 2
    assert get(client, fw, "Location", near="51.15|71.45|1|km").json()["total"] == 1
    page = get(client, fw, "Location", near="51.15|71.45|10|km", _count="1", _offset="1").json()
    assert [e["resource"]["managingOrganization"]["reference"] for e in page["entry"]] == [f"Organization/{fw.w.a}"]
    bad = get(client, fw, "Location", near="north|71.45")
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["near"]
    by_org = get(client, fw, "Location", organization=f"Organization/{fw.w.a}").json()
    assert by_org["total"] == 1


def test_practitioner_and_role(client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    r = get(client, fw, "Practitioner", identifier=f"{systems.IIN}|{fw.signer.iin}")
    prac = r.json()["entry"][0]["resource"]
    assert prac["name"][0]["family"] == "Ахметова"
    with sessions.begin() as s:
        s.add(
            Post(
                practitioner_id=int(prac["id"]),
                entity_id=fw.w.a,
                title="терапевт",
                rate=1.0,
                valid_from=dt.date(2024, 1, 1),
            )
        )
    roles = get(client, fw, "PractitionerRole", practitioner=f"Practitioner/{prac['id']}").json()
    role = roles["entry"][0]["resource"]
    assert role["organization"]["reference"] == f"Organization/{fw.w.a}" and role["active"] is True
    assert get(client, fw, f"PractitionerRole/{role['id']}").json()["id"] == role["id"]
    assert get(client, fw, "PractitionerRole", organization=f"Organization/{fw.w.b}").json()["total"] == 0


def test_anonymous_reads_are_refused_with_an_outcome_for_fhir_clients(client: TestClient) -> None:
    r = client.get("/fhir/R4/Practitioner", headers={"Accept": FHIR_JSON})  # the directory's people need a token
    assert r.status_code == 401 and r.json()["issue"][0]["code"] == "login"
    assert r.headers["content-type"].startswith(FHIR_JSON)
    plain = client.get("/fhir/R4/Practitioner")  # whatever the Accept header, an OperationOutcome (issue 17)
    assert plain.status_code == 401 and plain.json()["issue"][0]["code"] == "login"
    assert client.get("/fhir/R4/Organization", headers={"Accept": FHIR_JSON}).status_code == 200  # public


def test_the_access_log_never_shows_a_search_query() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", f"/fhir/R4/Patient?identifier={systems.IIN}|900501401006", "1.1", 200),
        None,
    )
    assert _HideQuery().filter(record)
    assert "900501401006" not in record.getMessage() and "/fhir/R4/Patient" in record.getMessage()


def test_the_capability_statement_declares_the_directorys_versions_and_public_reads(client: TestClient) -> None:
    cap = client.get("/fhir/R4/metadata").json()
    by_type = {r["type"]: r for r in cap["rest"][0]["resource"]}
    for rtype in ("Organization", "Location", "Practitioner", "PractitionerRole"):
        item = by_type[rtype]
        codes = {i["code"] for i in item["interaction"]}
        assert {"read", "vread", "history-instance", "history-type", "search-type"} <= codes
        assert item["versioning"] == "versioned" and item["readHistory"] is True
        assert "_lastUpdated" in {p["name"] for p in item["searchParam"]}
        assert ("Public" in item.get("documentation", "")) == (rtype != "Practitioner")
    assert "Public" not in by_type["Patient"].get("documentation", "")
