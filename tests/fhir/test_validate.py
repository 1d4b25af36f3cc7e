"""``POST /fhir/R4/Bundle/$validate``: every finding of the checks that need no write, with its FHIRPath location,
or one information issue; 200 either way; nothing written, nothing in the dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.fhir import systems
from tests.builders.fhir import FhirWorld, audit_actions, bundle, observation, open_letters, written

FHIR_JSON = "application/fhir+json"
URL = "/fhir/R4/Bundle/$validate"


def validate(client: TestClient, fw: FhirWorld, doc: dict[str, Any] | bytes, who: str = "mis_a") -> Any:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return client.post(URL, content=data, headers={**fw.w.h[who], "Content-Type": FHIR_JSON})


def findings(r: Any) -> list[tuple[str, str, list[str]]]:
    assert r.status_code == 200 and r.headers["content-type"].startswith(FHIR_JSON), r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    return [(i["severity"], i["details"]["coding"][0]["code"], i.get("expression", [])) for i in body["issue"]]


def test_a_valid_bundle_gets_one_information_issue_and_nothing_is_written(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    before, actions = written(sessions), audit_actions(sessions)
    doc = bundle([observation(fw.w.cook_iin)], signer=fw.signer)
    assert findings(validate(client, fw, doc)) == [("information", "fhir.valid", [])]
    wrapped = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": doc}, {"name": "mode", "valueCode": "create"}],
    }
    assert findings(validate(client, fw, wrapped)) == [("information", "fhir.valid", [])]
    assert written(sessions) == before and open_letters(sessions) == [] and audit_actions(sessions) == actions
    # The same bundle is then accepted by the transaction: $validate kept nothing that would make it a duplicate.
    sent = client.post(
        "/fhir/R4", content=json.dumps(doc).encode(), headers={**fw.w.h["mis_a"], "Content-Type": FHIR_JSON}
    )
    assert sent.status_code == 200 and sent.json()["entry"][0]["response"]["status"] == "201 Created", sent.text


def test_every_structural_finding_is_reported_with_its_location(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    before = written(sessions)
    wrong = observation(fw.w.cook_iin)
    wrong["effectiveDateTime"] = "yesterday"
    wrong["status"] = ["final"]
    doc = bundle([wrong, observation(fw.w.cook_iin)], signer=fw.signer)
    found = findings(validate(client, fw, doc))
    assert len(found) >= 2 and {f[:2] for f in found} == {("error", "fhir.invalid_resource")}
    locations = {e for f in found for e in f[2]}
    assert any(e.startswith("Bundle.entry[0].resource") and "effectiveDateTime" in e for e in locations), locations
    assert any(e.startswith("Bundle.entry[0].resource") and "status" in e for e in locations), locations
    mixed = bundle([observation(fw.w.cook_iin), {"resourceType": "Patient", "id": "p"}], signer=None)
    assert findings(validate(client, fw, mixed)) == [
        ("error", "fhir.unsupported_type", ["Bundle.entry[1].resource.resourceType"])
    ]
    batch = {**doc, "type": "batch"}
    assert findings(validate(client, fw, batch)) == [("error", "fhir.not_transaction", ["Bundle.type"])]
    assert findings(validate(client, fw, b"{not json"))[0][:2] == ("error", "fhir.malformed_json")
    assert written(sessions) == before and open_letters(sessions) == []


def test_what_cannot_be_validated_is_refused(client: TestClient, fw: FhirWorld) -> None:
    doc = bundle([observation(fw.w.cook_iin)], signer=fw.signer)
    profiled = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": doc}, {"name": "profile", "valueUri": "http://x/p"}],
    }
    r = validate(client, fw, profiled)
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["profile"]
    empty = validate(client, fw, {"resourceType": "Parameters", "parameter": [{"name": "mode", "valueCode": "delete"}]})
    assert (
        empty.status_code == 400
        and empty.json()["issue"][0]["details"]["coding"][0]["code"] == "fhir.nothing_to_validate"
    )
    r = client.post(
        URL,
        params={"profile": "http://x/p"},
        content=json.dumps(doc).encode(),
        headers={**fw.w.h["mis_a"], "Content-Type": FHIR_JSON},
    )
    assert r.status_code == 400


def test_validate_is_for_mis_clients_and_answers_outcomes(client: TestClient, fw: FhirWorld) -> None:
    doc = json.dumps(bundle([observation(fw.w.cook_iin)], signer=fw.signer)).encode()
    anonymous = client.post(URL, content=doc, headers={"Content-Type": "application/json"})
    assert anonymous.status_code == 401 and anonymous.json()["resourceType"] == "OperationOutcome"
    employer = validate(client, fw, doc, who="employer")
    assert employer.status_code == 403 and employer.json()["issue"][0]["code"] == "forbidden"
    assert client.post("/fhir/R4/Observation/$validate", content=doc, headers=fw.w.h["mis_a"]).status_code in (404, 405)
    assert fw.w.cook_iin not in anonymous.text + employer.text and systems.IIN not in employer.headers.get(
        "location", ""
    )
