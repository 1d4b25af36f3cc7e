"""Batched writes of a bundle (medbook.record_many): the same entries, in the same order, as one write per
resource; the same resource twice in one bundle; a refusal names its resource and writes nothing; the hash chain
links every row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.fhir.models import InboundResource
from emhana.medbook.models import JournalEntry
from emhana.trust.chain.verify import verify
from tests.builders import fhir as b
from tests.builders.fhir import FhirWorld, codes, issues, post, written


def entries(sessions: sessionmaker[Session]) -> list[JournalEntry]:
    with sessions() as s:
        return list(s.scalars(select(JournalEntry).order_by(JournalEntry.id)))


def test_a_bundle_is_written_in_order_with_duplicates_versions_and_suspension(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], engine: Engine
) -> None:
    iin = fw.w.cook_iin
    resources = [
        b.observation(iin, rid="a", version="1"),
        b.observation(iin, rid="b", code="22587-0", version="1"),
        b.observation(iin, rid="a", version="1"),  # the same again: a duplicate
        b.observation(iin, rid="a", version="2", on="2026-03-03"),  # newer: corrects the first
        b.observation(iin, rid="c", interpretation="POS", version="1"),  # C-30: suspends and refers
        b.xray(iin, rid="d", version="1"),
    ]
    r = post(client, fw, b.bundle(resources, signer=fw.signer))
    assert r.status_code == 200, r.text
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["201 Created", "201 Created", "200 OK", "201 Created", "201 Created", "201 Created", "200 OK"]
    rows = entries(sessions)
    assert [(e.kind, e.item_code) for e in rows] == [
        ("lab_result", "syphilis"),
        ("lab_result", "syphilis"),
        ("lab_result", "syphilis"),
        ("lab_result", "syphilis"),
        ("xray", "fluorography"),
        ("clearance", "syphilis"),
        ("referral", "syphilis"),
    ]
    first, _, second, positive, _, suspension, referral = rows
    assert second.supersedes_id == first.id and second.performed_on == dt.date(2026, 3, 3)
    assert positive.result == "positive" and suspension.clearance == "suspended"
    assert suspension.caused_by_id == referral.caused_by_id == positive.id
    with sessions() as s:
        received = {(x.resource_id, x.version): x.entry_id for x in s.scalars(select(InboundResource))}
    assert received == {
        ("a", "1"): first.id,
        ("b", "1"): rows[1].id,
        ("a", "2"): second.id,
        ("c", "1"): positive.id,
        ("d", "1"): rows[4].id,
    }  # the duplicate is not received twice
    with engine.connect() as conn:
        report = verify(conn)
    assert report.clean, [str(f) for f in report.findings]


def test_one_refused_resource_names_its_position_and_nothing_is_written(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    iin = fw.w.cook_iin
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    resources = [b.observation(iin), b.observation(iin), b.observation(iin, on=future), b.observation(iin)]
    before = written(sessions)
    r = post(client, fw, b.bundle(resources, signer=fw.signer))
    assert r.status_code == 422 and codes(r) == ["medbook.date_in_future"]
    assert issues(r)[0]["expression"] == ["Bundle.entry[2].resource"]
    assert written(sessions) == before


def test_a_bundle_costs_a_few_statements_not_a_few_per_resource(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], app: Any
) -> None:
    iin = fw.w.cook_iin
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    def counted(size: int) -> list[str]:
        statements.clear()
        assert (
            post(client, fw, b.bundle([b.observation(iin) for _ in range(size)], signer=fw.signer)).status_code == 200
        )
        if engine.dialect.name == "sqlite":  # its driver inserts row by row (in process); the rest is batched
            return [x for x in statements if not x.startswith("INSERT INTO")]
        return list(statements)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        small, large = counted(2), counted(40)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(large) <= len(small) + 4, "\n".join(x[:90] for x in large)  # one-per-row was 4 per resource
    assert len(entries(sessions)) == 42
