"""A citizen sees who read or changed their data: GET /api/v1/me/access-log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from tests.builders.medbook import World, issue_book
from tests.builders.people import add_person

API = "/api/v1/me/access-log"


def test_the_citizen_sees_others_reads_of_their_data_and_nobody_elses(
    client: TestClient, world: World, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    book = issue_book(client, world)["id"]
    found = client.post(
        "/api/v1/medbook/books/lookup",
        headers=world.h["clin_a"],
        json={"iin": world.cook_iin, "purpose": "periodic examination"},
    )
    assert found.status_code == 200
    assert client.get(f"/api/v1/medbook/books/{book}", headers=world.h["cook"]).status_code == 200  # her own read
    stranger = add_person(sessions, born=dt.date(1980, 1, 1))
    with sessions.begin() as s:  # someone else's data read by the same clinician: not in the cook's log
        record_event(
            session=s,
            actor=world.actors["clin_a"],
            action="person.read",
            object_type="person",
            object_id=str(stranger),
            subject_person_id=stranger,
            purpose="other",
        )
    r = client.get(API, headers=world.h["cook"])
    assert r.status_code == 200, r.text
    log = r.json()
    assert [e["id"] for e in log] == sorted((e["id"] for e in log), reverse=True)  # latest first
    seen = {(e["who"], e["role"], e["action"], e["purpose"]) for e in log}
    assert ("Test clinician", "clinician", "medbook.read", "periodic examination") in seen
    assert ("Test responsible_therapist", "responsible_therapist", "medbook.issue", "") in {
        (w, ro, a, "") for w, ro, a, _ in seen
    }
    assert all(e["role"] != "citizen" for e in log)  # her own acts are not "access by others"
    assert all(e["purpose"] != "other" for e in log)
    assert world.cook_iin not in r.text
    page = client.get(API, headers=world.h["cook"], params={"limit": 1, "before": log[0]["id"]}).json()
    assert [e["id"] for e in page] == [log[1]["id"]]


def test_only_citizens_and_only_with_a_valid_limit(
    client: TestClient, world: World, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    assert client.get(API).status_code == 401
    assert client.get(API, headers=world.h["clin_a"]).status_code == 403
    assert client.get(API, headers=world.h["cook"], params={"limit": 0}).status_code == 422
    _, token = make_actor(Role.CITIZEN)  # an account tied to no person has an empty log
    assert client.get(API, headers={"Authorization": f"Bearer {token}"}).json() == []
