"""Running one job and recording the run: a ``job_run`` row is written (and committed) as the run starts, and
finished with its outcome, the items done and the error text when it failed.

A job's failure is caught and recorded here, never raised to the scheduler, so one failing job does not stop
the others (the queue, which retries on an exception, raises ``JobFailed`` itself after the record is
written). The job's own work is one or more units of work of its own: a failure rolls back what it was doing,
and the record of the failure is written in a transaction of its own.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from emhana.jobs.catalogue import Context, Job, Outcome
from emhana.jobs.models import JobRun
from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.kernel.db import make_sessionmaker, unit_of_work

log = logging.getLogger(__name__)

MAX_ERROR = 2000
KEEP = dt.timedelta(days=90)  # runs older than this are pruned as new ones are recorded
DONE = (Outcome.SUCCEEDED.value, Outcome.SKIPPED.value)


class JobFailed(RuntimeError):
    """A job's run failed (already recorded); raised for the queue, which retries on an exception."""


@dataclass(frozen=True)
class RunRecord:
    """The record of a run, as written."""

    id: int
    job: str
    started_at: dt.datetime
    finished_at: dt.datetime
    outcome: Outcome
    items: int
    error: str | None


def aware(moment: dt.datetime) -> dt.datetime:
    """An instant read back from the database as aware UTC (SQLite returns the stored UTC time naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def run(engine: Engine, job: Job, *, settings: Settings) -> RunRecord:
    """Run a job now and record the run; a failure is recorded, logged and returned, never raised."""
    sessions = make_sessionmaker(engine)
    started = clock.now()
    with unit_of_work(sessions) as session:
        row = JobRun(
            job=job.name,
            day=clock.kz_date(started),
            started_at=started,
            outcome=Outcome.RUNNING.value,
            items=0,
        )
        session.add(row)
        session.flush()
        run_id = row.id
    items, error, outcome = 0, None, Outcome.SUCCEEDED
    try:
        done = job.body(Context(engine=engine, settings=settings, started=started))
    # Any failure of a job is recorded on its run and logged; the scheduler goes on with the other jobs.
    except Exception as exc:
        log.exception("job %s failed", job.name)
        outcome, error = Outcome.FAILED, f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    else:
        items, outcome = done.items, Outcome.SKIPPED if done.skipped else Outcome.SUCCEEDED
    finished = clock.now()
    with unit_of_work(sessions) as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(finished_at=finished, outcome=outcome.value, items=items, error=error)
        )
        session.execute(delete(JobRun).where(JobRun.job == job.name, JobRun.started_at < started - KEEP))
    log.info("job %s %s: %s items", job.name, outcome.value, items)
    return RunRecord(run_id, job.name, started, finished, outcome, items, error)


def last_run(session: Session, job: str) -> JobRun | None:
    """The latest run of a job, or None."""
    return session.scalar(select(JobRun).where(JobRun.job == job).order_by(JobRun.started_at.desc(), JobRun.id.desc()))


def runs_on(session: Session, job: str, day: dt.date) -> list[JobRun]:
    """A job's runs for a day in Kazakhstan, oldest first."""
    return list(session.scalars(select(JobRun).where(JobRun.job == job, JobRun.day == day).order_by(JobRun.started_at)))


def daily_due(session: Session, job: Job, now: dt.datetime) -> bool:
    """Whether a daily job is due at an instant: its time of day has come in Kazakhstan, it has not succeeded
    (or been skipped) today, and it has failed fewer than ``max_attempts`` times today, the last of them longer
    ago than its retry wait."""
    assert job.at is not None
    local = now.astimezone(clock.KZ_TIME)
    if local.time() < job.at:
        return False
    runs = runs_on(session, job.name, local.date())
    if any(r.outcome in DONE for r in runs):
        return False
    failed = [r for r in runs if r.outcome == Outcome.FAILED.value]
    if len(failed) >= job.max_attempts:
        return False
    return not failed or now >= aware(failed[-1].started_at) + job.retry_after(len(failed))
