"""Inbound sync through POST /fhir/R4: signed transaction Bundles become journal entries, all or nothing;
every refusal is a precise OperationOutcome and a dead letter, and nothing is half-written."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.fhir import systems
from emhana.fhir.inbound_store import UPDATED_REASON
from emhana.identity.models import Person
from emhana.kernel.i18n import translate
from emhana.medbook.models import JournalEntry, MedicalBook
from tests.builders import fhir as b
from tests.builders.fhir import FHIR_JSON, FhirWorld, audit_actions, codes, issues, open_letters, post, written
from tests.builders.people import add_person


def four(iin: str) -> list[dict[str, Any]]:
    return [b.observation(iin), b.xray(iin), b.immunization(iin), b.condition(iin)]


def test_a_signed_bundle_becomes_journal_entries(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    before = written(sessions)
    r = post(client, fw, b.bundle(four(fw.w.cook_iin), signer=fw.signer))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(FHIR_JSON)
    out = r.json()
    assert out["type"] == "transaction-response"
    assert [e["response"]["status"] for e in out["entry"]] == ["201 Created"] * 4 + ["200 OK"]
    assert written(sessions) == (before[0] + 4, before[1] + 4, before[2] + 1)
    with sessions() as s:
        rows = list(s.scalars(select(JournalEntry).where(JournalEntry.book_id == fw.book_id).order_by(JournalEntry.id)))
    assert [(e.kind, e.item_code, e.result, e.source) for e in rows] == [
        ("lab_result", "syphilis", "negative", "mis"),
        ("xray", "fluorography", "normal", "mis"),
        ("vaccination", "hepatitis_b", None, "mis"),
        ("past_infection", "tuberculosis", None, "mis"),
    ]
    assert rows[0].performed_on == dt.date(2026, 3, 2) and rows[3].codes == "A15.0"
    assert rows[0].author_name.startswith("Ахметова Динара (")
    assert "fhir.ingest" in audit_actions(sessions)


def test_a_replayed_bundle_writes_nothing_again(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    doc = b.bundle(four(fw.w.cook_iin), signer=fw.signer)
    assert post(client, fw, doc).status_code == 200
    before = written(sessions)
    r = post(client, fw, doc)
    assert r.status_code == 200, r.text
    responses = [e["response"] for e in r.json()["entry"][:4]]
    assert {x["status"] for x in responses} == {"200 OK"}
    assert {x["outcome"]["issue"][0]["details"]["coding"][0]["code"] for x in responses} == {"fhir.duplicate"}
    assert written(sessions)[:2] == before[:2]
    assert open_letters(sessions) == []


def test_a_new_version_corrects_the_entry_of_the_old_one(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    first = post(client, fw, b.bundle([b.observation(iin, rid="lab-1", version="1")], signer=fw.signer))
    assert first.status_code == 200
    r = post(client, fw, b.bundle([b.observation(iin, rid="lab-1", version="2", on="2026-03-03")], signer=fw.signer))
    assert r.status_code == 200, r.text
    with sessions() as s:
        rows = list(s.scalars(select(JournalEntry).order_by(JournalEntry.id)))
    assert rows[1].supersedes_id == rows[0].id and rows[1].performed_on == dt.date(2026, 3, 3)
    with sessions() as s:
        language = s.get(MedicalBook, rows[1].book_id).language  # type: ignore[union-attr]
    # the reason in the book's language, naming the MIS's record (the ledger keeps the version)
    assert rows[1].reason == translate(language, UPDATED_REASON, {"reference": "Observation/lab-1"})
    assert "Observation/lab-1" in rows[1].reason and "MIS update" not in rows[1].reason
    again = post(client, fw, b.bundle([b.observation(iin, rid="lab-1", version="1")], signer=fw.signer))
    # Version 1 as it was received: a duplicate, not a rollback to it.
    assert again.status_code == 200 and again.json()["entry"][0]["response"]["status"] == "200 OK"
    before = written(sessions)
    changed = post(
        client, fw, b.bundle([b.observation(iin, rid="lab-1", version="1", on="2026-03-04")], signer=fw.signer)
    )
    # Version 1 with other content: a conflict, not a duplicate that drops the change (issue 17).
    assert changed.status_code == 409 and codes(changed) == ["fhir.version_conflict"]
    assert issues(changed)[0]["expression"] == ["Bundle.entry[0].resource.meta.versionId"]
    assert written(sessions) == before


def test_malformed_json_is_a_structure_outcome_and_a_dead_letter(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    before = written(sessions)
    r = post(client, fw, b'{"resourceType": "Bundle", "type": "transaction", "entry": [')
    assert r.status_code == 400
    [issue] = issues(r)
    assert issue["code"] == "structure" and issue["details"]["coding"][0]["code"] == "fhir.malformed_json"
    assert issue["expression"] == ["Bundle"]
    assert written(sessions) == before
    [letter] = open_letters(sessions)
    assert letter.code == "fhir.malformed_json" and letter.position is None


def test_a_batch_or_other_resource_is_refused(client: TestClient, fw: FhirWorld) -> None:
    doc = b.bundle([b.observation(fw.w.cook_iin)], signer=fw.signer)
    doc["type"] = "batch"
    r = post(client, fw, doc)
    assert r.status_code == 400 and codes(r) == ["fhir.not_transaction"]
    assert issues(r)[0]["expression"] == ["Bundle.type"]
    r = post(client, fw, b.observation(fw.w.cook_iin))
    assert r.status_code == 400 and issues(r)[0]["expression"] == ["Bundle"]


def test_resources_of_the_wrong_type_are_named(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "identifier": [{"system": systems.IIN, "value": fw.w.cook_iin}]}
    before = written(sessions)
    r = post(client, fw, b.bundle([b.observation(fw.w.cook_iin), patient], signer=fw.signer))
    assert r.status_code == 422
    [issue] = issues(r)
    assert issue["code"] == "not-supported" and issue["expression"] == ["Bundle.entry[1].resource.resourceType"]
    assert "Patient" in issue["diagnostics"]
    assert written(sessions) == before
    assert [(x.code, x.position, x.resource_type) for x in open_letters(sessions)] == [
        ("fhir.unsupported_type", 1, "Patient")
    ]


def test_an_invalid_resource_names_the_element(client: TestClient, fw: FhirWorld) -> None:
    obs = b.observation(fw.w.cook_iin)
    del obs["status"]
    r = post(client, fw, b.bundle([b.xray(fw.w.cook_iin), obs], signer=fw.signer))
    assert r.status_code == 400
    assert [(i["code"], i["expression"]) for i in issues(r)] == [("invalid", ["Bundle.entry[1].resource.status"])]
    assert codes(r) == ["fhir.invalid_resource"]
    bad_date = b.observation(fw.w.cook_iin, on="2026-13-45")
    r = post(client, fw, b.bundle([bad_date], signer=fw.signer))
    assert r.status_code == 400
    assert [i["expression"] for i in issues(r)] == [["Bundle.entry[0].resource.effectiveDateTime"]]


def test_an_unknown_code_goes_to_the_dead_letter_queue_and_replays_after_the_mapping_is_added(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    unknown = b.observation(iin, code="99999-9")
    before = written(sessions)
    # One good and one unknown item: all or nothing.
    r = post(client, fw, b.bundle([b.observation(iin), unknown], signer=fw.signer))
    assert r.status_code == 422
    [issue] = issues(r)
    assert issue["code"] == "code-invalid" and issue["details"]["coding"][0]["code"] == "fhir.unknown_code"
    assert issue["expression"] == ["Bundle.entry[1].resource.code.coding[0]"]
    assert "http://loinc.org|99999-9" in issue["diagnostics"]
    assert written(sessions) == before
    [letter] = open_letters(sessions)
    assert (letter.position, letter.resource_id, letter.code) == (1, unknown["id"], "fhir.unknown_code")

    listed = client.get("/api/v1/interop/dead-letters", headers=fw.w.h["fund"]).json()
    assert listed["total"] == 1 and listed["items"][0]["reason"].startswith("No mapping for the code")
    status = client.get("/api/v1/interop/sync-status", headers=fw.w.h["fund"]).json()
    assert status["bundles_rejected"] == 1 and status["open_dead_letters"] == 1 and status["lag_seconds"] >= 0

    # Replaying before the fix fails again and keeps one open letter with the reason.
    again = client.post(f"/api/v1/interop/bundles/{letter.bundle_id}/replay", headers=w_fund(fw))
    assert again.status_code == 422 and again.json()["code"] == "fhir.replay_refused"
    assert [x.code for x in open_letters(sessions)] == ["fhir.unknown_code"]

    put = client.put(
        "/api/v1/interop/code-map",
        headers=w_fund(fw),
        json={
            "system": systems.LOINC,
            "code": "99999-9",
            "resource_type": "Observation",
            "kind": "lab_result",
            "item_code": "helminths",
            "note": "added by the test",
        },
    )
    assert put.status_code == 200, put.text
    assert client.put(
        "/api/v1/interop/code-map", headers=fw.w.h["mis_a"], json=put.json() | {"id": None}
    ).status_code in (403, 422)
    done = client.post(f"/api/v1/interop/bundles/{letter.bundle_id}/replay", headers=w_fund(fw))
    assert done.status_code == 200, done.text
    assert done.json() == {"bundle_id": letter.bundle_id, "state": "accepted", "written": 2}
    retry = client.post(f"/api/v1/interop/bundles/{letter.bundle_id}/replay", headers=w_fund(fw))
    assert retry.json() == {"bundle_id": letter.bundle_id, "state": "accepted", "written": 0}
    assert written(sessions) == (before[0] + 2, before[1] + 2, before[2] + 1)
    assert open_letters(sessions) == []
    status = client.get("/api/v1/interop/sync-status", headers=fw.w.h["fund"]).json()
    assert status["bundles_accepted"] == 1 and status["open_dead_letters"] == 0
    assert status["resolved_dead_letters"] == 1 and status["last_success_at"] is not None


def w_fund(fw: FhirWorld) -> dict[str, str]:
    return fw.w.h["fund"]


def test_a_worker_without_a_book_is_refused(client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    stranger = add_person(sessions, born=dt.date(1991, 2, 3))
    from emhana.identity.models import Person

    with sessions() as s:
        iin = s.get(Person, stranger).iin  # type: ignore[union-attr]
    before = written(sessions)
    r = post(client, fw, b.bundle([b.observation(iin)], signer=fw.signer))
    assert r.status_code == 422
    [issue] = issues(r)
    assert issue["details"]["coding"][0]["code"] == "medbook.book_not_found"
    assert issue["expression"] == ["Bundle.entry[0].resource.subject"]
    assert written(sessions) == before
    r = post(client, fw, b.bundle([b.observation("000000000000")], signer=fw.signer))
    assert r.status_code == 422 and codes(r) == ["fhir.unknown_patient"]


def test_an_unsigned_bundle_is_refused(client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    before = written(sessions)
    r = post(client, fw, b.bundle([b.observation(fw.w.cook_iin)], signer=None))
    assert r.status_code == 422
    [issue] = issues(r)
    assert issue["code"] == "security" and issue["details"]["coding"][0]["code"] == "fhir.unsigned"
    assert written(sessions) == before
    assert [x.code for x in open_letters(sessions)] == ["fhir.unsigned"]


def test_a_wrongly_signed_bundle_is_refused(client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    iin = fw.w.cook_iin
    before = written(sessions)
    tampered = post(client, fw, b.bundle([b.observation(iin)], signer=fw.signer, tamper=True))
    assert tampered.status_code == 422 and codes(tampered) == ["signature.digest_mismatch"]
    assert issues(tampered)[0]["expression"] == ["Bundle.entry[1].resource.signature[0].data"]
    # Signed by another registered practitioner than the author it names.
    other = post(client, fw, b.bundle([b.observation(iin)], signer=fw.other, author_iin=fw.signer.iin))
    assert other.status_code == 422 and codes(other) == ["signature.wrong_signer"]
    assert issues(other)[0]["expression"] == [
        "Bundle.entry[1].resource.signature[0].data",
        "Bundle.entry[1].resource.agent",
    ]
    # A certificate the registry does not trust.
    stranger = b.make_signer(b.make_pki(), fw.signer.iin)
    untrusted = post(client, fw, b.bundle([b.observation(iin)], signer=stranger))
    assert untrusted.status_code == 422 and codes(untrusted) == ["signature.untrusted_chain"]
    # An author who is not a registered practitioner (issue 17: not "no author").
    unknown = post(client, fw, b.bundle([b.observation(iin)], signer=fw.signer, author_iin="111111111111"))
    assert unknown.status_code == 422 and codes(unknown) == ["fhir.author_not_registered"]
    assert written(sessions) == before
    assert len(open_letters(sessions)) == 4


def test_only_an_mis_client_may_post_and_errors_are_operation_outcomes(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    doc = b.bundle([b.observation(fw.w.cook_iin)], signer=fw.signer)
    r = post(client, fw, doc, who="clin_a")
    assert r.status_code == 403 and issues(r)[0]["code"] == "forbidden"
    r = client.post("/fhir/R4", content=b.body(doc), headers={"Content-Type": FHIR_JSON})
    assert r.status_code == 401 and issues(r)[0]["code"] == "login"
    assert open_letters(sessions) == []


def test_an_mis_of_another_organization_is_refused_by_the_book_rules(
    client: TestClient, fw: FhirWorld, make_actor: Any, sessions: sessionmaker[Session]
) -> None:
    from emhana.accounts.roles import Role

    _, token = make_actor(Role.MIS_CLIENT, entity_id=fw.w.b)
    fw.w.h["mis_b"] = {"Authorization": f"Bearer {token}"}
    signer_b = b.make_signer(fw.pki, fw.signer.iin, bin_="201140004575")
    before = written(sessions)
    r = post(client, fw, b.bundle([b.observation(fw.w.cook_iin)], signer=signer_b), who="mis_b")
    # Answered as for a worker without a book, or the refusal would tell the MIS that the IIN has a book elsewhere.
    stranger = add_person(sessions, born=dt.date(1991, 2, 3))
    with sessions() as s:
        iin = s.scalar(select(Person.iin).where(Person.id == stranger))
    no_book = post(client, fw, b.bundle([b.observation(str(iin))], signer=signer_b), who="mis_b")
    assert r.status_code == no_book.status_code == 422 and codes(r) == codes(no_book) == ["medbook.book_not_found"]
    assert issues(r)[0]["expression"] == issues(no_book)[0]["expression"] == ["Bundle.entry[0].resource.subject"]
    assert written(sessions) == before
    listed = client.get("/api/v1/interop/dead-letters", headers=fw.w.h["mis_a"]).json()
    assert listed["total"] == 0  # an MIS sees its own organization's letters only
    assert client.get("/api/v1/interop/dead-letters", headers=fw.w.h["mis_b"]).json()["total"] == 2


def test_a_positive_result_suspends_clearance_through_the_book_rules(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    r = post(client, fw, b.bundle([b.observation(fw.w.cook_iin, interpretation="POS")], signer=fw.signer))
    assert r.status_code == 200, r.text
    with sessions() as s:
        kinds = [e.kind for e in s.scalars(select(JournalEntry).order_by(JournalEntry.id))]
    assert kinds == ["lab_result", "clearance", "referral"]  # C-30


def test_an_older_version_after_a_newer_one_is_a_conflict(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    assert (
        post(client, fw, b.bundle([b.observation(iin, rid="lab-9", version="3")], signer=fw.signer)).status_code == 200
    )
    before = written(sessions)
    r = post(client, fw, b.bundle([b.observation(iin, rid="lab-9", version="2")], signer=fw.signer))
    assert r.status_code == 409 and codes(r) == ["fhir.stale_version"]
    assert issues(r)[0]["expression"] == ["Bundle.entry[0].resource.meta.versionId"]
    assert written(sessions) == before


def test_operators_discard_letters_and_other_roles_see_no_queue(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    post(client, fw, b"not json")
    [letter] = open_letters(sessions)
    assert client.get("/api/v1/interop/dead-letters", headers=fw.w.h["clin_a"]).status_code == 403
    assert (
        client.post(f"/api/v1/interop/bundles/{letter.bundle_id}/discard", headers=fw.w.h["mis_a"]).status_code == 403
    )
    r = client.post(f"/api/v1/interop/bundles/{letter.bundle_id}/discard", headers=fw.w.h["admin_a"])
    assert r.status_code == 204
    assert open_letters(sessions) == []
    listed = client.get("/api/v1/interop/dead-letters?include_resolved=true", headers=fw.w.h["fund"]).json()
    assert [i["resolution"] for i in listed["items"]] == ["discarded"]
