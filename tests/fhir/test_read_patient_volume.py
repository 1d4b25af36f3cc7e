"""The read volume of GET /fhir/R4/Patient/{id} (issue 18): its first statement is sent ahead in the read's own round
trip (``identity.volume_later``), and the account is still flagged to the Fund exactly as ``flag_read_volume`` flags it
(docs/access-log.md, "Read volume"): once a day, when the day's committed reads pass the limit, with the exact count,
whatever this process keeps of an earlier flag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent
from emhana.fhir import registry
from emhana.identity import service
from emhana.kernel import clock
from emhana.kernel.db import unit_of_work
from tests.builders.fhir import FhirWorld

FHIR_JSON = "application/fhir+json"
LIMIT = 3
READER = "clin_b"  # the clinic the cook is attached to: no purpose needed


@pytest.fixture(autouse=True)
def limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(service, "get_settings", lambda: SimpleNamespace(read_flag_threshold=LIMIT))
    service._FLAGS.clear()
    yield
    service._FLAGS.clear()


def read(client: TestClient, fw: FhirWorld, times: int = 1) -> None:
    for _ in range(times):
        r = client.get(f"/fhir/R4/Patient/{fw.w.cook}", headers={**fw.w.h[READER], "Accept": FHIR_JSON})
        assert r.status_code == 200, r.text


def flags(sessions: sessionmaker[Session], fw: FhirWorld) -> list[str]:
    account = fw.w.actors[READER].account_id
    with sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent.purpose)
                .where(AuditEvent.action == service.FLAG_ACTION, AuditEvent.object_id == str(account))
                .order_by(AuditEvent.id)
            )
        )


def test_the_flag_is_raised_once_when_the_days_reads_pass_the_limit(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session]
) -> None:
    read(client, fw, LIMIT + 1)  # a read's own event is not counted yet: LIMIT counted, not past it
    assert flags(sessions, fw) == []
    read(client, fw)
    assert flags(sessions, fw) == [f"{LIMIT + 1} > {LIMIT}"]  # the exact count of the committed reads
    read(client, fw, 3)
    assert flags(sessions, fw) == [f"{LIMIT + 1} > {LIMIT}"]  # once a day
    assert (fw.w.actors[READER].account_id, clock.today()) in service._FLAGS


def test_a_known_flag_is_checked_by_its_key_without_counting(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    read(client, fw, LIMIT + 3)
    assert len(flags(sessions, fw)) == 1 and (fw.w.actors[READER].account_id, clock.today()) in service._FLAGS

    class NoCount:
        def later(self, *_a: Any) -> Any:
            raise AssertionError("counted although the day's flag is known")

        rows = later

    monkeypatch.setattr(service, "READS_COUNTED", NoCount())
    read(client, fw, 2)
    assert len(flags(sessions, fw)) == 1


@pytest.mark.parametrize("kept", ["missing", "another_event"])
def test_a_kept_flag_that_is_not_this_accounts_flag_of_the_day_does_not_stop_the_flag(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], kept: str
) -> None:
    """A process that keeps a flag's id from another database (or a cleaned one) must not take it for the flag of
    this one: an id that is not there, or that is another event here, and the reads past the limit still flag."""
    read(client, fw, LIMIT + 1)
    assert flags(sessions, fw) == []
    with sessions() as s:
        other = s.scalar(select(AuditEvent.id).where(AuditEvent.action == registry.READ_ACTION).limit(1))
    key = (fw.w.actors[READER].account_id, clock.today())
    service._FLAGS[key] = 10**12 if kept == "missing" else int(other or 0)
    read(client, fw)
    assert flags(sessions, fw) == [f"{LIMIT + 1} > {LIMIT}"]
    assert service._FLAGS.get(key) != (10**12 if kept == "missing" else other)


def test_a_new_day_is_counted_afresh(
    client: TestClient, fw: FhirWorld, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> None:
    read(client, fw, LIMIT + 2)
    assert len(flags(sessions, fw)) == 1
    tomorrow = dt.datetime.combine(clock.today() + dt.timedelta(days=1), dt.time(0, 5), clock.KZ_TIME)
    at(tomorrow)
    read(client, fw, LIMIT + 1)
    assert len(flags(sessions, fw)) == 1  # that day's reads not past the limit yet
    read(client, fw)
    assert len(flags(sessions, fw)) == 2


def test_a_session_that_writes_counts_its_own_reads_as_before(fw: FhirWorld, sessions: sessionmaker[Session]) -> None:
    """In a unit of work that writes ($medbook's), the read's own events are in the count, as the ORM read did."""
    actor = fw.w.actors[READER]
    with unit_of_work(sessions) as s:
        for _ in range(LIMIT + 1):  # the fourth read counts its own event: past the limit at once
            found = registry.read_patient(
                session=s, actor=actor, person_id=fw.w.cook, day=clock.today(), now=clock.now(), purpose=""
            )
            assert found is not None
    assert flags(sessions, fw) == [f"{LIMIT + 1} > {LIMIT}"]
