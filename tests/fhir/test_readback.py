"""Read back what an MIS sent (issue 17): every ``location`` of a transaction-response resolves for the sender with
the resource exactly as sent; versions (vread, history, ETag, If-None-Match); search by patient, ``_id`` and
``_lastUpdated``; the book's other readers under the server id; strangers get 404 (no oracle), citizens 403; every
read in the owner's log; and fhirpy against a served app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhirpy import SyncFHIRClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.fhir.models import InboundResource
from emhana.kernel import clock
from emhana.medbook import journal
from emhana.medbook.models import JournalEntry
from emhana.medbook.views import FHIR_READ_ACTION
from tests.builders.fhir import FHIR_JSON, FhirWorld, bundle, condition, immunization, observation, post, xray
from tests.builders.servers import serve


def get(client: TestClient, fw: FhirWorld, path: str, who: str = "mis_a", **headers: str) -> Any:
    """GET a path of /fhir/R4 as an account of the world (the MIS of clinic A by default)."""
    return client.get(f"/fhir/R4/{path}", headers={**fw.w.h[who], "Accept": FHIR_JSON, **headers})


def as_sent(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource read back without what the server adds (meta)."""
    return {k: v for k, v in resource.items() if k != "meta"}


def pushed(client: TestClient, fw: FhirWorld, resources: list[dict[str, Any]]) -> list[str]:
    """Push a signed bundle as clinic A's MIS; return the locations of its transaction-response."""
    r = post(client, fw, bundle(resources, signer=fw.signer))
    assert r.status_code == 200, r.text
    return [e["response"]["location"] for e in r.json()["entry"] if "location" in e["response"]]


def test_every_location_of_the_transaction_response_resolves_to_what_was_sent(
    client: TestClient, fw: FhirWorld
) -> None:
    iin = fw.w.cook_iin
    sent = [
        observation(iin, on="2026-03-02T20:30:00Z"),
        xray(iin),
        immunization(iin),
        condition(iin, icd="A15.0"),
    ]
    locations = pushed(client, fw, sent)
    assert [loc.split("/")[0] for loc in locations] == [r["resourceType"] for r in sent]
    for location, resource in zip(locations, sent, strict=True):
        r = get(client, fw, location)
        assert r.status_code == 200, (location, r.text)
        back = r.json()
        assert as_sent(back) == resource  # exactly as sent: the instant keeps its zone
        version = location.rsplit("/", 1)[1]  # the MIS's version, or the content hash that stands for it
        assert back["meta"]["versionId"] == version and r.headers["ETag"] == f'W/"{version}"'
        assert back["meta"]["lastUpdated"].endswith("Z") and "Last-Modified" in r.headers
        read = get(client, fw, f"{resource['resourceType']}/{resource['id']}")
        assert read.status_code == 200 and read.json() == back
    assert get(client, fw, f"Observation/{sent[0]['id']}").json()["effectiveDateTime"] == "2026-03-02T20:30:00Z"
    assert get(client, fw, f"Observation/{sent[1]['id']}").status_code == 404  # an id of another type


