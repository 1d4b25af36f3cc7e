"""The FHIR bulk export job (``fhir_bulk_export`` of the catalogue): exports run page by page, one NDJSON file per
page, each run recorded; a failed export is reported on its status and the job goes on; cancellation stops a run
between pages; interrupted runs are queued again and expired files purged."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.models import Account
from emhana.attachment.models import Attachment
from emhana.audit.models import AuditEvent
from emhana.fhir import bulk
from emhana.fhir.bulk_models import BulkExport, BulkExportFile
from emhana.jobs import runner
from emhana.jobs.catalogue import BY_NAME, Outcome
from emhana.kernel import clock
from emhana.kernel.config import Settings
from tests.builders.chain import problems
from tests.builders.medbook import World
from tests.builders.people import add_person


def kick(sessions: sessionmaker[Session], world: World, who: str, level: str, group: int | None = None) -> int:
    """Queue an export as an account of the world (the service itself, as the route calls it)."""
    with sessions.begin() as s:
        export = bulk.kick_off(
            session=s,
            actor=world.actors[who],
            level=level,
            group_id=group,
            items=[],
            prefer="respond-async",
            accept="application/fhir+json",
            purpose="",
            request="https://example.test/fhir/R4/$export",
            now=clock.now(),
        )
        return export.id


def files(sessions: sessionmaker[Session], export_id: int) -> list[tuple[str, int, int, bytes]]:
    with sessions() as s:
        return [
            (f.resource_type, f.seq, f.count, f.data)
            for f in s.scalars(
                select(BulkExportFile).where(BulkExportFile.export_id == export_id).order_by(BulkExportFile.id)
            )
        ]


def state(sessions: sessionmaker[Session], export_id: int) -> BulkExport:
    with sessions() as s:
        found = s.get(BulkExport, export_id)
        assert found is not None
        s.expunge(found)
        return found


def test_the_job_exports_in_pages_one_file_each_and_records_its_run(
    engine: Engine, database_url: str, sessions: sessionmaker[Session], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "FILE_SIZE", 2)  # a national export's pages, in small
    export_id = kick(sessions, world, "fund", bulk.SYSTEM)
    record = runner.run(engine, BY_NAME["fhir_bulk_export"], settings=Settings(database_url=database_url))
    assert record.outcome is Outcome.SUCCEEDED and record.error is None
    found = files(sessions, export_id)
    organizations = [(seq, count) for rtype, seq, count, _ in found if rtype == "Organization"]
    assert organizations == [(1, 2), (2, 1)]  # three organizations in pages of two
    assert record.items == sum(count for _, _, count, _ in found)
    for rtype, _, count, data in found:
        lines = data.decode().splitlines()
        assert len(lines) == count and all(json.loads(line)["resourceType"] == rtype for line in lines)
        assert all(json.loads(line)["meta"]["versionId"] for line in lines)
    done = state(sessions, export_id)
    assert done.state == "done" and done.expires_at is not None and done.progress == "done"
    assert bulk.run_due(engine) == 0  # nothing left in the queue


def test_a_groups_patients_are_read_page_by_page_and_each_is_logged(
    engine: Engine, sessions: sessionmaker[Session], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "FILE_SIZE", 2)
    people = [add_person(sessions, born=dt.date(1980 + n, 1, 1)) for n in range(4)]
    with sessions.begin() as s:  # three more people attached to B beside the cook; the fourth to nobody
        cook = s.scalars(select(Attachment).where(Attachment.person_id == world.cook)).one()
        for person in people[:3]:
            s.add(
                Attachment(
                    person_id=person,
                    entity_id=world.b,
                    site_id=cook.site_id,
                    district_id=cook.district_id,
                    place_basis="residence_permanent",
                    cause="application",
                    begin_date=dt.date(2025, 1, 1),
                    decided_on=dt.date(2024, 12, 1),
                )
            )
    export_id = kick(sessions, world, "reg_b", bulk.GROUP, world.b)  # a registrar: Patients only
    assert bulk.run_due(engine) == 4
    found = files(sessions, export_id)
    assert [(rtype, seq, count) for rtype, seq, count, _ in found] == [("Patient", 1, 2), ("Patient", 2, 2)]
    ids = sorted(int(json.loads(line)["id"]) for *_, data in found for line in data.decode().splitlines())
    assert ids == sorted([world.cook, *people[:3]])
    with sessions() as s:
        logged = sorted(
            int(person or 0)
            for person in s.scalars(
                select(AuditEvent.subject_person_id).where(
                    AuditEvent.action == "fhir.patient.read", AuditEvent.object_id == str(export_id)
                )
            )
        )
    assert logged == ids
    assert problems(engine) == []  # each person's audit event is linked into their chain


def test_a_failed_export_says_why_and_the_next_one_runs(
    engine: Engine, sessions: sessionmaker[Session], world: World
) -> None:
    first = kick(sessions, world, "mis_a", bulk.GROUP, world.a)
    second = kick(sessions, world, "fund", bulk.SYSTEM)
    with sessions.begin() as s:  # the MIS account is switched off before its export runs
        s.execute(update(Account).where(Account.id == world.actors["mis_a"].account_id).values(active=False))
    assert bulk.run_due(engine) > 0
    failed = state(sessions, first)
    assert failed.state == "failed" and failed.error == bulk.ACCOUNT_CHANGED
    assert files(sessions, first) == []
    assert state(sessions, second).state == "done"


def test_a_cancelled_export_stops_between_pages(
    engine: Engine, sessions: sessionmaker[Session], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "FILE_SIZE", 1)
    export_id = kick(sessions, world, "fund", bulk.SYSTEM)

    def cancel_during_the_pause(seconds: float) -> None:
        with sessions.begin() as s:
            bulk.cancel(session=s, actor=world.actors["fund"], export_id=export_id, now=clock.now())

    monkeypatch.setattr("emhana.fhir.bulk.time.sleep", cancel_during_the_pause)
    claimed = bulk.claim(engine, clock.now())
    assert claimed == export_id
    assert bulk.run_export(engine, export_id, pause=0.01) == 1  # the first page, then the cancellation
    assert state(sessions, export_id).state == "cancelled"
    assert files(sessions, export_id) == []


def test_interrupted_runs_are_queued_again_and_expired_files_purged(
    engine: Engine, sessions: sessionmaker[Session], world: World
) -> None:
    done_id = kick(sessions, world, "fund", bulk.SYSTEM)
    assert bulk.run_due(engine) > 0
    stuck_id = kick(sessions, world, "fund", bulk.SYSTEM)
    now = clock.now()
    with sessions.begin() as s:  # a worker died in the middle of this run, long ago
        s.execute(
            update(BulkExport)
            .where(BulkExport.id == stuck_id)
            .values(state="running", transaction_time=now, heartbeat_at=now - bulk.STALE - dt.timedelta(minutes=1))
        )
        s.add(BulkExportFile(export_id=stuck_id, resource_type="Organization", seq=1, count=0, data=b""))
    assert bulk.purge(engine, now) == 0
    assert state(sessions, stuck_id).state == "queued" and files(sessions, stuck_id) == []
    later = now + bulk.KEEP + dt.timedelta(seconds=1)
    kept = len(files(sessions, done_id))
    assert kept > 0 and bulk.purge(engine, later) == kept
    with sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(BulkExportFile).where(BulkExportFile.export_id == done_id)) == 0
        )
