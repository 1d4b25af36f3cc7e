"""The jobs on PostgreSQL through procrastinate, against the test database: a deferred job runs in a worker and
its run is recorded, a job waiting in the queue is not queued twice, a failed daily job is queued again after
its wait, the day's missed jobs are queued as a worker starts, and a worker left running defers the periodic
jobs by itself."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from emhana.jobs.catalogue import BY_NAME, CATALOGUE, Context, Done, Job
from emhana.jobs.models import JobRun
from emhana.jobs.queue import QUEUE, conninfo, defer, defer_missed, make_app
from emhana.kernel import clock
from emhana.kernel.config import Settings
from tests.builders.databases import is_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not is_postgres(), reason="the job queue lives on PostgreSQL"),
]

KZ = clock.KZ_TIME
QUEUE_TABLES = "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers"


@pytest.fixture
def queue(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Engine]:
    """An empty queue (the job_run table is emptied by ``sessions``)."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {QUEUE_TABLES} RESTART IDENTITY CASCADE"))
    yield engine


def recorded(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as s:
        return [(r.job, r.outcome) for r in s.scalars(select(JobRun).order_by(JobRun.id))]


def queued(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT task_name, status FROM procrastinate_jobs ORDER BY id"))
        return [(str(a), str(b)) for a, b in rows]


def test_the_conninfo_is_libpq_with_the_schema_of_the_url() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dt_1"
    assert conninfo(url) == "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dt_1"
    with pytest.raises(ValueError):
        conninfo("sqlite:///x.db")


def test_a_deferred_job_runs_in_a_worker_and_is_recorded_once(
    database_url: str, queue: Engine, sessions: sessionmaker[Session]
) -> None:
    app, tasks = make_app(database_url, queue, Settings(database_url=database_url), jobs=[BY_NAME["outbox"]])
    now = clock.now()
    with app.open():
        assert defer(tasks["outbox"], now) is True
        assert defer(tasks["outbox"], now) is False  # already waiting: the queueing lock
    assert queued(queue) == [("emhana.outbox", "todo")]
    app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False, listen_notify=False)
    # the worker's periodic deferrer may have queued this minute's run too, after the first had finished
    runs = recorded(sessions)
    assert runs and set(runs) == {("outbox", "succeeded")}
    assert {status for _, status in queued(queue)} == {"succeeded"} and len(queued(queue)) == len(runs)


def broken(ctx: Context) -> Done:
    raise RuntimeError("the register is read-only")


def test_a_failed_daily_job_is_recorded_and_queued_again_after_its_wait(
    database_url: str, queue: Engine, sessions: sessionmaker[Session]
) -> None:
    flaky = Job("flaky", "Flaky", broken, at=dt.time(0, 0), max_attempts=3, retry_first=dt.timedelta(minutes=5))
    app, tasks = make_app(database_url, queue, Settings(database_url=database_url), jobs=[flaky])
    with app.open():
        defer(tasks["flaky"], clock.now())
    app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False, listen_notify=False)
    assert recorded(sessions) == [("flaky", "failed")]
    with queue.connect() as conn:
        status, attempts, wait = conn.execute(
            text("SELECT status, attempts, scheduled_at - now() FROM procrastinate_jobs")
        ).one()
    assert (status, attempts) == ("todo", 1) and dt.timedelta(minutes=4) < wait <= dt.timedelta(minutes=5)


def test_a_starting_worker_queues_what_the_day_missed_and_a_done_day_is_not_run_again(
    database_url: str, queue: Engine, sessions: sessionmaker[Session]
) -> None:
    daily = [job for job in CATALOGUE if job.daily]
    with clock.use(clock.Fixed(dt.datetime.now(KZ).replace(hour=9, minute=0))):
        app, tasks = make_app(database_url, queue, Settings(database_url=database_url), jobs=daily)
        with app.open():
            missed = defer_missed(queue, tasks)
        assert missed == ["campaign_daily", "fhir_directory_versions", "chain_checkpoint", "medbook_reminders"]
        app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False, listen_notify=False)
        assert sorted(recorded(sessions)) == [
            ("campaign_daily", "succeeded"),
            ("chain_checkpoint", "skipped"),
            ("fhir_directory_versions", "succeeded"),
            ("medbook_reminders", "succeeded"),
        ]
        with app.open():
            assert defer_missed(queue, tasks) == []
            defer(tasks["campaign_daily"], clock.now())  # the periodic run of a day already done
        app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False, listen_notify=False)
        assert len(recorded(sessions)) == 4


def test_a_running_worker_defers_the_periodic_jobs_by_itself(
    database_url: str, queue: Engine, sessions: sessionmaker[Session]
) -> None:
    app, _ = make_app(database_url, queue, Settings(database_url=database_url), jobs=[BY_NAME["outbox"]])

    async def run_for_a_while() -> None:
        async with app.open_async():
            worker = asyncio.create_task(
                app.run_worker_async(queues=[QUEUE], install_signal_handlers=False, fetch_job_polling_interval=0.2)
            )
            for _ in range(100):
                await asyncio.sleep(0.1)
                if recorded(sessions):
                    break
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    asyncio.run(run_for_a_while())
    assert recorded(sessions)[0] == ("outbox", "succeeded")
