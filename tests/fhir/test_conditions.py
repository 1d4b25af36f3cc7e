"""Conditions from an MIS (C-12, C-30): a Condition is a diagnosis with its ICD-10 codes and clinical status. An
active tuberculosis suspends clearance through FHIR with its referral and notices; a resolved one is history; a
Condition without clinicalStatus, or refuted, is refused with an OperationOutcome and writes nothing; the book
sent to another MIS carries each diagnosis's clinical status."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.fhir.mapping import CONDITION_CLINICAL
from emhana.medbook.models import JournalEntry
from emhana.medbook.suspension import CLINIC_TEMPLATE, WORKER_TEMPLATE
from emhana.notify.models import Notification
from tests.builders import fhir as b
from tests.builders.fhir import FhirWorld, codes, issues, open_letters, post, written


def entries(sessions: sessionmaker[Session], book_id: int) -> list[JournalEntry]:
    with sessions() as s:
        return list(s.scalars(select(JournalEntry).where(JournalEntry.book_id == book_id).order_by(JournalEntry.id)))


def templates(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        return sorted(s.scalars(select(Notification.template)))


def send(client: TestClient, fw: FhirWorld, *resources: dict[str, Any]) -> Any:
    return post(client, fw, b.bundle(list(resources), signer=fw.signer))


def test_an_active_tuberculosis_suspends_clearance_and_refers_the_worker(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    r = send(client, fw, b.observation(iin), b.condition(iin, icd="A15.0", on="2026-03-05", clinical="relapse"))
    assert r.status_code == 200, r.text
    rows = entries(sessions, fw.book_id)
    assert [(e.kind, e.item_code, e.clearance, e.clinical_status) for e in rows] == [
        ("lab_result", "syphilis", None, None),
        ("past_infection", "tuberculosis", None, "active"),  # relapse is active
        ("clearance", "tuberculosis", "suspended", None),
        ("referral", "tuberculosis", None, None),
    ]
    assert rows[1].codes == "A15.0" and rows[2].caused_by_id == rows[3].caused_by_id == rows[1].id
    assert rows[3].referral_entity_id == fw.w.b  # the PHC organization she is attached to
    assert b'"clinical_status":"active"' in rows[1].canonical  # the author's signature will cover it
    assert {WORKER_TEMPLATE, CLINIC_TEMPLATE} <= set(templates(sessions))


def test_a_resolved_tuberculosis_is_history_and_a_newer_version_resolves_an_active_one(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    for clinical in ("resolved", "remission", "inactive"):
        assert send(client, fw, b.condition(iin, clinical=clinical)).status_code == 200
    rows = entries(sessions, fw.book_id)
    assert [(e.kind, e.clinical_status) for e in rows] == [("past_infection", "resolved")] * 3
    assert templates(sessions) == []
    # a carrier state the code map does not list is still a diagnosis; its newer version corrects it (C-41)
    carrier = b.condition(iin, icd="Z22.1", on="2026-03-05", clinical="active", rid="carrier-1", version="1")
    assert send(client, fw, carrier).status_code == 200
    after = entries(sessions, fw.book_id)[3:]
    assert [(e.kind, e.item_code, e.codes, e.clinical_status) for e in after[:1]] == [
        ("past_infection", "diagnosis", "Z22.1", "active")
    ]
    assert [e.clearance for e in after[1:]] == ["suspended", None]  # suspension and referral
    cured = b.condition(iin, icd="Z22.1", on="2026-03-05", clinical="resolved", rid="carrier-1", version="2")
    assert send(client, fw, cured).status_code == 200
    last = entries(sessions, fw.book_id)[-1]
    assert (last.supersedes_id, last.clinical_status) == (after[0].id, "resolved")


def test_a_condition_without_clinical_status_or_refuted_is_refused_and_writes_nothing(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    before = written(sessions)
    r = send(client, fw, b.observation(iin), b.condition(iin, clinical=None))
    assert r.status_code == 422, r.text
    assert codes(r) == ["fhir.no_clinical_status"]
    [issue] = issues(r)
    assert issue["expression"] == ["Bundle.entry[1].resource.clinicalStatus"]
    texts = set()
    for lang in ("kk", "ru", "en"):
        localized = client.post(
            "/fhir/R4",
            content=b.body(b.bundle([b.condition(iin, clinical=None)], signer=fw.signer)),
            headers={**fw.w.h["mis_a"], "Content-Type": b.FHIR_JSON, "Accept-Language": lang},
        )
        texts.add(issues(localized)[0]["details"]["text"])
    assert len(texts) == 3 and any("clinical status" in t for t in texts)
    refuted = send(client, fw, b.condition(iin, clinical="active", verification="refuted"))
    assert refuted.status_code == 422 and codes(refuted) == ["fhir.not_a_diagnosis"], refuted.text
    # entered-in-error withdraws a Condition received before; one never received is refused (issue 17)
    unknown = send(client, fw, b.condition(iin, clinical="active", verification="entered-in-error"))
    assert unknown.status_code == 422 and codes(unknown) == ["fhir.unknown_retraction"], unknown.text
    malformed = send(client, fw, b.condition(iin, icd="A45.0", clinical="active"))  # ICD-10 has no A45
    assert malformed.status_code == 422 and codes(malformed) == ["medbook.invalid_diagnosis_code"], malformed.text
    assert written(sessions) == before
    assert len(open_letters(sessions)) >= 3  # each refused bundle is kept for the operator


def test_the_book_sent_to_another_mis_carries_the_clinical_status(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    assert send(client, fw, b.condition(iin, clinical="active", on="2026-03-05")).status_code == 200
    doc = client.get(f"/fhir/R4/Patient/{fw.w.cook}/$medbook", headers=fw.w.h["mis_a"]).json()
    [condition] = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Condition"]
    assert condition["clinicalStatus"] == {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]}
    assert {"system": "http://hl7.org/fhir/sid/icd-10", "code": "A15.0"} in condition["code"]["coding"]


def test_a_syphilis_condition_is_a_diagnosis_not_the_laboratory_test_of_that_name(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    """The code map names Conditions A51/A54 by their own diagnosis items: the laboratory test items "syphilis" and
    "gonorrhea" are recorded under their kind only, so a Condition mapped to them would be refused."""
    iin = fw.w.cook_iin
    r = send(client, fw, b.condition(iin, icd="A51.0", on="2026-03-05", clinical="resolved"))
    assert r.status_code == 200, r.text
    [row] = entries(sessions, fw.book_id)
    assert (row.kind, row.item_code, row.clinical_status) == ("past_infection", "syphilis_infection", "resolved")
