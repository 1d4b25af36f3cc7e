"""Every POST of the JSON API and of the FHIR door that writes takes an Idempotency-Key and hands it to the one
place that runs a write once (emhana/audit/idempotency.py, through emhana/web/idempotency.py): a new POST
without it fails here unless it is added to the declared exemptions with its reason. The routes that ignored
the key (practitioners, inclusions, the import, employer links, dead-letter replays and discards, the FHIR
transaction) are then tried by hand, and parallel retries go through a real server."""

from __future__ import annotations

import dis
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import CodeType
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.audit.models import AuditEvent
from emhana.facilities import io
from emhana.facilities.models import Entity, Inclusion, Practitioner
from emhana.web.deps import iter_routes
from tests.builders.facilities import entity_record
from tests.builders.medbook import EMPLOYER_BIN, OTHER_BIN, World
from tests.builders.servers import serve

# POST routes that need no key, and why. Keep it short: a route that writes a record belongs elsewhere.
EXEMPT = {
    "/api/v1/auth/token": "sign-in: its answer is a new bearer token, which must never be stored for replay",
    "/api/v1/oauth/token": "SMART token endpoint: a new bearer token, never stored; each assertion's jti is single-use",
    "/api/v1/auth/logout": "ends the caller's own token; a retry finds it ended already",
    "/api/v1/auth/password": "anonymous, and its form carries passwords, whose fingerprint must not be kept",
    "/api/v1/accounts": "its answer carries a one-time password, which must not be stored for replay; "
    "a retry is refused as a taken username",
    "/api/v1/accounts/{account_id}/password-reset": "its answer carries a one-time password, which must not be "
    "stored for replay",
    "/api/v1/verify": "the public seal verifier: anonymous (a key is scoped by account) and it writes nothing",
    "/api/v1/identity/iin-check": "public check digits of IINs: computes, writes nothing",
    "/api/v1/persons/lookup": "a read sent by POST so that the IIN stays out of the URL; each read is logged",
    "/api/v1/medbook/books/lookup": "a read sent by POST so that the IIN stays out of the URL; each read is logged",
    "/fhir/R4/Patient/_search": "FHIR search by POST (a read)",
    "/fhir/R4/Organization/_search": "FHIR search by POST (a read)",
    "/fhir/R4/Location/_search": "FHIR search by POST (a read)",
    "/fhir/R4/Practitioner/_search": "FHIR search by POST (a read)",
    "/fhir/R4/PractitionerRole/_search": "FHIR search by POST (a read)",
    "/fhir/R4/Observation/_search": "FHIR search by POST (a read)",
    "/fhir/R4/DiagnosticReport/_search": "FHIR search by POST (a read)",
    "/fhir/R4/Immunization/_search": "FHIR search by POST (a read)",
    "/fhir/R4/Condition/_search": "FHIR search by POST (a read)",
    "/fhir/R4/Bundle/$validate": "FHIR $validate: checks a bundle and writes nothing",
}
RUNNERS = {"idempotent_json", "idempotent_no_content", "run_once"}


def posts(app: FastAPI) -> Iterator[tuple[str, Any]]:
    for path, methods, dependant in iter_routes(app):
        if "POST" in methods and path.startswith(("/api/", "/fhir/")):
            yield path, dependant


def key_params(dependant: Any) -> list[str]:
    """The names of the parameters (of the route or its dependencies) bound to the Idempotency-Key header."""
    found = [p.name for p in dependant.header_params if p.alias.lower().replace("_", "-") == "idempotency-key"]
    for sub in dependant.dependencies:
        found += key_params(sub)
    return found


def loads(code: CodeType) -> set[str]:
    """The names a function's code loads (globals, locals and closures)."""
    return {str(i.argval) for i in dis.get_instructions(code) if i.opname.startswith("LOAD_")}


def test_every_writing_post_takes_the_idempotency_key_and_hands_it_to_the_runner(app: FastAPI) -> None:
    missing, ignored = [], []
    for path, dependant in posts(app):
        if path in EXEMPT:
            continue
        names = key_params(dependant)
        if not names:
            missing.append(path)
            continue
        used = loads(dependant.call.__code__)
        if not (set(names) & used and RUNNERS & used):
            ignored.append(path)
    assert not missing, f"POST routes without an Idempotency-Key header: {missing}"
    assert not ignored, f"POST routes that take the key but never run their write through it: {ignored}"