def test_a_second_version_has_its_vread_history_etag_and_not_modified(
    client: TestClient, fw: FhirWorld, at: Callable[[dt.datetime], None]
) -> None:
    first_at = dt.datetime.now(dt.UTC)
    at(first_at)
    pushed(client, fw, [observation(fw.w.cook_iin, rid="rpr-1", version="1", interpretation="NEG")])
    v1 = get(client, fw, "Observation/rpr-1")
    assert v1.headers["ETag"] == 'W/"1"'
    at(first_at + dt.timedelta(minutes=30))
    pushed(client, fw, [observation(fw.w.cook_iin, rid="rpr-1", version="2", interpretation="POS")])
    latest = get(client, fw, "Observation/rpr-1")
    assert latest.status_code == 200 and latest.headers["ETag"] == 'W/"2"'
    assert latest.json()["interpretation"][0]["coding"][0]["code"] == "POS"
    assert latest.json()["meta"]["lastUpdated"] > v1.json()["meta"]["lastUpdated"]
    old = get(client, fw, "Observation/rpr-1/_history/1")
    assert old.status_code == 200 and old.json() == v1.json() and old.headers["ETag"] == 'W/"1"'
    assert get(client, fw, "Observation/rpr-1/_history/2").json() == latest.json()
    assert get(client, fw, "Observation/rpr-1/_history/3").status_code == 404
    history = get(client, fw, "Observation/rpr-1/_history").json()
    assert history["type"] == "history" and history["total"] == 2
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]  # newest first
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]
    paged = get(client, fw, "Observation/rpr-1/_history?_count=1&_offset=1").json()
    assert paged["total"] == 2 and [e["resource"]["meta"]["versionId"] for e in paged["entry"]] == ["1"]
    assert [link["relation"] for link in paged["link"]] == ["self", "previous"]
    assert get(client, fw, "Observation/rpr-1/_history?_since=2026-01-01").status_code == 400  # not supported
    assert get(client, fw, "Observation/rpr-1", **{"If-None-Match": 'W/"2"'}).status_code == 304
    assert get(client, fw, "Observation/rpr-1", **{"If-None-Match": 'W/"1"'}).status_code == 200
    assert get(client, fw, "Observation/rpr-1/_history/1", **{"If-None-Match": 'W/"1"'}).status_code == 304


