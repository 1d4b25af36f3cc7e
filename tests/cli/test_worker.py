"""``emhana worker --once``: runs the jobs due now, prints each run and records it; a second run at once finds
nothing due."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.cli.main import app
from emhana.jobs.models import JobRun
from emhana.kernel import clock


def test_worker_once_runs_what_is_due_and_records_it(database_url: str, sessions: sessionmaker[Session]) -> None:
    runner = CliRunner()
    with clock.use(clock.Fixed(dt.datetime(2025, 9, 10, 10, 0, tzinfo=clock.KZ_TIME))):
        first = runner.invoke(app, ["worker", "--once", "--database-url", database_url])
        again = runner.invoke(app, ["worker", "--once", "--database-url", database_url])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        "campaign_daily: succeeded, 0 items",
        "fhir_directory_versions: succeeded, 0 items",
        "chain_checkpoint: skipped, 0 items",
        "medbook_reminders: succeeded, 0 items",
        "outbox: succeeded, 0 items",
        "fhir_bulk_export: succeeded, 0 items",
    ]
    assert again.exit_code == 0 and again.output == ""
    with sessions() as s:
        assert [r.job for r in s.scalars(select(JobRun).order_by(JobRun.id))] == [
            "campaign_daily",
            "fhir_directory_versions",
            "chain_checkpoint",
            "medbook_reminders",
            "outbox",
            "fhir_bulk_export",
        ]
