"""The public directory on FHIR (issue 17, item 5): Organization, Location and PractitionerRole are read and
searched without a token, as the published list of participants is on /facilities, and carry no IIN (a
PractitionerRole names its Practitioner by id only); Practitioner and Patient stay behind a token. Checked with
the TestClient and with fhirpy against the served app."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhirpy import SyncFHIRClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.facilities.models import Post, Practitioner, Site
from emhana.fhir import systems
from emhana.identity.rules import Sex, make_iin
from tests.builders.medbook import World
from tests.builders.servers import serve

FHIR_JSON = "application/fhir+json"
DOCTOR_IIN = make_iin(dt.date(1979, 4, 9), Sex.FEMALE, 31) or ""


def _doctor(sessions: sessionmaker[Session], w: World) -> tuple[int, int]:
    """A practitioner (with an IIN) holding a post at A's site; return the practitioner's and the post's ids."""
    with sessions.begin() as s:
        doctor = Practitioner(iin=DOCTOR_IIN, surname="Жанова", given_name="Сая", specialties="therapist")
        s.add(doctor)
        s.flush()
        site = s.scalar(select(Site.id).where(Site.entity_id == w.a))
        post = Post(
            practitioner_id=doctor.id,
            entity_id=w.a,
            site_id=site,
            title="терапевт",
            rate=1.0,
            valid_from=dt.date(2025, 1, 1),
        )
        s.add(post)
        s.flush()
        return doctor.id, post.id


def test_the_directory_is_read_and_searched_without_a_token_and_shows_no_iin(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    doctor, post = _doctor(sessions, world)
    anonymous = {"Accept": FHIR_JSON}
    answers = [
        client.get("/fhir/R4/Organization", headers=anonymous),
        client.get(f"/fhir/R4/Organization/{world.a}", headers=anonymous),
        client.get("/fhir/R4/Organization", params={"identifier": f"{systems.BIN}|150340001236"}, headers=anonymous),
        client.post("/fhir/R4/Organization/_search", data={"name": ""}, headers=anonymous),
        client.get("/fhir/R4/Location", params={"near": "51.15|71.45|50|km"}, headers=anonymous),
        client.get("/fhir/R4/Location", params={"organization": f"Organization/{world.a}"}, headers=anonymous),
        client.get("/fhir/R4/PractitionerRole", params={"organization": f"Organization/{world.a}"}, headers=anonymous),
        client.get(f"/fhir/R4/PractitionerRole/{post}", headers=anonymous),
        client.get("/fhir/R4/PractitionerRole", params={"practitioner": f"Practitioner/{doctor}"}, headers=anonymous),
        client.get(f"/fhir/R4/PractitionerRole/{post}/_history", headers=anonymous),
        client.get(f"/fhir/R4/Organization/{world.a}/_history/1", headers=anonymous),
        client.get("/fhir/R4/Location/_history", headers=anonymous),
    ]
    for r in answers:
        assert r.status_code == 200, (r.request.url, r.text)
        assert DOCTOR_IIN not in r.text and world.cook_iin not in r.text
        assert systems.IIN not in r.text  # no IIN identifier of any kind
    role = answers[7].json()
    assert role["practitioner"] == {"reference": f"Practitioner/{doctor}"}  # by id only: no name, no display
    assert role["organization"]["reference"] == f"Organization/{world.a}"
    assert answers[0].json()["total"] == 2  # A and B take part; X is excluded
    assert answers[8].json()["total"] == 1


def test_practitioner_and_patient_stay_behind_a_token(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    doctor, _ = _doctor(sessions, world)
    anonymous = {"Accept": FHIR_JSON}
    for path in (
        "/fhir/R4/Practitioner",
        f"/fhir/R4/Practitioner/{doctor}",
        f"/fhir/R4/Practitioner/{doctor}/_history",
        f"/fhir/R4/Practitioner/{doctor}/_history/1",
        "/fhir/R4/Practitioner/_history",
        f"/fhir/R4/Patient/{world.cook}",
        "/fhir/R4/Patient",
    ):
        r = client.get(path, headers=anonymous)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["issue"][0]["code"] == "login"
    r = client.post("/fhir/R4/Practitioner/_search", data={"_id": str(doctor)}, headers=anonymous)
    assert r.status_code == 401
    # With a token the Practitioner and its IIN are there (so the checks above can fail).
    with_token = client.get(f"/fhir/R4/Practitioner/{doctor}", headers={**world.h["mis_a"], **anonymous})
    assert with_token.status_code == 200 and DOCTOR_IIN in with_token.text


def test_fhirpy_reads_the_directory_without_credentials(
    app: FastAPI, client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    _, post = _doctor(sessions, world)
    with serve(app, "uvicorn-public-directory") as base:
        fhir = SyncFHIRClient(f"{base}/fhir/R4")
        orgs = fhir.resources("Organization").fetch_all()
        assert sorted(o["id"] for o in orgs) == sorted([str(world.a), str(world.b)])
        near = fhir.resources("Location").search(near="51.15|71.45|50|km").fetch_all()
        assert [loc["managingOrganization"]["reference"] for loc in near] == [
            f"Organization/{world.b}",
            f"Organization/{world.a}",
        ]
        role = fhir.reference("PractitionerRole", str(post)).to_resource()
        assert role["meta"]["versionId"] == "1" and "display" not in role["practitioner"]
        assert fhir.resources("Organization").search(_id=str(world.a)).count() == 1
