"""FHIR Bulk Data $export (issue 17, item 4): the kick-off, status, manifest and NDJSON files of an organization's
Group and of the Fund's directory; _type and _since; who may export what; cancellation and expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.fhir.bulk import GROUP, KEEP, SYSTEM, exportable
from emhana.fhir.bulk_models import BulkExport, BulkExportFile
from tests.builders import bulk
from tests.builders.fhir import FhirWorld, codes
from tests.builders.medbook import record

# The desk's entries of the cook's book, one of each clinical type the export carries.
ENTRIES = (
    {"kind": "lab_result", "item_code": "syphilis", "performed_on": "2026-03-02", "result": "negative"},
    {"kind": "xray", "item_code": "fluorography", "performed_on": "2026-03-02", "result": "normal"},
    {"kind": "vaccination", "item_code": "diphtheria", "performed_on": "2026-01-15", "codes": ["ADS-M"]},
    {
        "kind": "past_infection",
        "item_code": "dysentery",
        "performed_on": "2025-06-01",
        "codes": ["A03"],
        "clinical_status": "resolved",
    },
)


def fill_book(client: TestClient, fw: FhirWorld) -> None:
    for body in ENTRIES:
        r = client.post(f"/api/v1/medbook/books/{fw.book_id}/entries", headers=fw.w.h["clin_a"], json=body)
        assert r.status_code == 201, r.text


def events(sessions: sessionmaker[Session], action: str, person: int) -> list[AuditEvent]:
    with sessions() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject_person_id == person))
        )


def test_an_mis_exports_its_groups_patients_and_book_entries_as_valid_ndjson(
    client: TestClient, fw: FhirWorld, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    fill_book(client, fw)
    mis = fw.w.h["mis_a"]
    kicked = bulk.kick_off(client, f"/Group/{fw.w.a}/$export", mis, {"_outputFormat": "application/fhir+ndjson"})
    url = bulk.status_url(kicked)
    assert url.startswith("/fhir/R4/$export-status/")
    waiting = client.get(url, headers=mis)
    assert waiting.status_code == 202 and waiting.headers["x-progress"] and waiting.headers["retry-after"] == "10"
    manifest = bulk.finished(client, url, mis, engine)
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["request"].endswith(f"/fhir/R4/Group/{fw.w.a}/$export?_outputFormat=application%2Ffhir%2Bndjson")
    assert dt.datetime.fromisoformat(manifest["transactionTime"].replace("Z", "+00:00")).tzinfo is not None
    found = bulk.download(client, manifest, mis)
    assert sorted(found) == ["Condition", "DiagnosticReport", "Immunization", "Observation", "Patient"]
    [patient] = found["Patient"]
    assert patient["id"] == str(fw.w.cook)
    assert patient["identifier"][0]["value"] == fw.w.cook_iin
    assert patient["generalPractitioner"][0]["reference"] == f"Organization/{fw.w.b}"  # attached to B, book at A
    assert {o["code"]["coding"][0]["code"] for o in found["Observation"]} == {"syphilis"}
    assert all(
        r["subject" if "subject" in r else "patient"]["reference"] == f"Patient/{fw.w.cook}"
        for t in found
        for r in found[t]
        if t != "Patient"
    )
    # Every exported person is logged for their own "who read my data", and the book for "who read my book".
    [read] = events(sessions, "fhir.patient.read", fw.w.cook)
    assert (read.object_type, read.purpose) == ("fhir_bulk_export", "attached population")
    assert len(events(sessions, "fhir.medbook.read", fw.w.cook)) == 1
    mine = client.get("/api/v1/medbook/me/reads", headers=fw.w.h["cook"])
    assert mine.status_code == 200 and any(r["role"] == "mis_client" for r in mine.json()), mine.text


def test_type_and_since_choose_what_is_exported(
    client: TestClient,
    fw: FhirWorld,
    engine: Engine,
    at: Callable[[dt.datetime], None],
) -> None:
    fill_book(client, fw)
    mis = fw.w.h["mis_a"]
    only = bulk.finished(
        client,
        bulk.status_url(bulk.kick_off(client, f"/Group/{fw.w.a}/$export", mis, {"_type": "Observation,Immunization"})),
        mis,
        engine,
    )
    assert sorted(o["type"] for o in only["output"]) == ["Immunization", "Observation"]

    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    at(later)
    since = (later - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = record(client, fw.w, fw.book_id, "lab_result", "gonorrhea", "negative")
    assert r.status_code == 201, r.text
    changed = bulk.finished(
        client, bulk.status_url(bulk.kick_off(client, f"/Group/{fw.w.a}/$export", mis, {"_since": since})), mis, engine
    )
    found = bulk.download(client, changed, mis)
    # Only what changed after _since: the new result; the cook's identity did not change.
    assert list(found) == ["Observation"]
    assert [o["code"]["coding"][0]["code"] for o in found["Observation"]] == ["gonorrhea"]


def test_who_may_export_what(client: TestClient, fw: FhirWorld, engine: Engine) -> None:
    h = fw.w.h
    # Another organization's Group answers exactly as a missing one; no existence oracle.
    other = bulk.kick_off(client, f"/Group/{fw.w.a}/$export", h["clin_b"])
    missing = bulk.kick_off(client, "/Group/987654321/$export", h["clin_b"])
    assert other.status_code == missing.status_code == 404
    assert codes(other) == codes(missing) == ["core.not_found"]
    assert client.get(f"/fhir/R4/Group/{fw.w.a}", headers=h["clin_b"]).status_code == 404
    # A citizen exports nothing.
    citizen = bulk.kick_off(client, f"/Group/{fw.w.a}/$export", h["cook"])
    assert citizen.status_code == 403 and citizen.json()["resourceType"] == "OperationOutcome"
    assert bulk.kick_off(client, "/$export", h["cook"]).status_code == 403
    # System level is the Fund's; an MIS exports its own Group.
    assert codes(bulk.kick_off(client, "/$export", h["mis_a"])) == ["fhir.export_forbidden"]
    # A registrar of B reads Patients but not books: its Group's Patients, not its entries.
    assert bulk.kick_off(client, f"/Group/{fw.w.b}/$export", h["reg_b"]).status_code == 202
    refused = bulk.kick_off(client, f"/Group/{fw.w.b}/$export", h["reg_b"], {"_type": "Observation"})
    assert refused.status_code == 403 and codes(refused) == ["fhir.export_forbidden"]
    # The Fund: the directory at system level, and a Group's Patients (never clinical data) for a stated purpose.
    fund = bulk.finished(client, bulk.status_url(bulk.kick_off(client, "/$export", h["fund"])), h["fund"], engine)
    directory = bulk.download(client, fund, h["fund"])
    assert (
        {"Organization", "Location"}
        <= set(directory)
        <= {"Organization", "Location", "Practitioner", "PractitionerRole"}
    )
    assert len(directory["Organization"]) == 3
    no_purpose = bulk.kick_off(client, f"/Group/{fw.w.a}/$export", h["fund"])
    assert no_purpose.status_code in (400, 422) and codes(no_purpose) == ["identity.purpose_required"]
    with_purpose = bulk.kick_off(client, f"/Group/{fw.w.a}/$export", {**h["fund"], "X-Purpose-Of-Use": "oversight"})
    manifest = bulk.finished(client, bulk.status_url(with_purpose), h["fund"], engine)
    assert [o["type"] for o in manifest["output"]] == ["Patient"]
    purposed = {**h["fund"], "X-Purpose-Of-Use": "oversight"}
    assert codes(bulk.kick_off(client, f"/Group/{fw.w.a}/$export", purposed, {"_type": "Condition"})) == [
        "fhir.export_forbidden"
    ]


def test_the_group_reads_as_a_fhir_group(client: TestClient, fw: FhirWorld) -> None:
    r = client.get(f"/fhir/R4/Group/{fw.w.a}", headers=fw.w.h["mis_a"])
    assert r.status_code == 200, r.text
    group = r.json()
    get_fhir_model_class("Group").model_validate(group)
    assert (group["type"], group["actual"], group["quantity"]) == ("person", True, 1)  # the cook's book is at A
    assert group["managingEntity"]["reference"] == f"Organization/{fw.w.a}"
    assert "member" not in group


def test_bad_kick_offs_are_precise_operation_outcomes(client: TestClient, fw: FhirWorld) -> None:
    mis, path = fw.w.h["mis_a"], f"/fhir/R4/Group/{fw.w.a}/$export"
    sync = client.get(path, headers={**mis, "Accept": "application/fhir+json"})
    assert sync.status_code == 400 and codes(sync) == ["fhir.export_async"]
    cases: list[tuple[dict[str, str], str]] = [
        ({"_typeFilter": "Patient?active=true"}, "fhir.export_unsupported"),
        ({"_since": "2026-03-01"}, "fhir.export_parameter"),
        ({"_outputFormat": "text/csv"}, "fhir.export_parameter"),
        ({"_type": "Organization"}, "fhir.export_type"),
    ]
    for params, code in cases:
        r = bulk.kick_off(client, f"/Group/{fw.w.a}/$export", mis, params)
        assert r.status_code == 400 and codes(r) == [code], (params, r.text)
        assert r.json()["issue"][0]["expression"], r.text
    lenient = client.get(
        path,
        params={"_typeFilter": "x", "_type": "Patient,Organization"},
        headers={**mis, "Prefer": "respond-async, handling=lenient"},
    )
    assert lenient.status_code == 202, lenient.text


def test_delete_cancels_and_only_the_same_account_reads_an_export(
    client: TestClient, fw: FhirWorld, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    mis = fw.w.h["mis_a"]
    url = bulk.status_url(bulk.kick_off(client, f"/Group/{fw.w.a}/$export", mis))
    assert client.get(url, headers=fw.w.h["clin_a"]).status_code == 404  # the same clinic, another account
    assert client.delete(url, headers=mis).status_code == 202
    gone = client.get(url, headers=mis)
    assert gone.status_code == 404 and codes(gone) == ["fhir.export_gone"]
    assert bulk.run(engine) == 0  # a cancelled export never runs

    url = bulk.status_url(bulk.kick_off(client, f"/Group/{fw.w.a}/$export", mis))
    manifest = bulk.finished(client, url, mis, engine)
    file_url = manifest["output"][0]["url"]
    assert client.get(file_url, headers=fw.w.h["clin_a"]).status_code == 404
    assert client.get(file_url).status_code == 401
    assert client.delete(url, headers=mis).status_code == 202  # a finished export: its files are deleted
    assert client.get(file_url, headers=mis).status_code == 404
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(BulkExportFile)) == 0


def test_files_expire_after_a_day(
    client: TestClient,
    fw: FhirWorld,
    engine: Engine,
    sessions: sessionmaker[Session],
    at: Callable[[dt.datetime], None],
) -> None:
    mis = fw.w.h["mis_a"]
    start = dt.datetime.now(dt.UTC)
    url = bulk.status_url(bulk.kick_off(client, f"/Group/{fw.w.a}/$export", mis))
    manifest = bulk.finished(client, url, mis, engine)
    file_url = manifest["output"][0]["url"]
    assert client.get(file_url, headers=mis).status_code == 200
    at(start + KEEP + dt.timedelta(minutes=5))
    expired = client.get(file_url, headers=mis)
    assert expired.status_code == 404 and codes(expired) == ["fhir.export_gone"]
    assert client.get(url, headers=mis).status_code == 404
    bulk.run(engine)  # the job purges the files
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(BulkExportFile)) == 0
        assert s.scalar(select(BulkExport.state)) == "done"


def test_the_capability_statement_declares_bulk_export(client: TestClient) -> None:
    cap: dict[str, Any] = client.get("/fhir/R4/metadata").json()
    assert "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data" in cap.get("instantiates", [])
    operations = {o["name"] for o in cap["rest"][0].get("operation", [])}
    assert "export" in operations
    group = next(r for r in cap["rest"][0]["resource"] if r["type"] == "Group")
    assert {o["name"] for o in group["operation"]} == {"export"}


def test_a_system_clients_scopes_narrow_the_types_it_exports() -> None:
    mis = Actor(account_id=1, username="mis", role=Role.MIS_CLIENT, display_name="MIS", entity_id=7)
    assert exportable(mis, GROUP) == ("Patient", "Observation", "DiagnosticReport", "Immunization", "Condition")
    assert exportable(replace(mis, scopes=frozenset({"system/Patient.rs", "system/Observation.c"})), GROUP) == (
        "Patient",
    )
    assert exportable(replace(mis, scopes=frozenset({"system/*.read"})), GROUP) == exportable(mis, GROUP)
    assert exportable(mis, SYSTEM) == ()  # the Fund's only