def test_search_by_patient_id_and_last_updated_with_paging(
    client: TestClient, fw: FhirWorld, at: Callable[[dt.datetime], None]
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    at(start)
    early = [observation(fw.w.cook_iin, rid="early-1"), observation(fw.w.cook_iin, rid="early-2", code="24111-7")]
    pushed(client, fw, [*early, immunization(fw.w.cook_iin)])
    at(start + dt.timedelta(hours=1))
    pushed(client, fw, [observation(fw.w.cook_iin, rid="late-1", code="24111-7", on="2026-03-03")])
    patient = f"Patient/{fw.w.cook}"

    def ids(query: str) -> list[str]:
        r = get(client, fw, f"Observation?{query}")
        assert r.status_code == 200, r.text
        return [e["resource"]["id"] for e in r.json().get("entry", [])]

    assert ids(f"patient={patient}") == ["late-1", "early-2", "early-1"]  # newest first
    assert ids(f"subject={patient}") == ["late-1", "early-2", "early-1"]
    middle = (start + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"patient={patient}&_lastUpdated=ge{middle}") == ["late-1"]
    assert ids(f"patient={patient}&_lastUpdated=lt{middle}") == ["early-2", "early-1"]
    late = get(client, fw, "Observation/late-1").json()["meta"]["lastUpdated"]
    assert ids(f"patient={patient}&_lastUpdated=gt{late}") == []  # change tracking: nothing after the last seen
    assert ids(f"patient={patient}&_lastUpdated=le{late}") == ["late-1", "early-2", "early-1"]
    assert ids(f"patient={patient}&_lastUpdated=ge{middle}&_lastUpdated=lt{late}") == []
    assert ids(f"patient={patient}&_id=early-2") == ["early-2"]
    assert ids("_id=early-1") == ["early-1"]
    page = get(client, fw, f"Observation?patient={patient}&_count=2").json()
    assert page["total"] == 3 and len(page["entry"]) == 2
    nxt = [link["url"] for link in page["link"] if link["relation"] == "next"]
    rest = client.get(nxt[0], headers={**fw.w.h["mis_a"], "Accept": FHIR_JSON}).json()
    assert [e["resource"]["id"] for e in rest["entry"]] == ["early-1"]
    form = client.post(
        "/fhir/R4/Observation/_search", data={"patient": patient, "_id": "late-1"}, headers=fw.w.h["mis_a"]
    )
    assert [e["resource"]["id"] for e in form.json()["entry"]] == ["late-1"]
    vaccines = get(client, fw, f"Immunization?patient={patient}").json()
    assert vaccines["total"] == 1 and vaccines["entry"][0]["resource"]["resourceType"] == "Immunization"
    assert get(client, fw, f"Immunization?subject={patient}").status_code == 400  # Immunization has no subject
    assert get(client, fw, "Observation").status_code == 400  # a patient or an id is required
    assert get(client, fw, f"Observation?patient={patient}&_lastUpdated=yesterday").status_code == 400


def test_the_books_other_readers_use_the_server_id_and_strangers_get_404(
    client: TestClient, fw: FhirWorld, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    sent = observation(fw.w.cook_iin, rid="rpr-7", version="1")
    [location] = pushed(client, fw, [sent])
    patient = f"Patient/{fw.w.cook}"
    # A clinician of the issuing organization finds it under the server id, and that id resolves for her.
    found = get(client, fw, f"Observation?patient={patient}", who="clin_a").json()
    assert found["total"] == 1
    server = found["entry"][0]["resource"]
    assert server["id"].startswith("inbound-") and as_sent(server) == as_sent({**sent, "id": server["id"]})
    assert found["entry"][0]["fullUrl"].endswith(f"/Observation/{server['id']}")
    assert get(client, fw, f"Observation/{server['id']}", who="clin_a").json() == server
    assert get(client, fw, f"Observation/{server['id']}/_history/1", who="clin_a").status_code == 200
    assert get(client, fw, location, who="clin_a").status_code == 404  # the MIS's ids are the sender's own
    # Another MIS of the same organization reads it too; the sender may use the server id as well.
    _, other_mis = make_actor(Role.MIS_CLIENT, entity_id=fw.w.a)
    fw.w.h["mis_a2"] = {"Authorization": f"Bearer {other_mis}"}
    assert get(client, fw, f"Observation/{server['id']}", who="mis_a2").json()["id"] == server["id"]
    assert get(client, fw, f"Observation/{server['id']}").json()["id"] == server["id"]
    # Another organization's MIS and clinician: as for an id that does not exist.
    _, mis_b = make_actor(Role.MIS_CLIENT, entity_id=fw.w.b)
    fw.w.h["mis_b"] = {"Authorization": f"Bearer {mis_b}"}
    for who in ("mis_b", "clin_b"):
        for path in (f"Observation/{server['id']}", f"Observation/{server['id']}/_history", location):
            refused, missing = get(client, fw, path, who=who), get(client, fw, "Observation/inbound-987654321", who=who)
            assert refused.status_code == missing.status_code == 404, (who, path)
            assert refused.json()["issue"][0]["details"]["coding"] == missing.json()["issue"][0]["details"]["coding"]
        assert get(client, fw, f"Observation?patient={patient}", who=who).json()["total"] == 0
    # Citizens (the owner included) and the Fund have no FHIR read of results.
    for who in ("cook", "fund"):
        r = get(client, fw, f"Observation/{server['id']}", who=who)
        assert r.status_code == 403 and r.json()["issue"][0]["code"] == "forbidden"


def test_every_read_is_in_the_owners_log_with_its_purpose(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    pushed(client, fw, [observation(fw.w.cook_iin, rid="rpr-9")])
    assert get(client, fw, "Observation/rpr-9", **{"X-Purpose-Of-Use": "hiring"}).status_code == 200
    assert get(client, fw, f"Observation?patient=Patient/{fw.w.cook}", who="clin_a").status_code == 200
    with sessions() as s:
        reads = list(s.scalars(select(AuditEvent).where(AuditEvent.action == FHIR_READ_ACTION)))
    assert [(e.subject_person_id, e.object_id, e.purpose) for e in reads] == [
        (fw.w.cook, str(fw.book_id), "hiring"),
        (fw.w.cook, str(fw.book_id), "fhir"),
    ]
    log = client.get("/api/v1/me/access-log", headers=fw.w.h["cook"]).json()
    assert [e["action"] for e in log].count(FHIR_READ_ACTION) == 2
    book_reads = client.get("/api/v1/medbook/me/reads", headers=fw.w.h["cook"]).json()
    assert any(r["purpose"] == "hiring" for r in book_reads)
    assert get(client, fw, "Observation/rpr-unknown").status_code == 404
    with sessions() as s:
        assert len(list(s.scalars(select(AuditEvent).where(AuditEvent.action == FHIR_READ_ACTION)))) == 2


def test_an_entry_corrected_at_the_desk_is_marked_but_read_back_as_sent(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    sent = observation(fw.w.cook_iin, rid="rpr-3", interpretation="POS")
    pushed(client, fw, [sent])
    with sessions() as s:
        entry = s.scalar(
            select(JournalEntry)
            .join(InboundResource, InboundResource.entry_id == JournalEntry.id)
            .where(InboundResource.resource_id == "rpr-3")
        )
        assert entry is not None
        fields = {"kind": entry.kind, "item_code": entry.item_code, "performed_on": entry.performed_on.isoformat()}
    r = client.post(
        f"/api/v1/medbook/entries/{entry.id}/correction",
        headers=fw.w.h["clin_a"],
        json={**fields, "result": "negative", "reason": "The laboratory re-tested the sample"},
    )
    assert r.status_code == 201, r.text
    back = get(client, fw, "Observation/rpr-3").json()
    assert as_sent(back) == sent
    assert [t["code"] for t in back["meta"]["tag"]] == ["correction-pending"]
    assert get(client, fw, "Observation/rpr-3/_history").json()["entry"][0]["resource"] == back


def test_a_retracted_entry_is_marked_retracted(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    sent = observation(fw.w.cook_iin, rid="rpr-4", version="1")
    pushed(client, fw, [sent])
    assert "tag" not in get(client, fw, "Observation/rpr-4").json()["meta"]
    with sessions.begin() as s:
        entry_id = s.scalar(select(InboundResource.entry_id).where(InboundResource.resource_id == "rpr-4"))
        assert entry_id is not None
        journal.retract(
            session=s, actor=fw.w.actors["mis_a"], entry_id=entry_id, reason="wrong patient", now=clock.now()
        )
    back = get(client, fw, "Observation/rpr-4").json()
    assert as_sent(back) == as_sent(sent) and [t["code"] for t in back["meta"]["tag"]] == ["retracted"]


def test_fhirpy_reads_back_and_searches(app: FastAPI, client: TestClient, fw: FhirWorld) -> None:
    pushed(
        client, fw, [observation(fw.w.cook_iin, rid="rpr-fhirpy", version="1"), xray(fw.w.cook_iin, rid="xr-fhirpy")]
    )
    with serve(app, "uvicorn-readback") as base:
        fhir = SyncFHIRClient(f"{base}/fhir/R4", authorization=fw.w.h["mis_a"]["Authorization"])
        obs = fhir.reference("Observation", "rpr-fhirpy").to_resource()
        assert obs["id"] == "rpr-fhirpy" and obs["meta"]["versionId"] == "1"
        reports = fhir.resources("DiagnosticReport").search(patient=f"Patient/{fw.w.cook}").fetch_all()
        assert [r["id"] for r in reports] == ["xr-fhirpy"]
        assert fhir.resources("Observation").search(patient=f"Patient/{fw.w.cook}").count() == 1


def test_the_capability_statement_declares_the_read_back(client: TestClient) -> None:
    cap = client.get("/fhir/R4/metadata").json()
    by_type = {r["type"]: r for r in cap["rest"][0]["resource"]}
    for rtype in ("Observation", "DiagnosticReport", "Immunization", "Condition"):
        codes = {i["code"] for i in by_type[rtype]["interaction"]}
        assert {"read", "vread", "history-instance", "search-type"} <= codes
        names = {p["name"] for p in by_type[rtype]["searchParam"]}
        assert {"patient", "_lastUpdated", "_id"} <= names
        assert ("subject" in names) == (rtype != "Immunization")
