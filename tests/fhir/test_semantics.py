"""FHIR semantics of the inbound transaction (issue 17): versions and their content, the statuses that are recorded,
entered-in-error as a signed retraction, POST and PUT only, results with a value, the code map's items, authors,
times that keep their instant, and refusals that name their dead letter."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.fhir import systems
from emhana.fhir.inbound_store import RETRACTED_REASON
from emhana.fhir.mapping import CONDITION_VERIFICATION
from emhana.fhir.models import CodeMap, InboundResource
from emhana.identity.models import Person
from emhana.kernel.i18n import translate
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.service import current_entries
from tests.builders import fhir as b
from tests.builders.fhir import FhirWorld, codes, issues, open_letters, post, written
from tests.builders.medbook import book_body
from tests.builders.people import add_person


def entries(sessions: sessionmaker[Session]) -> list[JournalEntry]:
    with sessions() as s:
        return list(s.scalars(select(JournalEntry).order_by(JournalEntry.id)))


def in_force(sessions: sessionmaker[Session], book_id: int) -> list[int]:
    with sessions() as s:
        return [e.id for e in current_entries(session=s, book_id=book_id)]


def statuses(r: Any) -> list[str]:
    return [e["response"]["status"] for e in r.json()["entry"]]


def refused(r: Any, status: int, code: str, expression: str) -> None:
    """Assert a refusal: its status, its one issue's code and FHIRPath, and kk/ru/en texts (here: the request's)."""
    assert r.status_code == status, r.text
    assert codes(r) == [code]
    assert issues(r)[0]["expression"] == [expression]


# --- Versions -------------------------------------------------------------------------------------------------


def test_the_same_version_with_other_content_is_a_conflict(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    first = b.observation(iin, rid="lab-1", version="1", interpretation="NEG")
    assert post(client, fw, b.bundle([first], signer=fw.signer)).status_code == 200
    before = written(sessions)
    changed = b.observation(iin, rid="lab-1", version="1", interpretation="POS")
    r = post(client, fw, b.bundle([changed], signer=fw.signer))
    refused(r, 409, "fhir.version_conflict", "Bundle.entry[0].resource.meta.versionId")
    assert issues(r)[0]["code"] == "conflict"
    assert written(sessions) == before
    assert [x.code for x in open_letters(sessions)] == ["fhir.version_conflict"]
    # The same content, meta aside, is the duplicate it always was.
    again = dict(first, meta={"versionId": "1", "lastUpdated": "2026-03-02T10:00:00+05:00"})
    r = post(client, fw, b.bundle([again], signer=fw.signer))
    assert r.status_code == 200 and statuses(r)[0] == "200 OK"
    assert written(sessions)[:2] == before[:2]


def test_without_a_version_the_content_stands_for_it(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    neg = b.observation(iin, rid="lab-2", interpretation="NEG")
    r = post(client, fw, b.bundle([neg], signer=fw.signer))
    assert r.status_code == 200 and statuses(r)[0] == "201 Created"
    # A resend (a retry) is a duplicate: nothing is written again.
    r = post(client, fw, b.bundle([neg], signer=fw.signer))
    assert statuses(r)[0] == "200 OK"
    assert len(entries(sessions)) == 1
    # Changed content under the same id is a new version: it corrects the entry (C-41), it is not dropped.
    pos = b.observation(iin, rid="lab-2", interpretation="POS")
    r = post(client, fw, b.bundle([pos], signer=fw.signer))
    assert r.status_code == 200 and statuses(r)[0] == "201 Created"
    rows = [e for e in entries(sessions) if e.kind == "lab_result"]
    assert [(e.result, e.supersedes_id) for e in rows] == [("negative", None), ("positive", rows[0].id)]
    with sessions() as s:
        versions = list(s.scalars(select(InboundResource.version).order_by(InboundResource.id)))
    assert len(versions) == 2 and all(len(v) == 64 for v in versions) and versions[0] != versions[1]
    assert r.json()["entry"][0]["response"]["etag"] == f'W/"{versions[1]}"'
    # The first content again: it was received already, so it is a duplicate, not a rollback.
    r = post(client, fw, b.bundle([neg], signer=fw.signer))
    assert statuses(r)[0] == "200 OK"


def test_rows_received_before_content_was_kept_are_not_conflicts(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    assert post(client, fw, b.bundle([b.observation(iin, rid="old", version="1")], signer=fw.signer)).status_code == 200
    with sessions.begin() as s:  # as a row written before migration 0026: no body, no content hash
        s.execute(update(InboundResource).values(body=None, content_sha256=""))
    r = post(client, fw, b.bundle([b.observation(iin, rid="old", version="1", on="2026-03-03")], signer=fw.signer))
    assert r.status_code == 200 and statuses(r)[0] == "200 OK"


# --- Statuses -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "status"),
    [
        ("observation", "preliminary"),
        ("observation", "registered"),
        ("observation", "cancelled"),
        ("observation", "unknown"),
        ("observation", "no-such-status"),
        ("xray", "preliminary"),
        ("xray", "partial"),
        ("immunization", "not-done"),
    ],
)
def test_only_final_results_are_recorded(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], make: str, status: str
) -> None:
    resource = getattr(b, make)(fw.w.cook_iin)
    resource["status"] = status
    before = written(sessions)
    r = post(client, fw, b.bundle([b.observation(fw.w.cook_iin), resource], signer=fw.signer))
    refused(r, 422, "fhir.status_not_recorded", "Bundle.entry[1].resource.status")
    assert status in issues(r)[0]["diagnostics"]
    assert written(sessions) == before
    [letter] = open_letters(sessions)
    assert (letter.position, letter.code) == (1, "fhir.status_not_recorded")


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_final_amended_and_corrected_results_are_recorded(client: TestClient, fw: FhirWorld, status: str) -> None:
    obs, report = b.observation(fw.w.cook_iin), b.xray(fw.w.cook_iin)
    obs["status"] = report["status"] = status
    r = post(client, fw, b.bundle([obs, report], signer=fw.signer))
    assert r.status_code == 200 and statuses(r)[:2] == ["201 Created"] * 2


def _withdrawn(resource: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(resource))
    if out["resourceType"] == "Condition":
        out["verificationStatus"] = {"coding": [{"system": CONDITION_VERIFICATION, "code": "entered-in-error"}]}
    else:
        out["status"] = "entered-in-error"
    out["meta"] = {"versionId": "2"}
    return out


@pytest.mark.parametrize("make", ["observation", "xray", "immunization", "condition"])
def test_entered_in_error_retracts_the_entry_through_a_signed_correction(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], make: str
) -> None:
    resource = getattr(b, make)(fw.w.cook_iin)
    resource["meta"] = {"versionId": "1"}
    assert post(client, fw, b.bundle([resource], signer=fw.signer)).status_code == 200
    [received] = entries(sessions)
    assert in_force(sessions, fw.book_id) == [received.id]
    withdrawn = _withdrawn(resource)
    r = post(client, fw, b.bundle([withdrawn], signer=fw.signer))
    assert r.status_code == 200, r.text
    assert statuses(r)[0] == "201 Created"
    old, retraction = entries(sessions)
    assert retraction.retracted is True and retraction.supersedes_id == old.id
    assert retraction.signature_state == "signed"  # the bundle's CMS covers the entered-in-error resource
    assert (retraction.kind, retraction.item_code, retraction.result) == (old.kind, old.item_code, None)
    with sessions() as s:
        language = s.get(MedicalBook, fw.book_id).language  # type: ignore[union-attr]
    reference = f"{resource['resourceType']}/{resource['id']}"  # the reason, in the book's language, names it
    assert retraction.reason == translate(language, RETRACTED_REASON, {"reference": reference})
    assert reference in retraction.reason and "{" not in retraction.reason
    assert b'"retracted":true' in retraction.canonical
    assert in_force(sessions, fw.book_id) == []
    # The same withdrawal again is a duplicate; a new version of a withdrawn resource is refused.
    again = post(client, fw, b.bundle([withdrawn], signer=fw.signer))
    assert again.status_code == 200 and statuses(again)[0] == "200 OK"
    revived = dict(resource, meta={"versionId": "3"})
    before = written(sessions)
    r = post(client, fw, b.bundle([revived], signer=fw.signer))
    refused(r, 409, "fhir.retracted", "Bundle.entry[0].resource")
    assert written(sessions) == before


@pytest.mark.parametrize(("make", "element"), [("observation", "status"), ("condition", "verificationStatus")])
def test_entered_in_error_for_an_unknown_resource_is_refused(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], make: str, element: str
) -> None:
    before = written(sessions)
    withdrawn = _withdrawn(getattr(b, make)(fw.w.cook_iin))
    r = post(client, fw, b.bundle([b.xray(fw.w.cook_iin), withdrawn], signer=fw.signer))
    refused(r, 422, "fhir.unknown_retraction", f"Bundle.entry[1].resource.{element}")
    assert written(sessions) == before


def test_a_retraction_withdraws_every_version_even_a_pending_correction(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    v1 = b.observation(iin, rid="lab-3", version="1")
    v2 = b.observation(iin, rid="lab-3", version="2", on="2026-03-03")
    assert post(client, fw, b.bundle([v1, v2], signer=fw.signer)).status_code == 200
    first, correction = entries(sessions)
    assert correction.signature_state == "pending"  # an MIS correction awaits its signature: v1 stays in force
    assert in_force(sessions, fw.book_id) == [first.id]
    withdrawn = dict(v2, status="entered-in-error", meta={"versionId": "3"})
    assert post(client, fw, b.bundle([withdrawn], signer=fw.signer)).status_code == 200
    assert entries(sessions)[-1].supersedes_id == correction.id
    assert in_force(sessions, fw.book_id) == []


def test_a_resource_received_for_another_worker_is_neither_retracted_nor_corrected_here(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    stranger = add_person(sessions, born=dt.date(1991, 2, 3))
    with sessions() as s:
        other_iin = str(s.scalar(select(Person.iin).where(Person.id == stranger)))
    issued = client.post("/api/v1/medbook/books", headers=fw.w.h["rt_a"], json=book_body(fw.w, iin=other_iin))
    assert issued.status_code == 201, issued.text
    theirs = b.observation(other_iin, rid="lab-4", version="1")
    assert post(client, fw, b.bundle([theirs], signer=fw.signer)).status_code == 200
    before = written(sessions)
    mine = b.observation(fw.w.cook_iin, rid="lab-4", version="2")
    refused(
        post(client, fw, b.bundle([mine], signer=fw.signer)),
        422,
        "fhir.other_worker",
        "Bundle.entry[0].resource.subject",
    )
    withdrawn = _withdrawn(b.observation(fw.w.cook_iin, rid="lab-4"))
    r = post(client, fw, b.bundle([withdrawn], signer=fw.signer))
    refused(r, 422, "fhir.unknown_retraction", "Bundle.entry[0].resource.status")
    assert written(sessions) == before


# --- Entries --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["DELETE", "GET", "PATCH", "HEAD"])
def test_only_post_and_put_entries_are_accepted(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], method: str
) -> None:
    doc = b.bundle([b.observation(fw.w.cook_iin), b.observation(fw.w.cook_iin)], signer=fw.signer)
    doc["entry"][1]["request"] = {"method": method, "url": f"Observation/{doc['entry'][1]['resource']['id']}"}
    before = written(sessions)
    r = post(client, fw, doc)
    refused(r, 422, "fhir.method_not_allowed", "Bundle.entry[1].request.method")
    assert issues(r)[0]["code"] == "not-supported"
    assert written(sessions) == before
    assert [x.code for x in open_letters(sessions)] == ["fhir.method_not_allowed"]


def test_an_entry_without_a_request_is_refused(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    doc = b.bundle([b.observation(fw.w.cook_iin)], signer=fw.signer)
    del doc["entry"][0]["request"]
    r = post(client, fw, doc)
    refused(r, 400, "fhir.request_required", "Bundle.entry[0].request")
    doc["entry"][1]["request"] = {"url": "Provenance"}  # the Provenance too; its method missing
    r = post(client, fw, doc)
    assert r.status_code == 400
    assert [i["expression"] for i in issues(r)] == [["Bundle.entry[0].request"], ["Bundle.entry[1].request.method"]]


def test_put_names_the_resource_and_post_its_type(client: TestClient, fw: FhirWorld) -> None:
    obs = b.observation(fw.w.cook_iin, rid="lab-5")
    doc = b.bundle([obs], signer=fw.signer)
    doc["entry"][0]["request"] = {"method": "PUT", "url": "Observation/another"}
    refused(post(client, fw, doc), 422, "fhir.request_url", "Bundle.entry[0].request.url")
    doc["entry"][0]["request"] = {"method": "POST", "url": "Condition"}
    refused(post(client, fw, doc), 422, "fhir.request_url", "Bundle.entry[0].request.url")
    doc["entry"][0]["request"] = {"method": "POST", "url": "Observation", "ifNoneExist": "identifier=x"}
    refused(post(client, fw, doc), 422, "fhir.conditional_create", "Bundle.entry[0].request.ifNoneExist")
    doc["entry"][0]["request"] = {"method": "PUT", "url": "Observation/lab-5"}
    r = post(client, fw, doc)
    assert r.status_code == 200 and statuses(r)[0] == "201 Created"


def test_an_observation_needs_a_value(client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    empty = b.observation(fw.w.cook_iin)
    del empty["interpretation"]
    before = written(sessions)
    r = post(client, fw, b.bundle([b.xray(fw.w.cook_iin), empty], signer=fw.signer))
    refused(r, 422, "fhir.no_value", "Bundle.entry[1].resource.value")
    assert written(sessions) == before
    report = b.xray(fw.w.cook_iin)
    del report["conclusion"], report["conclusionCode"]
    refused(
        post(client, fw, b.bundle([report], signer=fw.signer)),
        422,
        "fhir.no_value",
        "Bundle.entry[0].resource.conclusion",
    )
    measured = dict(empty, valueQuantity={"value": 5.2, "unit": "mmol/L"})
    r = post(client, fw, b.bundle([measured], signer=fw.signer))
    assert r.status_code == 200, r.text
    assert [(e.result, e.result_text) for e in entries(sessions)] == [(None, "5.2 mmol/L")]


def test_the_code_map_refuses_items_the_catalogue_lacks(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    row = {"system": systems.LOINC, "code": "11111-1", "resource_type": "Observation", "kind": "lab_result"}
    r = client.put("/api/v1/interop/code-map", headers=fw.w.h["fund"], json=row | {"item_code": "no_such_item"})
    assert r.status_code == 422 and r.json()["code"] == "medbook.item_not_in_catalogue", r.text
    r = client.put("/api/v1/interop/code-map", headers=fw.w.h["fund"], json=row | {"item_code": "fluorography"})
    assert r.status_code == 422 and r.json()["code"] == "medbook.item_not_in_catalogue"  # an X-ray, not a lab test
    r = client.put(
        "/api/v1/interop/code-map", headers=fw.w.h["fund"], json=row | {"item_code": "no_such_item", "active": False}
    )
    assert r.status_code == 200  # switching a mapping off is allowed whatever it names
    with sessions() as s:
        assert s.scalar(select(CodeMap.item_code).where(CodeMap.code == "11111-1")) == "no_such_item"


def test_a_mapping_to_an_unknown_item_written_earlier_is_refused_at_ingest(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:  # as the code map accepted it before issue 17
        s.add(
            CodeMap(
                system=systems.LOINC, code="11111-1", resource_type="Observation", kind="lab_result", item_code="x_ray"
            )
        )
    obs = b.observation(fw.w.cook_iin, code="11111-1")
    obs["code"]["coding"].insert(0, {"system": systems.SNOMED, "code": "0"})
    before = written(sessions)
    r = post(client, fw, b.bundle([obs], signer=fw.signer))
    refused(r, 422, "fhir.item_not_in_catalogue", "Bundle.entry[0].resource.code.coding[1]")
    assert "x_ray" in issues(r)[0]["diagnostics"]
    assert written(sessions) == before


# --- Authors, times, dead letters --------------------------------------------------------------------------------


def test_no_author_and_an_unregistered_author_are_two_errors(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    doc = b.bundle([b.observation(iin)], signer=fw.signer)
    doc["entry"][1]["resource"]["agent"][0]["who"] = {"display": "Dr. Akhmetova"}
    refused(post(client, fw, doc), 422, "fhir.no_author", "Bundle.entry[1].resource.agent")
    stranger = "111111111111"
    r = post(client, fw, b.bundle([b.observation(iin)], signer=fw.signer, author_iin=stranger))
    refused(r, 422, "fhir.author_not_registered", "Bundle.entry[1].resource.agent[0].who.identifier")
    assert "not a registered practitioner" in issues(r)[0]["diagnostics"]
    assert stranger not in r.text  # no IIN in the answer or the dead letter
    assert all(stranger not in x.reason for x in open_letters(sessions))


def test_a_time_keeps_its_instant(client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    iin = fw.w.cook_iin
    late = b.observation(iin, on="2026-03-01T20:30:00Z")  # 01:30 on 2 March in Kazakhstan (UTC+5)
    local = b.observation(iin, on="2026-03-01T20:30:00+05:00")
    r = post(client, fw, b.bundle([late, local], signer=fw.signer))
    assert r.status_code == 200, r.text
    assert [e.performed_on for e in entries(sessions)] == [dt.date(2026, 3, 2), dt.date(2026, 3, 1)]
    with sessions() as s:
        bodies = [json.loads(x.body or b"{}") for x in s.scalars(select(InboundResource).order_by(InboundResource.id))]
    assert bodies[0]["effectiveDateTime"] == "2026-03-01T20:30:00Z"


def test_a_refusal_names_its_dead_letter(client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    empty = b.observation(fw.w.cook_iin)
    del empty["interpretation"]
    r = post(client, fw, b.bundle([empty, dict(empty, id="other")], signer=fw.signer))
    assert r.status_code == 422
    letters = open_letters(sessions)
    assert len(letters) == 2
    named = []
    for issue in issues(r):
        [ext] = issue["extension"]
        parts = {x["url"]: x for x in ext["extension"]}
        assert ext["url"] == f"{systems.BASE}/StructureDefinition/dead-letter"
        assert parts["bundle"]["valueString"] == str(letters[0].bundle_id)
        assert parts["location"]["valueUrl"].endswith(f"/api/v1/interop/dead-letters/{parts['letter']['valueString']}")
        named.append(int(parts["letter"]["valueString"]))
    assert named == [x.id for x in letters]
    assert r.headers["location"].endswith(f"/api/v1/interop/dead-letters/{letters[0].id}")
    path = r.headers["location"].split("://", 1)[1].split("/", 1)[1]
    letter = client.get(f"/{path}", headers=fw.w.h["mis_a"])
    assert letter.status_code == 200, letter.text
    assert letter.json()["code"] == "fhir.no_value" and letter.json()["expression"] == "Bundle.entry[0].resource.value"
    assert client.get(f"/{path}", headers=fw.w.h["admin_a"]).status_code == 200
    assert client.get(f"/{path}", headers=fw.w.h["clin_a"]).status_code == 403
    assert client.get("/api/v1/interop/dead-letters/999999", headers=fw.w.h["fund"]).status_code == 404
