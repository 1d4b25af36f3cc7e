"""A worker's medical book as a FHIR document Bundle for another MIS, with the authors' signatures."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.trust.signatures.cms import verify_detached
from tests.builders import fhir as b
from tests.builders.fhir import FhirWorld, audit_actions


def test_the_book_is_a_document_whose_mis_entries_carry_verifiable_signatures(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    sent = b.bundle([b.observation(iin), b.xray(iin), b.immunization(iin), b.condition(iin)], signer=fw.signer)
    assert client.post("/fhir/R4", content=b.body(sent), headers=fw.w.h["mis_a"]).status_code == 200
    r = client.get(f"/fhir/R4/Patient/{fw.w.cook}/$medbook", headers=fw.w.h["mis_a"])
    assert r.status_code == 200, r.text
    doc = r.json()
    get_fhir_model_class("Bundle").model_validate(doc)  # a valid FHIR Bundle
    assert doc["type"] == "document"
    kinds = [e["resource"]["resourceType"] for e in doc["entry"]]
    assert kinds[0] == "Composition" and kinds.count("Provenance") == 4 and kinds.count("Binary") == 1
    assert {"Observation", "DiagnosticReport", "Immunization", "Condition", "Patient", "Organization"} <= set(kinds)
    composition = doc["entry"][0]["resource"]
    assert {s["code"]["coding"][0]["code"] for s in composition["section"]} == {
        "lab_result",
        "xray",
        "vaccination",
        "past_infection",
    }
    provenance = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Provenance"]
    binary = next(e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Binary")
    signed = base64.b64decode(binary["data"])
    # The receiving MIS checks the author's signature over the exact bytes without asking the registry.
    for p in provenance:
        cms = base64.b64decode(p["signature"][0]["data"])
        evidence = verify_detached(
            signed,
            cms,
            anchors=[fw.pki.root.certificate],
            crls=[fw.pki.crl],
            intermediates=[fw.pki.intermediate.certificate],
            at=dt.datetime.now(dt.UTC),
        )
        assert evidence.signer_iin == fw.signer.iin
        assert p["entity"][0]["what"]["reference"] == f"Binary/{binary['id']}"
    assert "fhir.medbook.read" in audit_actions(sessions)


def test_desk_entries_state_their_signature_and_a_worker_without_a_book_is_not_found(
    client: TestClient, fw: FhirWorld
) -> None:
    r = client.post(
        f"/api/v1/medbook/books/{fw.book_id}/entries",
        headers=fw.w.h["clin_a"],
        json={"kind": "specialist_exam", "item_code": "therapist", "performed_on": "2026-03-02", "result": "normal"},
    )
    assert r.status_code == 201, r.text
    doc = client.get(f"/fhir/R4/Patient/{fw.w.cook}/$medbook", headers=fw.w.h["clin_a"]).json()
    [prov] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Provenance"]
    assert "signature" not in prov
    assert {x["url"].rsplit("/", 1)[1] for x in prov["extension"]} == {"canonical-sha256", "signature-state"}
    missing = client.get(
        "/fhir/R4/Patient/999999/$medbook", headers={**fw.w.h["mis_a"], "Accept": "application/fhir+json"}
    )
    # A person without a book is refused like another organization's book: no oracle of who has one elsewhere.
    assert missing.status_code == 403 and missing.json()["resourceType"] == "OperationOutcome"
    assert missing.json()["issue"][0]["details"]["coding"][0]["code"] == "auth.forbidden"
    assert client.get(f"/fhir/R4/Patient/{fw.w.cook}/$medbook", headers=fw.w.h["employer"]).status_code == 403


def test_a_desk_entry_signed_through_the_trust_component_carries_its_cms(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    from emhana.trust.signatures.cms import sign_detached
    from emhana.trust.signatures.models import RecordSignature
    from emhana.trust.signatures.records import RecordKind, signable

    r = client.post(
        f"/api/v1/medbook/books/{fw.book_id}/entries",
        headers=fw.w.h["clin_a"],
        json={"kind": "specialist_exam", "item_code": "therapist", "performed_on": "2026-03-02", "result": "normal"},
    )
    entry_id = r.json()["id"]
    with sessions.begin() as s:  # what emhana.trust.signatures.service.attach_signature stores once verified
        data = signable(s, RecordKind.MEDBOOK_ENTRY, entry_id).canonical
        cms = sign_detached(data, fw.signer.key, fw.signer.cert, fw.signer.chain)
        now = dt.datetime.now(dt.UTC)
        s.add(
            RecordSignature(
                record_kind="medbook_entry",
                record_id=entry_id,
                canonical_sha256="0" * 64,
                cms=cms,
                signer_certificate=b"",
                signer_iin=fw.signer.iin,
                signer_bin="150340001236",
                signed_at=now,
                verified_at=now,
                verifier="test",
                evidence={},
            )
        )
    doc = client.get(f"/fhir/R4/Patient/{fw.w.cook}/$medbook", headers=fw.w.h["clin_a"]).json()
    [prov] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Provenance"]
    [binary] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Binary"]
    assert base64.b64decode(binary["data"]) == data
    assert base64.b64decode(prov["signature"][0]["data"]) == cms
    assert prov["entity"][0]["what"]["reference"] == f"Binary/{binary['id']}"


def test_only_the_issuing_organization_reads_the_book_and_the_owner_sees_its_fhir_reads(
    client: TestClient, fw: FhirWorld, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    """Issue 14: another organization's clinician, and an MIS account bound to no organization, get 403 on
    Patient/$medbook as on GET /api/v1/medbook/books/{id}; the issuing MIS's read shows in "who read my book"."""
    path = f"/fhir/R4/Patient/{fw.w.cook}/$medbook"
    _, loose_mis = make_actor(Role.MIS_CLIENT)
    for headers in (fw.w.h["clin_b"], fw.w.h["rt_x"], {"Authorization": f"Bearer {loose_mis}"}):
        r = client.get(path, headers={**headers, "Accept": "application/fhir+json"})
        assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome", r.text
    assert client.get(f"/api/v1/medbook/books/{fw.book_id}", headers=fw.w.h["clin_b"]).status_code == 403
    assert client.get(path, headers={**fw.w.h["mis_a"], "X-Purpose-Of-Use": "periodic exam"}).status_code == 200
    reads = client.get("/api/v1/medbook/me/reads", headers=fw.w.h["cook"]).json()
    assert [(r["role"], r["purpose"]) for r in reads] == [("mis_client", "periodic exam")]
