"""The scheduler in the process, on the kernel clock: due jobs run once and every run is recorded; a daily job
runs once a day from its time on (and at start when the day missed it), is retried after a failure with a
growing wait and at most its attempts; a failing job is recorded as failed and the others still run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.attachment.enums import State
from emhana.attachment.models import Application
from emhana.jobs.catalogue import BY_NAME, Context, Done, Job, Outcome
from emhana.jobs.models import JobRun
from emhana.jobs.runner import RunRecord
from emhana.jobs.scheduler import Scheduler, start_background
from emhana.kernel import clock
from emhana.kernel.config import Settings
from tests.builders.attachment import Country
from tests.builders.notices import apply, outbox

KZ = clock.KZ_TIME
START = dt.datetime(2025, 9, 10, 10, 0, tzinfo=KZ)


class Ticks:
    """A monotonic clock the test moves (the machine's time, apart from the kernel clock)."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def fixed() -> Iterator[clock.Fixed]:
    standing = clock.Fixed(START)
    with clock.use(standing):
        yield standing


def runs(sessions: sessionmaker[Session]) -> list[tuple[str, str, int]]:
    with sessions() as s:
        return [(r.job, r.outcome, r.items) for r in s.scalars(select(JobRun).order_by(JobRun.id))]


def ran(records: list[RunRecord]) -> list[str]:
    return [r.job for r in records]


def test_due_jobs_run_once_and_every_run_is_recorded(
    engine: Engine, sessions: sessionmaker[Session], fixed: clock.Fixed
) -> None:
    ticks = Ticks()
    scheduler = Scheduler(engine, Settings(database_url=str(engine.url)), monotonic=ticks)
    first = scheduler.tick()
    assert ran(first) == [
        "campaign_daily",
        "fhir_directory_versions",
        "chain_checkpoint",
        "medbook_reminders",
        "outbox",
        "fhir_bulk_export",
    ]
    assert runs(sessions) == [
        ("campaign_daily", "succeeded", 0),
        ("fhir_directory_versions", "succeeded", 0),  # no directory rows in this database
        ("chain_checkpoint", "skipped", 0),  # no checkpoint key in these settings
        ("medbook_reminders", "succeeded", 0),
        ("outbox", "succeeded", 0),
        ("fhir_bulk_export", "succeeded", 0),  # FHIR bulk exports (every minute, nothing queued)
    ]
    with sessions() as s:
        row = s.scalars(select(JobRun).where(JobRun.job == "campaign_daily")).one()
        assert row.day == dt.date(2025, 9, 10) and row.finished_at is not None and row.error is None
    assert scheduler.tick() == []  # nothing is due again at the same instant

    fixed.advance(dt.timedelta(minutes=1))
    assert ran(scheduler.tick()) == ["outbox", "fhir_bulk_export"]  # the frequent job only; the daily ones ran today

    fixed.set(dt.datetime(2025, 9, 11, 0, 10, tzinfo=KZ))  # a new day, before the campaign's time
    assert ran(scheduler.tick()) == ["outbox", "fhir_bulk_export"]
    fixed.set(dt.datetime(2025, 9, 11, 0, 31, tzinfo=KZ))
    assert ran(scheduler.tick()) == ["campaign_daily", "outbox", "fhir_bulk_export"]
    fixed.set(dt.datetime(2025, 9, 11, 1, 1, tzinfo=KZ))
    assert ran(scheduler.tick()) == ["fhir_directory_versions", "chain_checkpoint", "outbox", "fhir_bulk_export"]
    fixed.set(dt.datetime(2025, 9, 12, 9, 0, tzinfo=KZ))  # a worker started late: the day's missed jobs run
    assert ran(scheduler.tick()) == [
        "campaign_daily",
        "fhir_directory_versions",
        "chain_checkpoint",
        "medbook_reminders",
        "outbox",
        "fhir_bulk_export",
    ]


def test_a_standing_clock_still_delivers_every_minute_of_the_machine(
    engine: Engine, sessions: sessionmaker[Session], fixed: clock.Fixed
) -> None:
    ticks = Ticks()
    scheduler = Scheduler(engine, Settings(database_url=str(engine.url)), monotonic=ticks)
    scheduler.tick()
    ticks.value += 30
    assert scheduler.tick() == []
    ticks.value += 31  # a minute of the machine has passed; the demo's clock stands still
    assert ran(scheduler.tick()) == ["outbox", "fhir_bulk_export"]


def broken(ctx: Context) -> Done:
    raise RuntimeError("the relay refused the batch")


def counted(ctx: Context) -> Done:
    return Done(7)


def test_a_failing_job_is_recorded_and_the_others_run_then_it_is_retried_with_a_growing_wait(
    engine: Engine, sessions: sessionmaker[Session], fixed: clock.Fixed
) -> None:
    jobs = [
        Job("flaky", "Flaky", broken, at=dt.time(9, 0), max_attempts=3, retry_first=dt.timedelta(minutes=5)),
        Job("steady", "Steady", counted, every=dt.timedelta(minutes=1)),
    ]
    scheduler = Scheduler(engine, Settings(database_url=str(engine.url)), jobs=jobs, monotonic=Ticks())
    records = scheduler.tick()
    assert [(r.job, r.outcome, r.items) for r in records] == [
        ("flaky", Outcome.FAILED, 0),
        ("steady", Outcome.SUCCEEDED, 7),
    ]
    assert records[0].error == "RuntimeError: the relay refused the batch"
    with sessions() as s:
        failed = s.scalars(select(JobRun).where(JobRun.job == "flaky")).one()
        assert (failed.outcome, failed.error, failed.finished_at is not None) == (
            "failed",
            "RuntimeError: the relay refused the batch",
            True,
        )
    retried_at = []
    for _ in range(60):  # an hour, minute by minute
        fixed.advance(dt.timedelta(minutes=1))
        for record in scheduler.tick():
            if record.job == "flaky":
                retried_at.append(int((record.started_at - START).total_seconds() // 60))
    assert retried_at == [5, 15]  # waits of 5 and then 10 minutes; then no more than 3 attempts a day
    assert [o for j, o, _ in runs(sessions) if j == "flaky"] == ["failed"] * 3
    assert all(o == "succeeded" for j, o, _ in runs(sessions) if j == "steady")


def test_the_jobs_do_their_work_the_approval_goes_out_and_takes_effect_on_its_day(
    engine: Engine,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    citizen: Callable[[int], Actor],
    now: Callable[[dt.datetime], None],
) -> None:
    pid = person()
    app = apply(sessions, citizen(pid), person_id=pid, district_id=country.districts[("A1", 1)])
    assert app.state == State.APPROVED.value
    scheduler = Scheduler(engine, Settings(database_url=str(engine.url)), monotonic=Ticks())
    scheduler.tick()
    assert [row.state for row in outbox(sessions)] == ["sent"]  # the approval, through the log channel
    with sessions() as s:
        begin = s.scalar(select(Application).where(Application.id == app.id))
        assert begin is not None and begin.state == State.APPROVED.value
    # the attachment begins on 1 January: the daily job of that day puts it in effect
    now(dt.datetime(2026, 1, 1, 0, 45, tzinfo=KZ))
    records = {r.job: r for r in scheduler.tick()}
    assert records["campaign_daily"].outcome is Outcome.SUCCEEDED and records["campaign_daily"].items == 1
    with sessions() as s:
        assert s.scalar(select(Application.state).where(Application.id == app.id)) == State.IN_EFFECT.value
    assert records["outbox"].items == 1  # its "in effect" message, in the same tick
    assert [row.state for row in outbox(sessions)] == ["sent", "sent"]


def test_the_background_thread_runs_and_stops(engine: Engine, sessions: sessionmaker[Session]) -> None:
    scheduler = Scheduler(engine, Settings(database_url=str(engine.url)), jobs=[BY_NAME["outbox"]])
    background = start_background(scheduler, poll=0.05)
    try:
        for _ in range(200):
            if runs(sessions):
                break
            background.event.wait(0.05)
    finally:
        background.stop()
    assert not background.thread.is_alive()
    assert runs(sessions)[0][:2] == ("outbox", "succeeded")
