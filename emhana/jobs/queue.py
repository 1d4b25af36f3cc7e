"""The jobs on PostgreSQL through procrastinate: the queue lives in the same database (migration 0024 applies
the library's own schema), no other service is needed.

Each job of the catalogue is a procrastinate task named ``emhana.<job>`` in the queue ``emhana`` with a periodic
schedule (``Job.cron``, in UTC), and a queueing lock, so a job waiting in the queue is never queued twice (a
busy worker does not pile up outbox runs). Any number of workers may run: procrastinate defers each periodic
run once and hands each job to one worker. A daily job is retried after a failure as the in-process scheduler
does (``Job.retry_after``, at most ``max_attempts`` a day); as a worker starts it queues the daily jobs the day
has missed (``defer_missed``), and a daily job that has already succeeded today does nothing.

Every run is recorded by ``runner.run`` like the in-process scheduler's.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from procrastinate import App, BaseRetryStrategy, PsycopgConnector, RetryDecision
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Job as QueuedJob
from procrastinate.tasks import Task
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from emhana.jobs import runner
from emhana.jobs.catalogue import CATALOGUE, Job, Outcome
from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.kernel.db import libpq_url, make_sessionmaker, normalize_url, unit_of_work

log = logging.getLogger(__name__)

QUEUE = "emhana"


def conninfo(database_url: str) -> str:
    """The libpq URL of a SQLAlchemy PostgreSQL URL (procrastinate connects with psycopg itself)."""
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() != "postgresql":
        raise ValueError("the job queue needs PostgreSQL")
    return libpq_url(url)


def task_name(job: Job) -> str:
    return f"emhana.{job.name}"


class DailyRetry(BaseRetryStrategy):
    """Retry a daily job as the in-process scheduler does: after ``Job.retry_after``, at most ``max_attempts``."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def get_retry_decision(self, *, exception: BaseException, job: QueuedJob) -> RetryDecision | None:
        attempts = job.attempts + 1  # the attempts made, this one included
        if attempts >= self.job.max_attempts:
            return None
        return RetryDecision(retry_in={"seconds": int(self.job.retry_after(attempts).total_seconds())})


def _done_today(engine: Engine, job: Job) -> bool:
    with unit_of_work(make_sessionmaker(engine), read_only=True) as session:
        runs = runner.runs_on(session, job.name, clock.today())
    return any(r.outcome in runner.DONE for r in runs)


def _register(app: App, job: Job, engine: Engine, settings: Settings) -> Task[Any, Any, Any]:
    def body(timestamp: int) -> None:  # noqa: ARG001  (a periodic task receives its scheduled time)
        """One run of the job; a failure is recorded and raised for the queue's retry."""
        if job.daily and _done_today(engine, job):
            log.info("job %s already done today", job.name)
            return
        record = runner.run(engine, job, settings=settings)
        if record.outcome is Outcome.FAILED:
            raise runner.JobFailed(record.error or job.name)

    body.__name__ = body.__qualname__ = f"run_{job.name}"
    task = app.task(
        name=task_name(job),
        queue=QUEUE,
        queueing_lock=task_name(job),
        retry=DailyRetry(job) if job.daily and job.max_attempts > 1 else False,
    )(body)
    app.periodic(cron=job.cron, periodic_id=job.name)(task)
    return task


def make_app(
    database_url: str, engine: Engine, settings: Settings, jobs: Sequence[Job] = CATALOGUE
) -> tuple[App, dict[str, Task[Any, Any, Any]]]:
    """The procrastinate app of the jobs (the catalogue's) on a PostgreSQL database, and its tasks by job name."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(database_url)))
    tasks = {job.name: _register(app, job, engine, settings) for job in jobs}
    return app, tasks


def defer(task: Task[Any, Any, Any], now: dt.datetime) -> bool:
    """Queue one run of a task now; False when one is already waiting in the queue."""
    try:
        task.defer(timestamp=int(now.timestamp()))
    except procrastinate_errors.AlreadyEnqueued:
        return False
    return True


def defer_missed(engine: Engine, tasks: dict[str, Task[Any, Any, Any]], jobs: Sequence[Job] = CATALOGUE) -> list[str]:
    """Queue the daily jobs whose time has come today without their run (the worker was down); return them."""
    now = clock.now()
    missed = []
    with unit_of_work(make_sessionmaker(engine), read_only=True) as session:
        for job in jobs:
            if job.daily and job.name in tasks and runner.daily_due(session, job, now):
                missed.append(job.name)
    return [name for name in missed if defer(tasks[name], now)]


def work(database_url: str, engine: Engine, settings: Settings, *, wait: bool = True) -> None:
    """Run a procrastinate worker on the jobs' queue: first queue what the day missed, then work until stopped
    (``wait``) or until the queue is empty."""
    app, tasks = make_app(database_url, engine, settings)
    with app.open():
        for name in defer_missed(engine, tasks):
            log.info("job %s missed today: queued", name)
    app.run_worker(queues=[QUEUE], wait=wait, concurrency=1, delete_jobs="successful", name="emhana-worker")
