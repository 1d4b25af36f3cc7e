"""Two organizations with every role each, and records that belong to one of them, for access tests.

Built on the medical-book world (clinics A, B and X, the cook attached to B, the clock on 10 March 2026):
- every staff role at A and at B (registrar, clinician, responsible therapist, administrator, MIS client), the
  Fund, two employers, the cook and a stranger (citizens) and an MIS client bound to no organization;
- at A: the patient, attached to A, whose book A issued and where a positive syphilis result suspended the
  clearance and referred her to A; the cook's written application to A (she is attached to B) with a document
  number nobody else should read.

``Across.secrets`` are strings that only A (and the Fund, and the people themselves) may ever see in an answer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.models import ApplicationDocument, Attachment
from emhana.facilities.models import District, Site
from emhana.identity.models import Person
from emhana.medbook.models import Employment, JournalEntry, ResponsibleAppointment
from tests.builders.medbook import EMPLOYER_BIN, NOW, World, book_body, clean_scope, link_employers, make_world, record
from tests.builders.people import add_person

PATIENT_SURNAME = "Құпиябекова"
DOCUMENT_NUMBER = "ZX7731-CROSS"
STAFF = {
    "registrar": Role.REGISTRAR,
    "clinician": Role.CLINICIAN,
    "therapist": Role.RESPONSIBLE_THERAPIST,
    "admin": Role.ENTITY_ADMIN,
    "mis": Role.MIS_CLIENT,
}


@dataclass
class Across:
    """Who is who (``h``: name -> Authorization headers, e.g. ``registrar_a``, ``mis_b``, ``mis_none``) and the ids
    of A's records (``ids``: path parameter name -> id)."""

    w: World
    h: dict[str, dict[str, str]]
    roles: dict[str, Role]
    ids: dict[str, Any]
    secrets: list[str] = field(default_factory=list)

    def of(self, org: str) -> dict[str, Role]:
        """The account names of an organization ("a" or "b") with their roles."""
        return {n: r for n, r in self.roles.items() if n.endswith(f"_{org}")}


def _district(sessions: sessionmaker[Session], site_code: str) -> tuple[int, int]:
    with sessions() as s:
        row = s.execute(
            select(Site.id, District.id).join(District, District.site_id == Site.id).where(Site.code == site_code)
        ).one()
        return int(row[0]), int(row[1])


def _written_application(client: TestClient, headers: dict[str, str], person: int, district: int) -> int:
    body = {
        "person_id": person,
        "district_id": district,
        "change_reason": "relocation",
        "documents": [{"kind": "id_card", "number": DOCUMENT_NUMBER}],
    }
    r = client.post(
        "/api/v1/attachment/applications/written",
        headers=headers,
        data={"application": json.dumps(body)},
        files=[("files", ("a.pdf", b"%PDF", "application/pdf"))],
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def two_organizations(
    client: TestClient, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> Across:
    """Write the world of two organizations and return it (the clock must stand on ``NOW``)."""
    w = make_world(sessions, make_actor)
    h: dict[str, dict[str, str]] = {}
    roles: dict[str, Role] = {}
    actors: dict[str, Actor] = {}
    for org, entity in (("a", w.a), ("b", w.b)):
        for name, role in STAFF.items():
            actor, token = make_actor(role, entity_id=entity)
            h[f"{name}_{org}"], roles[f"{name}_{org}"], actors[f"{name}_{org}"] = (
                {"Authorization": f"Bearer {token}"},
                role,
                actor,
            )
    with sessions.begin() as s:
        s.add(
            ResponsibleAppointment(
                entity_id=w.b,
                account_id=actors["therapist_b"].account_id,
                valid_from=dt.date(2025, 1, 1),
                appointed_at=NOW,
            )
        )
    # A's own therapist is the world's rt_a (appointed at A); the extra one at A is a plain therapist.
    h["therapist_a"], actors["therapist_a"] = w.h["rt_a"], w.actors["rt_a"]
    _, token = make_actor(Role.MIS_CLIENT)
    h["mis_none"], roles["mis_none"] = {"Authorization": f"Bearer {token}"}, Role.MIS_CLIENT
    for name in ("fund", "cook", "employer", "other_employer"):
        h[name], roles[name] = w.h[name], w.actors[name].role
    link_employers(client, w)
    stranger = add_person(sessions, born=dt.date(1985, 1, 20))
    _, token = make_actor(Role.CITIZEN, person_id=stranger)
    h["stranger"], roles["stranger"] = {"Authorization": f"Bearer {token}"}, Role.CITIZEN

    patient = add_person(sessions, born=dt.date(1992, 7, 9), sex="female")
    site_a, district_a = _district(sessions, "A1")
    with sessions.begin() as s:
        s.execute(update(Person).where(Person.id == patient).values(surname=PATIENT_SURNAME))
        s.add(
            Attachment(
                person_id=patient,
                entity_id=w.a,
                site_id=site_a,
                district_id=district_a,
                place_basis="residence_permanent",
                cause="application",
                begin_date=dt.date(2025, 1, 1),
                decided_on=dt.date(2024, 12, 1),
            )
        )
        patient_iin = s.get(Person, patient).iin  # type: ignore[union-attr]
    r = client.post("/api/v1/medbook/books", headers=w.h["rt_a"], json=book_body(w, iin=patient_iin))
    assert r.status_code == 201, r.text
    book = int(r.json()["id"])
    clean_scope(client, w, book, skip=("syphilis",))
    positive = record(client, w, book, "lab_result", "syphilis", "positive")
    assert positive.status_code == 201, positive.text
    with sessions() as s:
        referral = s.scalar(
            select(JournalEntry.referral_entity_id).where(JournalEntry.book_id == book, JournalEntry.kind == "referral")
        )
    assert referral == w.a, "the positive result must refer the patient to A, where she is attached"
    application = _written_application(client, h["registrar_a"], w.cook, district_a)
    with sessions() as s:
        document = s.scalar(select(ApplicationDocument.id).where(ApplicationDocument.application_id == application))
    ids: dict[str, Any] = {
        "application_id": application,
        "document_id": document,
        "book_id": book,
        "entry_id": int(positive.json()["id"]),
        "person_id": patient,
        "rid": patient,
        "entity_id": w.a,
        "record_id": int(positive.json()["id"]),
        "kind": "medbook_entry",
        "account_id": actors["registrar_a"].account_id,
        "employment_id": _job_of(sessions, book),
    }
    return Across(w=w, h=h, roles=roles, ids=ids, secrets=[patient_iin, PATIENT_SURNAME, DOCUMENT_NUMBER])


def _job_of(sessions: sessionmaker[Session], book_id: int) -> int:
    """The id of the job the book was issued for (issue 15)."""
    with sessions() as s:
        job = s.scalar(select(Employment.id).where(Employment.book_id == book_id))
    assert job is not None
    return int(job)


__all__ = ["EMPLOYER_BIN", "Across", "two_organizations"]
