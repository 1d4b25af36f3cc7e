"""The FHIR door and the interop operators' routes honour the Idempotency-Key (issue 14): a retried transaction
gets the first transaction-response, a retried replay or discard of a dead-lettered bundle the first answer,
and none of them writes again."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.fhir import systems
from tests.builders import fhir as b
from tests.builders.fhir import FHIR_JSON, FhirWorld, audit_actions, open_letters, written


def send(client: TestClient, fw: FhirWorld, data: bytes, key: str) -> Any:
    headers = {**fw.w.h["mis_a"], "Content-Type": FHIR_JSON, "Idempotency-Key": key}
    return client.post("/fhir/R4", content=data, headers=headers)


def test_a_retried_transaction_gets_the_first_transaction_response(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    data = b.body(b.bundle([b.observation(fw.w.cook_iin), b.xray(fw.w.cook_iin)], signer=fw.signer))
    first = send(client, fw, data, "tx-1")
    assert first.status_code == 200, first.text
    before = written(sessions)
    again = send(client, fw, data, "tx-1")
    assert (again.status_code, again.json()) == (200, first.json())
    assert [e["response"]["status"] for e in again.json()["entry"][:2]] == ["201 Created"] * 2
    assert again.headers["content-type"].startswith(FHIR_JSON)
    assert written(sessions) == before


def test_a_retried_replay_and_discard_answer_as_the_first_time(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    refused = client.post(
        "/fhir/R4",
        content=b.body(b.bundle([b.observation(iin, code="99999-9")], signer=fw.signer)),
        headers={**fw.w.h["mis_a"], "Content-Type": FHIR_JSON},
    )
    assert refused.status_code == 422
    [letter] = open_letters(sessions)
    fund = fw.w.h["fund"]
    mapping = {
        "system": systems.LOINC,
        "code": "99999-9",
        "resource_type": "Observation",
        "kind": "lab_result",
        "item_code": "helminths",
        "note": "added by the test",
    }
    assert client.put("/api/v1/interop/code-map", headers=fund, json=mapping).status_code == 200
    url = f"/api/v1/interop/bundles/{letter.bundle_id}/replay"
    done = client.post(url, headers={**fund, "Idempotency-Key": "rp-1"})
    assert done.status_code == 200 and done.json()["written"] == 1, done.text
    retry = client.post(url, headers={**fund, "Idempotency-Key": "rp-1"})
    assert (retry.status_code, retry.json()) == (200, done.json())

    client.post("/fhir/R4", content=b"not json", headers={**fw.w.h["mis_a"], "Content-Type": FHIR_JSON})
    [letter] = open_letters(sessions)
    admin = {**fw.w.h["admin_a"], "Idempotency-Key": "dc-1"}
    for _ in range(2):
        r = client.post(f"/api/v1/interop/bundles/{letter.bundle_id}/discard", headers=admin)
        assert r.status_code == 204 and r.content == b""
    assert audit_actions(sessions).count("fhir.discard") == 1
