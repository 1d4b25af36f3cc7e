"""All or nothing, really tested (issue 17): bundles whose later entry is refused after earlier ones were written
(a batch, then a refused correction; a new resource, then a stale version; a batch and a correction, then a
medical-book rule at entry 3). Each time the statements prove that rows were inserted before the refusal, and
afterwards no journal entry, ingested resource, accepted bundle, audit row, notification or seal of the bundle
remains, while the refused bundle is in the dead-letter queue. A commit after a written batch fails these tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent
from emhana.fhir.models import InboundBundle
from emhana.medbook.models import ClearanceSeal
from emhana.notify.models import Notification
from tests.builders import fhir as b
from tests.builders.fhir import FhirWorld, codes, issues, open_letters, post, written

FUTURE = (dt.date.today() + dt.timedelta(days=60)).isoformat()  # C-13: no result dated after today


@pytest.fixture
def inserts(app: FastAPI) -> Iterator[list[str]]:
    """The tables the app inserts into, in order, while the test runs."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO"):
            seen.append(statement.split()[2].strip('"'))

    event.listen(app.state.engine, "before_cursor_execute", note)
    yield seen
    event.remove(app.state.engine, "before_cursor_execute", note)


def everything(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    """What a bundle may write: entries, ledger rows, accepted bundles, audit rows, notifications, seals."""
    with sessions() as s:
        return (
            *written(sessions),
            *(s.scalar(select(func.count()).select_from(t)) or 0 for t in (AuditEvent, Notification, ClearanceSeal)),
        )


def rejected_bundles(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(InboundBundle).where(InboundBundle.state == "rejected")) or 0


def receive(client: TestClient, fw: FhirWorld, *resources: dict[str, Any]) -> None:
    r = post(client, fw, b.bundle(list(resources), signer=fw.signer))
    assert r.status_code == 200, r.text


def refused_after_writes(
    client: TestClient,
    fw: FhirWorld,
    sessions: sessionmaker[Session],
    inserts: list[str],
    resources: list[dict[str, Any]],
    *,
    status: int,
    code: str,
    position: int,
    journal_inserts: int,
) -> None:
    """Post the bundle; assert it was refused at ``position`` after ``journal_inserts`` journal inserts and that
    nothing of it remains but its dead letter."""
    before = everything(sessions)
    inserts.clear()
    r = post(client, fw, b.bundle(resources, signer=fw.signer))
    assert r.status_code == status, r.text
    assert codes(r) == [code]
    assert issues(r)[0]["expression"][0].startswith(f"Bundle.entry[{position}].resource")
    assert inserts.count("medbook_entry") >= journal_inserts, inserts  # rows were written, then refused
    assert everything(sessions) == before
    [letter] = open_letters(sessions)
    assert (letter.code, letter.position) == (code, position)
    assert rejected_bundles(sessions) == 1


def test_a_batch_written_then_a_refused_correction_leaves_nothing(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], inserts: list[str]
) -> None:
    iin = fw.w.cook_iin
    receive(client, fw, b.observation(iin, rid="x", version="1"))
    resources = [
        b.observation(iin, rid="a", interpretation="POS"),  # C-30: a suspension, a referral and a notice too
        b.xray(iin, rid="b"),
        b.observation(iin, rid="x", version="2", on=FUTURE),  # the correction: refused by the journal (C-13)
    ]
    refused_after_writes(
        client,
        fw,
        sessions,
        inserts,
        resources,
        status=422,
        code="medbook.date_in_future",
        position=2,
        journal_inserts=2,
    )


def test_a_new_resource_then_a_stale_version_leaves_nothing(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], inserts: list[str]
) -> None:
    iin = fw.w.cook_iin
    receive(client, fw, b.observation(iin, rid="y", version="3"))
    resources = [b.observation(iin, rid="a", interpretation="POS"), b.observation(iin, rid="y", version="2")]
    refused_after_writes(
        client,
        fw,
        sessions,
        inserts,
        resources,
        status=409,
        code="fhir.stale_version",
        position=1,
        journal_inserts=1,
    )


def test_a_batch_and_a_correction_then_a_rule_refusal_at_entry_3_leaves_nothing(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], inserts: list[str]
) -> None:
    iin = fw.w.cook_iin
    receive(client, fw, b.observation(iin, rid="x", version="1"))
    resources = [
        b.observation(iin, rid="a", interpretation="POS"),
        b.observation(iin, rid="x", version="2", on="2026-03-03"),  # a correction, written after the batch
        b.immunization(iin, on=FUTURE),  # a new batch, refused by the journal's date rule (C-13)
    ]
    refused_after_writes(
        client,
        fw,
        sessions,
        inserts,
        resources,
        status=422,
        code="medbook.date_in_future",
        position=2,
        journal_inserts=2,
    )


def test_a_retraction_written_then_a_refusal_leaves_the_entry_in_force(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], inserts: list[str]
) -> None:
    iin = fw.w.cook_iin
    obs = b.observation(iin, rid="z", version="1")
    receive(client, fw, obs, b.observation(iin, rid="y", version="3"))
    withdrawn = dict(obs, status="entered-in-error", meta={"versionId": "2"})
    resources = [withdrawn, b.observation(iin, rid="y", version="1")]
    refused_after_writes(
        client,
        fw,
        sessions,
        inserts,
        resources,
        status=409,
        code="fhir.stale_version",
        position=1,
        journal_inserts=1,
    )
