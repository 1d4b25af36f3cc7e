"""Who reads and writes the book that follows the worker (issue 15, C-04): a second clinic finds it by IIN with
a stated purpose, opens an examination and records; a clinic that never recorded in it reads nothing (and learns
nothing); the old employer loses sight after a job change while the new one, an individual entrepreneur named by
IIN, sees status and dates only; an organization without СУР registration issues and examines nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.facilities.models import Entity
from emhana.medbook.models import Examination, JournalEntry
from tests.builders.medbook import (
    CAFE_IIN,
    CAFE_JOB,
    NOW,
    World,
    add_clinic,
    add_employer,
    book_body,
    counts,
    issue_book,
    link_employers,
    record,
)

API = "/api/v1/medbook"
MISSING = 987_654
CLINIC_C = "120540012302"
CLINIC_D = "120540012312"
CLINIC_E = "120540012322"
CLINICAL = {"entries", "result", "result_text", "codes", "item_code", "canonical", "owner", "iin", "workplace"}


def keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def examine(client: TestClient, w: World, who: str, book_id: int, iin: str | None) -> Any:
    body = {"kind": "periodic", "purpose": "periodic examination", "iin": iin}
    return client.post(f"{API}/books/{book_id}/examinations", headers=w.h[who], json=body)


def test_a_second_clinic_finds_the_book_with_a_purpose_opens_an_examination_and_records(
    client: TestClient,
    world: World,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    at: Callable[[dt.datetime], None],
) -> None:
    book_id = issue_book(client, world)["id"]
    assert record(client, world, book_id, "specialist_exam", "therapist", "normal").status_code == 201
    c = add_clinic(sessions, make_actor, world, "c", CLINIC_C)
    # Before: no read, no write, and the same answers as for a missing book.
    seen, missing = (client.get(f"{API}/books/{i}", headers=world.h["clin_c"]) for i in (book_id, MISSING))
    assert (
        (seen.status_code, seen.json()["code"])
        == (missing.status_code, missing.json()["code"])
        == (403, "auth.forbidden")
    )
    before = counts(sessions)
    refused = record(client, world, book_id, "lab_result", "syphilis", "negative", who="clin_c")
    assert (refused.status_code, refused.json()["code"]) == (403, "medbook.not_staff")
    assert counts(sessions) == before
    # The lookup: a purpose is required, then the book is found and the read logged with it.
    lookup = {"iin": world.cook_iin}
    no_purpose = client.post(f"{API}/books/lookup", headers=world.h["rt_c"], json=lookup)
    assert no_purpose.status_code == 422 and no_purpose.json()["code"] == "identity.purpose_required"
    found = client.post(f"{API}/books/lookup", headers=world.h["rt_c"], json={**lookup, "purpose": "hiring at a café"})
    assert found.status_code == 200 and found.json()["id"] == book_id
    # An examination needs the IIN the lookup found: a wrong one answers as a missing book.
    tries = ((book_id, None), (book_id, "880315301280"), (MISSING, world.cook_iin))
    assert [examine(client, world, "rt_c", i, iin).status_code for i, iin in tries] == [404] * 3
    opened = examine(client, world, "rt_c", book_id, world.cook_iin)
    assert opened.status_code == 201, opened.text
    assert opened.json()["open_until"] == "2026-04-09" and opened.json()["entity_id"] == c
    written = record(client, world, book_id, "lab_result", "syphilis", "negative", who="clin_c")
    assert written.status_code == 201, written.text
    assert written.json()["entity_id"] == c
    assert client.get(f"{API}/books/{book_id}", headers=world.h["clin_c"]).status_code == 200
    reads = client.get(f"{API}/me/reads", headers=world.h["cook"]).json()
    assert {"medbook: hiring at a café", "medbook: periodic examination"} <= {r["purpose"] for r in reads}
    with sessions() as s:
        assert s.scalar(select(AuditEvent.purpose).where(AuditEvent.action == "medbook.examination.open")) == (
            "medbook: periodic examination"
        )
    # After the examination: no more writing; a read needs a stated purpose (the clinic recorded in the book).
    at(NOW + dt.timedelta(days=31))
    late = record(client, world, book_id, "lab_result", "helminths", "negative", dt.date(2026, 4, 9), who="clin_c")
    assert late.status_code == 403
    assert client.get(f"{API}/books/{book_id}", headers=world.h["clin_c"]).json()["code"] == "identity.purpose_required"
    assert client.get(f"{API}/books/{book_id}?purpose=care", headers=world.h["clin_c"]).status_code == 200


def test_a_closed_examination_ends_the_right_to_write(
    client: TestClient, world: World, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    book_id = issue_book(client, world)["id"]
    add_clinic(sessions, make_actor, world, "c", CLINIC_C)
    exam = examine(client, world, "clin_c", book_id, world.cook_iin).json()
    other = client.post(f"{API}/examinations/{exam['id']}/close", headers=world.h["clin_a"])
    assert other.status_code == 404  # another organization's examination looks like none
    closed = client.post(f"{API}/examinations/{exam['id']}/close", headers=world.h["clin_c"])
    assert closed.status_code == 200 and closed.json()["closed_at"] is not None
    assert record(client, world, book_id, "lab_result", "syphilis", "negative", who="clin_c").status_code == 403
    assert client.get(f"{API}/books/{book_id}", headers=world.h["clin_c"]).status_code == 403


def test_an_examining_clinic_reads_the_workers_identity_without_a_purpose_while_it_examines(
    client: TestClient, world: World, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    """The examination is an open case with the organization (identity.access, issue 14's population)."""
    book_id = issue_book(client, world)["id"]
    add_clinic(sessions, make_actor, world, "c", CLINIC_C)
    person = f"/api/v1/persons/{world.cook}"
    assert client.get(person, headers=world.h["clin_c"]).json()["code"] == "identity.purpose_required"
    assert examine(client, world, "clin_c", book_id, world.cook_iin).status_code == 201
    assert client.get(person, headers=world.h["clin_c"]).status_code == 200


def test_a_third_clinic_that_never_recorded_reads_and_learns_nothing(
    client: TestClient, world: World, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    book_id = issue_book(client, world)["id"]
    add_clinic(sessions, make_actor, world, "c", CLINIC_C)
    add_clinic(sessions, make_actor, world, "d", CLINIC_D)
    assert examine(client, world, "rt_c", book_id, world.cook_iin).status_code == 201
    assert record(client, world, book_id, "lab_result", "syphilis", "negative", who="clin_c").status_code == 201
    for path in (f"{API}/books/{{}}", "/medbook/desk/books/{}", "/medbook/desk/books/{}/jobs"):
        seen, missing = (client.get(path.format(i), headers=world.h["clin_d"]) for i in (book_id, MISSING))
        assert seen.status_code == missing.status_code and seen.status_code in (403, 404), path
        assert world.cook_iin not in seen.text
    writes = [
        record(client, world, book_id, "lab_result", "syphilis", "negative", who="clin_d"),
        client.post(
            f"{API}/books/{book_id}/jobs", headers=world.h["rt_d"], json={**CAFE_JOB, "valid_from": "2026-03-10"}
        ),
    ]
    assert [(r.status_code, r.json()["code"]) for r in writes] == [(403, "medbook.not_staff")] * 2
    fhir = client.get(f"/fhir/R4/Patient/{world.cook}/$medbook", headers=world.h["clin_d"])
    assert fhir.status_code == 403
    with sessions() as s:
        assert s.scalar(select(Examination.id).where(Examination.entity_id != world.a, Examination.book_id == book_id))
        assert len(list(s.scalars(select(JournalEntry.entity_id).where(JournalEntry.book_id == book_id)))) == 1


def test_the_old_employer_loses_sight_and_the_entrepreneur_sees_status_and_dates_only(
    client: TestClient, world: World, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    link_employers(client, world)
    add_employer(client, world, make_actor, "cafe", CAFE_IIN)
    book_id = issue_book(client, world)["id"]
    workers = client.get(f"{API}/employer/workers", headers=world.h["employer"]).json()
    assert [w["book_id"] for w in workers] == [book_id]
    assert client.get(f"{API}/employer/workers", headers=world.h["cafe"]).json() == []
    changed = client.post(
        f"{API}/books/{book_id}/jobs", headers=world.h["clin_a"], json={**CAFE_JOB, "valid_from": "2026-03-10"}
    )
    assert changed.status_code == 201, changed.text
    assert client.get(f"{API}/employer/workers", headers=world.h["employer"]).json() == []
    assert client.get(f"{API}/reminders?within_days=365", headers=world.h["employer"]).json() == []
    seen = client.get(f"{API}/employer/workers", headers=world.h["cafe"]).json()
    assert [(w["book_id"], w["position"], w["status"]) for w in seen] == [(book_id, "повар-кондитер", "none")]
    assert not keys(seen) & CLINICAL
    for who in ("cafe", "employer"):
        assert client.get(f"{API}/books/{book_id}", headers=world.h[who]).status_code == 403


def test_an_organization_without_sur_registration_neither_issues_nor_examines(
    client: TestClient, world: World, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    """C-04: a licence and registration in СУР; inclusion in the Fund's database is not a condition."""
    refused = client.post(f"{API}/books", headers=world.h["rt_x"], json=book_body(world))
    assert refused.status_code == 422 and refused.json()["code"] == "medbook.issuer_not_eligible"
    book_id = issue_book(client, world)["id"]
    add_clinic(sessions, make_actor, world, "e", CLINIC_E, sur_registered_on=None)
    answers = [
        client.post(f"{API}/books/lookup", headers=world.h["rt_e"], json={"iin": iin, "purpose": "hiring"})
        for iin in (world.cook_iin, "880315301280")
    ]
    assert [(r.status_code, r.json()["code"]) for r in answers] == [(404, "medbook.book_not_found")] * 2
    exam = examine(client, world, "rt_e", book_id, world.cook_iin)
    assert exam.status_code == 422 and exam.json()["code"] == "medbook.examiner_not_eligible"
    with sessions.begin() as s:  # X, excluded from the Fund's database, registers in СУР: it may issue
        s.execute(update(Entity).where(Entity.id == world.x).values(sur_registered_on=dt.date(2026, 1, 1)))
    other = client.post(f"{API}/books", headers=world.h["rt_x"], json=book_body(world, iin=_someone(sessions)))
    assert other.status_code == 201, other.text


def _someone(sessions: sessionmaker[Session]) -> str:
    from emhana.identity.models import Person
    from tests.builders.people import add_person

    with sessions() as s:
        person = s.get(Person, add_person(sessions, born=dt.date(1985, 2, 2)))
        assert person is not None
        return person.iin


def test_a_clinic_that_only_recorded_before_states_a_purpose_for_the_fhir_document_too(
    client: TestClient, world: World, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    """Issue 14's policy at every door: after its examination is closed, clinic C reads the book as a FHIR
    document only with a stated purpose (the JSON API and the desk ask too)."""
    book_id = issue_book(client, world)["id"]
    add_clinic(sessions, make_actor, world, "c", CLINIC_C)
    exam = examine(client, world, "clin_c", book_id, world.cook_iin).json()
    assert record(client, world, book_id, "lab_result", "syphilis", "negative", who="clin_c").status_code == 201
    url = f"/fhir/R4/Patient/{world.cook}/$medbook"
    assert client.get(url, headers=world.h["clin_c"]).status_code == 200  # examining: the examination's purpose
    assert client.post(f"{API}/examinations/{exam['id']}/close", headers=world.h["clin_c"]).status_code == 200
    bare = client.get(url, headers={**world.h["clin_c"], "Accept": "application/fhir+json"})
    assert bare.status_code == 422 and bare.json()["resourceType"] == "OperationOutcome"
    assert "identity.purpose_required" in bare.text
    stated = client.get(url, headers={**world.h["clin_c"], "X-Purpose-Of-Use": "medbook"})
    assert stated.status_code == 200, stated.text
