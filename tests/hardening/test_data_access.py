"""Data-level access control, driven by one declared table.

tests/accounts/test_access.py checks every route's 401/403 by the roles it declares. Here the role is
admitted, and what matters is whose data: a citizen reads only their own data and that of the people they
legally represent; someone else's data answers exactly like data that does not exist (the same status and
code, so that the answer does not reveal that the person, book or application exists); an employer sees
clearance status and dates only; a registrar sees only their own organization's applications.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import actor_of, create_account, issue_token
from emhana.facilities.models import District, Site
from emhana.medbook.schemas import EmployerWorkerOut
from tests.builders.medbook import SCOPE_2015, World, granted_book, link_employers
from tests.builders.people import add_person, represent

MISSING = 987_654_321

# (who, method, path, expected): "ok" is a 200 with the data; "hidden" is a refusal that looks exactly
# like the answer for an id that does not exist. Placeholders are filled from the world below.
TABLE: list[tuple[str, str, str, str]] = [
    # The cook reads their own data.
    ("cook", "GET", "/api/v1/me/person", "ok"),
    ("cook", "GET", "/api/v1/persons/{cook}", "ok"),
    ("cook", "GET", "/api/v1/attachment/persons/{cook}", "ok"),
    ("cook", "GET", "/api/v1/medbook/me", "ok"),
    ("cook", "GET", "/api/v1/medbook/books/{book}", "ok"),
    ("cook", "GET", "/api/v1/attachment/applications/{cook_app}", "ok"),
    # ...and nobody else's.
    ("cook", "GET", "/api/v1/persons/{child}", "hidden"),
    ("cook", "GET", "/api/v1/persons/{stranger}", "hidden"),
    ("cook", "GET", "/api/v1/persons/{child}/representations", "hidden"),
    ("cook", "GET", "/api/v1/attachment/persons/{stranger}", "hidden"),
    ("cook", "GET", "/api/v1/attachment/applications/{stranger_app}", "hidden"),
    # A parent reads their own and their child's data (legal representation), not the cook's.
    ("parent", "GET", "/api/v1/persons/{parent}", "ok"),
    ("parent", "GET", "/api/v1/persons/{child}", "ok"),
    ("parent", "GET", "/api/v1/persons/{child}/representations", "ok"),
    ("parent", "GET", "/api/v1/attachment/persons/{child}", "ok"),
    ("parent", "GET", "/api/v1/attachment/applications/{child_app}", "ok"),
    ("parent", "GET", "/api/v1/persons/{cook}", "hidden"),
    ("parent", "GET", "/api/v1/attachment/persons/{cook}", "hidden"),
    ("parent", "GET", "/api/v1/medbook/books/{book}", "hidden"),
    ("parent", "GET", "/api/v1/attachment/applications/{cook_app}", "hidden"),
    # A representation that has ended gives nothing.
    ("former_guardian", "GET", "/api/v1/persons/{child}", "hidden"),
    ("former_guardian", "GET", "/api/v1/attachment/persons/{child}", "hidden"),
    ("parent", "GET", "/api/v1/attachment/persons/{child}/outlook", "ok"),
    ("parent", "GET", "/api/v1/attachment/persons/{stranger}/outlook", "hidden"),
    ("former_guardian", "GET", "/api/v1/attachment/persons/{child}/outlook", "hidden"),
    ("former_guardian", "GET", "/api/v1/attachment/applications/{child_app}", "hidden"),
    # A registrar sees their own organization's applications only.
    ("registrar_b", "GET", "/api/v1/attachment/applications/{stranger_app}", "ok"),
    ("registrar_b", "GET", "/api/v1/attachment/applications/{cook_app}", "hidden"),
    ("registrar_b", "GET", "/api/v1/attachment/applications/{cook_app}/notice.pdf", "hidden"),
    ("registrar_b", "GET", "/api/v1/attachment/applications/{cook_app}/notice.sig", "hidden"),
    ("registrar_a", "GET", "/api/v1/attachment/applications/{cook_app}", "ok"),
    ("registrar_a", "GET", "/api/v1/attachment/applications/{stranger_app}", "hidden"),
    ("registrar_a", "GET", "/api/v1/attachment/applications/{child_app}", "hidden"),
    # The employer: status and dates of their own workers (checked field by field below).
    ("employer", "GET", "/api/v1/medbook/employer/workers", "ok"),
]

# What each role's queue must hold (application names) — no other organization's application.
QUEUES = {"registrar_a": {"cook_app"}, "registrar_b": {"stranger_app", "child_app"}}

EMPLOYER_FIELDS = set(EmployerWorkerOut.model_fields)
assert EMPLOYER_FIELDS == {
    "book_id",
    "surname",
    "given_name",
    "patronymic",
    "position",
    "status",
    "decided_on",
    "valid_until",
}


def account(
    sessions: sessionmaker[Session], role: Role, *, person_id: int | None = None, entity_id: int | None = None
) -> dict[str, str]:
    with sessions.begin() as s:
        acc = create_account(
            session=s,
            username=f"da-{role.value}-{person_id}-{entity_id}",
            password=None,
            role=role,
            display_name="Test",
            person_id=person_id,
            entity_id=entity_id,
        )
        token = issue_token(session=s, actor=actor_of(acc), ttl=dt.timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


def district_of(sessions: sessionmaker[Session], site_code: str) -> int:
    with sessions() as s:
        found = s.scalars(select(District.id).join(Site, Site.id == District.site_id).where(Site.code == site_code))
        return found.one()


def queued(
    client: TestClient,
    headers: dict[str, str],
    person: int,
    district: int,
    applicant: int | None = None,
    reason: str | None = None,
) -> int:
    """File a written application (a scan attached), which always waits for the registrar (A-52)."""
    docs = [{"kind": "id_card", "number": f"N{person}"}]
    if applicant is not None:
        docs = [
            {"kind": "birth_certificate", "number": f"B{person}"},
            {"holder": "applicant", "kind": "id_card", "number": f"N{applicant}"},
        ]
    body = {
        "person_id": person,
        "district_id": district,
        "applicant_person_id": applicant,
        "change_reason": reason,
        "documents": docs,
    }
    r = client.post(
        "/api/v1/attachment/applications/written",
        headers=headers,
        data={"application": json.dumps(body)},
        files=[("files", ("a.pdf", b"%PDF", "application/pdf"))],
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "submitted"
    return int(r.json()["id"])


def build(
    client: TestClient, sessions: sessionmaker[Session], w: World
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    link_employers(client, w)
    book = granted_book(client, w)
    parent = add_person(sessions, born=dt.date(1980, 1, 1))
    child = add_person(sessions, born=dt.date(2016, 6, 1))
    former = add_person(sessions, born=dt.date(1979, 1, 1), sex="female")
    stranger = add_person(sessions, born=dt.date(1970, 2, 2))
    represent(sessions, parent, child)
    represent(sessions, former, child, valid_to=dt.date(2020, 1, 1))
    headers = {
        "cook": w.h["cook"],
        "employer": w.h["employer"],
        "parent": account(sessions, Role.CITIZEN, person_id=parent),
        "former_guardian": account(sessions, Role.CITIZEN, person_id=former),
        "registrar_a": account(sessions, Role.REGISTRAR, entity_id=w.a),
        "registrar_b": w.h["reg_b"],
    }
    district_a, district_b = district_of(sessions, "A1"), district_of(sessions, "B1")
    ids: dict[str, Any] = {"cook": w.cook, "parent": parent, "child": child, "stranger": stranger, "book": book["id"]}
    ids["stranger_app"] = queued(client, headers["registrar_b"], stranger, district_b)
    ids["child_app"] = queued(client, headers["registrar_b"], child, district_b, applicant=parent)
    # The cook, attached at B, moves house and asks for A (a change outside the window, A-90).
    ids["cook_app"] = queued(client, headers["registrar_a"], w.cook, district_a, reason="relocation")
    return ids, headers


def fill(path: str, ids: dict[str, Any], missing: bool = False) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(MISSING if missing else ids[m.group(1)]), path)


def test_every_row_of_the_table(client: TestClient, sessions: sessionmaker[Session], world: World) -> None:
    ids, headers = build(client, sessions, world)
    wrong = []
    for who, method, path, expected in TABLE:
        resp = client.request(method, fill(path, ids), headers=headers[who])
        if expected == "ok":
            if resp.status_code != 200:
                wrong.append(f"{who} {path}: {resp.status_code} {resp.text[:150]}")
            continue
        if resp.status_code not in (403, 404):
            wrong.append(f"{who} {path}: {resp.status_code}, expected a refusal")
            continue
        # The refusal must not tell that the record exists: same answer as for an id that does not.
        absent = client.request(method, fill(path, ids, missing=True), headers=headers[who])
        if (resp.status_code, resp.json().get("code")) != (absent.status_code, absent.json().get("code")):
            wrong.append(
                f"{who} {path}: {resp.status_code} {resp.json().get('code')} but "
                f"{absent.status_code} {absent.json().get('code')} for a missing id (leaks existence)"
            )
    assert wrong == [], "\n".join(wrong)


def test_registrars_queues_hold_their_organization_only(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    ids, headers = build(client, sessions, world)
    for who, names in QUEUES.items():
        resp = client.get("/api/v1/attachment/queue", headers=headers[who])
        assert resp.status_code == 200
        assert {row["id"] for row in resp.json()} == {ids[n] for n in names}, who


def test_the_employer_sees_status_and_dates_only(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    ids, headers = build(client, sessions, world)
    resp = client.get("/api/v1/medbook/employer/workers", headers=headers["employer"])
    assert resp.status_code == 200
    rows = resp.json()
    assert [r["book_id"] for r in rows] == [ids["book"]]
    assert rows[0]["status"] == "granted" and rows[0]["valid_until"]
    assert all(set(r) <= EMPLOYER_FIELDS for r in rows), rows
    # No clinical content anywhere in the answer: no item, no result, no IIN.
    text = json.dumps(rows, ensure_ascii=False).lower()
    clinical = {code for _, code in SCOPE_2015} | {
        "negative",
        "positive",
        "normal",
        "fluorography",
        "xray",
        "lab_result",
        "specialist_exam",
        world.cook_iin,
    }
    assert [c for c in clinical if c in text] == []
    # Another employer sees none of them.
    other = client.get("/api/v1/medbook/employer/workers", headers=world.h["other_employer"])
    assert other.status_code in (200, 403) and (other.status_code == 403 or other.json() == [])


def test_the_table_covers_every_citizen_readable_person_route(app: FastAPI) -> None:
    """A new route that reads someone's data by id, open to citizens, must get a row here."""
    from emhana.web.deps import declared_roles, iter_routes

    def shape(path: str) -> str:
        return re.sub(r"\{\w+\}", "{}", path)

    covered = {shape(path) for _, _, path, _ in TABLE}
    missing = []
    for path, methods, dep in iter_routes(app):
        roles = declared_roles(dep.dependencies)
        if (
            "GET" in methods
            and isinstance(roles, frozenset)
            and Role.CITIZEN in roles
            and "{" in path
            and path.startswith("/api/")
        ):
            if shape(path) not in covered:
                missing.append(path)
    assert missing == [], missing