def test_every_exemption_names_a_post_route(app: FastAPI) -> None:
    assert set(EXEMPT) <= {path for path, _ in posts(app)}


def count(sessions: sessionmaker[Session], table: Any) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


PRACTITIONER = {
    "iin": "880315301280",
    "surname": "Ахметова",
    "given_name": "Айгерім",
    "specialties": ["gp"],
    "title": "врач общей практики",
    "valid_from": "2024-01-01",
}


def test_parallel_retries_through_the_server_all_get_the_first_answer(
    app: FastAPI,
    auth: Callable[..., dict[str, str]],
    seeded_entity: int,
    sessions: sessionmaker[Session],
) -> None:
    headers = {**auth(Role.FUND_ADMIN), "Idempotency-Key": "pr-1"}
    url = f"/api/v1/facilities/entities/{seeded_entity}/practitioners"
    retries = 6
    barrier = threading.Barrier(retries)
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as http:

        def one(_: int) -> tuple[int, Any]:
            barrier.wait()
            r = http.post(url, headers=headers, json=PRACTITIONER)
            return r.status_code, r.json()

        with ThreadPoolExecutor(retries) as pool:
            answers = list(pool.map(one, range(retries)))
        assert answers == [answers[0]] * retries and answers[0][0] == 201, answers
        assert count(sessions, Practitioner) == 1
        other = http.post(url, headers=headers, json={**PRACTITIONER, "title": "терапевт"})
        assert other.status_code == 422 and other.json()["code"] == "core.idempotency_mismatch"


def test_a_retried_inclusion_is_decided_once(
    client: TestClient, auth: Callable[..., dict[str, str]], seeded_entity: int, sessions: sessionmaker[Session]
) -> None:
    headers = {**auth(Role.FUND_ADMIN), "Idempotency-Key": "inc-1"}
    url = f"/api/v1/facilities/entities/{seeded_entity}/inclusions"
    body = {"status": "excluded", "effective_from": "2025-06-01", "reason": "licence revoked"}
    first = client.post(url, headers=headers, json=body)
    assert first.status_code == 201, first.text
    periods = count(sessions, Inclusion)
    again = client.post(url, headers=headers, json=body)
    assert (again.status_code, again.json()) == (201, first.json())
    assert count(sessions, Inclusion) == periods
    other = client.post(url, headers=headers, json={**body, "reason": "another"})
    assert other.status_code == 422 and other.json()["code"] == "core.idempotency_mismatch"


def test_a_retried_import_answers_as_the_first_time(
    client: TestClient, auth: Callable[..., dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    headers = {**auth(Role.FUND_ADMIN), "Idempotency-Key": "imp-1"}
    data = io.write_csv([entity_record()]).encode()
    files = {"file": ("entities.csv", data, "text/csv")}
    first = client.post("/api/v1/facilities/import", headers=headers, files=files)
    assert first.status_code == 200, first.text
    again = client.post("/api/v1/facilities/import", headers=headers, files=files)
    assert (again.status_code, again.json()) == (200, first.json())
    assert count(sessions, Entity) == 1
    other = client.post(
        "/api/v1/facilities/import", headers=headers, files={"file": ("e.csv", data + b"\n", "text/csv")}
    )
    assert other.status_code == 422 and other.json()["code"] == "core.idempotency_mismatch"


def test_a_retried_employer_link_is_written_once(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    headers = {**world.h["fund"], "Idempotency-Key": "emp-1"}
    body = {"account_id": world.actors["employer"].account_id, "bin": EMPLOYER_BIN}
    for _ in range(2):
        r = client.post("/api/v1/medbook/employers", headers=headers, json=body)
        assert r.status_code == 204 and r.content == b"", r.text
    with sessions() as s:
        links = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "medbook.employer_link")
        )
    assert links == 1
    other = client.post("/api/v1/medbook/employers", headers=headers, json={**body, "bin": OTHER_BIN})
    assert other.status_code == 422 and other.json()["code"] == "core.idempotency_mismatch"
