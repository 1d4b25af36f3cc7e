"""What the Fund's page of jobs reads: each job's last run, its last failure and its failures of the last week,
the latest runs, and the outbox's backlog (waiting, failed and waiting for a retry, dead letters)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.jobs.catalogue import CATALOGUE, Job, Outcome
from emhana.jobs.models import JobRun
from emhana.jobs.runner import last_run
from emhana.notify.models import Notification
from emhana.notify.outbox import DeliveryState

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class JobStatus:
    """One job on the page."""

    job: Job
    last: JobRun | None
    last_failure: JobRun | None
    failures_week: int
    runs_week: int


@dataclass(frozen=True)
class Backlog:
    """The outbox's messages not sent: waiting for a first attempt, failed and waiting for a retry, dead
    letters (tried the most times and kept), and when the oldest of the waiting ones was written."""

    pending: int
    failed: int
    dead: int
    oldest_waiting: dt.datetime | None


def statuses(session: Session, *, now: dt.datetime) -> list[JobStatus]:
    """Every job of the catalogue with its last run, last failure and its runs and failures of the last week."""
    since = now - WEEK
    found = []
    for job in CATALOGUE:
        failure = session.scalar(
            select(JobRun)
            .where(JobRun.job == job.name, JobRun.outcome == Outcome.FAILED.value)
            .order_by(JobRun.started_at.desc(), JobRun.id.desc())
        )
        week = dict(
            session.execute(
                select(JobRun.outcome, func.count())
                .where(JobRun.job == job.name, JobRun.started_at >= since)
                .group_by(JobRun.outcome)
            ).all()
        )
        found.append(
            JobStatus(
                job=job,
                last=last_run(session, job.name),
                last_failure=failure,
                failures_week=int(week.get(Outcome.FAILED.value, 0)),
                runs_week=int(sum(week.values())),
            )
        )
    return found


def recent_runs(session: Session, *, limit: int = 20) -> list[JobRun]:
    """The latest runs of every job, newest first."""
    return list(session.scalars(select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)))


def backlog(session: Session) -> Backlog:
    """The outbox's messages that are not sent, by state."""
    waiting = (DeliveryState.PENDING.value, DeliveryState.FAILED.value, DeliveryState.DEAD.value)
    counts = dict(
        session.execute(
            select(Notification.state, func.count()).where(Notification.state.in_(waiting)).group_by(Notification.state)
        ).all()
    )
    oldest = session.scalar(
        select(func.min(Notification.created_at)).where(
            Notification.state.in_((DeliveryState.PENDING.value, DeliveryState.FAILED.value))
        )
    )
    return Backlog(
        pending=int(counts.get(DeliveryState.PENDING.value, 0)),
        failed=int(counts.get(DeliveryState.FAILED.value, 0)),
        dead=int(counts.get(DeliveryState.DEAD.value, 0)),
        oldest_waiting=oldest,
    )
