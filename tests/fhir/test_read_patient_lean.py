"""GET /fhir/R4/Patient/{id} in one round trip (issue 18): the same bytes, ETag, Last-Modified and 304 as the ORM read
it replaced (the search's, ``fhir.registry.search_patients``), the purpose asked before existence, the read logged and
flagged as before, and at most three statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from emhana.api.fhir.versioned import versioned
from emhana.audit.readlog import take
from emhana.fhir import registry
from emhana.identity.models import PersonAddress
from emhana.kernel import clock
from emhana.kernel.db import unit_of_work
from emhana.kernel.fastsql import Fast
from tests.builders.fhir import FhirWorld, audit_actions

FHIR_JSON = "application/fhir+json"


def reference(sessions: sessionmaker[Session], fw: FhirWorld, who: str, person_id: int) -> dict[str, Any]:
    """The Patient as the ORM read of the search reads it (``registry.search_patients``), its logged read dropped."""
    with unit_of_work(sessions, read_only=True) as s:
        total, found = registry.search_patients(
            session=s,
            actor=fw.w.actors[who],
            iin=None,
            person_id=person_id,
            day=clock.today(),
            now=clock.now(),
            purpose="",
        )
        take(s)
    assert total == 1
    return found[0]


def test_a_patient_reads_byte_for_byte_as_the_registry_read_with_its_etag_and_304(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:  # a temporary address beside the permanent one, and one no longer valid
        for kind, text, until in (("temporary", "Алматы", None), ("temporary", "Караганда", dt.date(2020, 1, 1))):
            s.add(
                PersonAddress(
                    person_id=fw.w.cook,
                    kind=kind,
                    text_ru=text,
                    kato_code="710000000",
                    kato_version="NK RK 11-2025",
                    valid_to=until,
                )
            )
    for who in ("mis_a", "clin_b"):  # the book's issuer and the clinic she is attached to
        expected = reference(sessions, fw, who, fw.w.cook)
        before = audit_actions(sessions).count(registry.READ_ACTION)
        r = client.get(f"/fhir/R4/Patient/{fw.w.cook}", headers={**fw.w.h[who], "Accept": FHIR_JSON})
        assert r.status_code == 200, r.text
        response = versioned(_Request({}), expected)  # type: ignore[arg-type]
        assert r.content == response.body
        assert r.headers["etag"] == response.headers["etag"] == f'W/"{expected["meta"]["versionId"]}"'
        assert r.headers["last-modified"] == response.headers["last-modified"]
        assert [a.get("text") for a in r.json()["address"]] == [None, "Алматы"]  # one no longer valid left out
        assert audit_actions(sessions).count(registry.READ_ACTION) == before + 1
        again = client.get(
            f"/fhir/R4/Patient/{fw.w.cook}",
            headers={**fw.w.h[who], "Accept": FHIR_JSON, "If-None-Match": r.headers["etag"]},
        )
        assert again.status_code == 304 and again.content == b""


class _Request:
    """What ``versioned`` reads of a request: its headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


def test_the_purpose_is_asked_before_existence_and_an_unknown_id_is_not_found(
    client: TestClient, fw: FhirWorld
) -> None:
    outsider = {**fw.w.h["rt_x"], "Accept": FHIR_JSON}  # clinic X: the cook is not of its population
    known = client.get(f"/fhir/R4/Patient/{fw.w.cook}", headers=outsider)
    unknown = client.get("/fhir/R4/Patient/999999", headers=outsider)
    assert known.status_code == unknown.status_code == 422, known.text
    assert known.json()["issue"][0]["details"]["coding"][0]["code"] == "identity.purpose_required"
    assert known.json()["issue"] == unknown.json()["issue"]
    missing = client.get("/fhir/R4/Patient/999999", headers={**outsider, "X-Purpose-Of-Use": "care"})
    assert missing.status_code == 404, missing.text


@contextmanager
def selects(session: Session) -> Iterator[list[str]]:
    """Collect the SELECTs the session's engine runs (SQLite), and count those sent on the driver (``Fast``)."""
    seen: list[str] = []
    engine = session.get_bind()

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sent = Fast.sent
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
        seen.extend(["(sent on the driver)"] * (Fast.sent - sent))


def test_a_patient_read_takes_at_most_three_statements_and_logs_its_read(
    fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    with unit_of_work(sessions, read_only=True) as s:
        with selects(s) as seen:
            found = registry.read_patient(
                session=s,
                actor=fw.w.actors["clin_b"],
                person_id=fw.w.cook,
                day=clock.today(),
                now=clock.now(),
                purpose="",
            )
        _, rows = take(s)
    # the person with the organizations and chains, the addresses, the read volume; the registry's read took seven
    assert len(seen) <= 3, seen
    assert found is not None and found["id"] == str(fw.w.cook)
    assert [(r["action"], str(r["object_id"])) for r in rows] == [(registry.READ_ACTION, str(fw.w.cook))]
