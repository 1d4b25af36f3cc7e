"""The jobs that run themselves: what each calls and when.

* ``outbox``: deliver the due notifications (every minute). A message that fails is kept and retried with a
  growing wait, and is a dead letter after ``emhana.notify.outbox.MAX_ATTEMPTS`` failures (the row carries
  its attempts; the job itself succeeds when the outbox was worked through).
* ``campaign_daily``: the attachment campaign's daily job (00:30 in Kazakhstan): approved attachments come into
  effect on their day, the dead (A-92) and the uninsured (A-91) are detached (``attachment.placement.run_daily``).
* ``fhir_directory_versions``: record a new version of every FHIR directory resource (Organization, Location,
  Practitioner, PractitionerRole) whose served content changed with the day alone (a post or a participation
  that ended), so that ``_lastUpdated``, ``_history`` and ``$export`` see it (00:45; docs/fhir-versions.md).
* ``chain_checkpoint``: a signed checkpoint of every hash chain's head (01:00, after the campaign's job), with
  the deployment's key (``EMHANA_CHECKPOINT_KEY``); skipped, and recorded so, while no key is set.
* ``medbook_reminders``: reminders before work clearances end (08:00, C-21; ``medbook.remind``).
* ``fhir_bulk_export``: run the queued FHIR ``$export`` requests and delete the files that expired (every minute;
  ``fhir.bulk``, docs/bulk-export.md).

A daily job runs once a day in Kazakhstan, at its time or at the first chance after it (a worker started later
in the day runs what the day missed); a failed one is tried again after a growing wait, at most
``max_attempts`` times a day. Every run is recorded (``runner.py``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.kernel.db import make_sessionmaker, unit_of_work
from emhana.kernel.i18n import N_


class Outcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"  # nothing to do by configuration (the checkpoint without a key)
    FAILED = "failed"


@dataclass(frozen=True)
class Done:
    """What a job's run did: how many items, and whether it was skipped."""

    items: int
    skipped: bool = False


@dataclass
class Context:
    """What a job's body gets: the database, the settings and the instant its run started."""

    engine: Engine
    settings: Settings
    started: dt.datetime

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)


@dataclass(frozen=True)
class Job:
    """A job: its name (the record's and the queue's), its title on the Fund's page, what it calls, and either
    ``every`` (a frequent job) or ``at`` (a daily job, a time of day in Kazakhstan)."""

    name: str
    title: str
    body: Callable[[Context], Done] = field(repr=False)
    every: dt.timedelta | None = None
    at: dt.time | None = None
    max_attempts: int = 1  # a daily job's attempts in one day
    retry_first: dt.timedelta = dt.timedelta(minutes=5)  # then 10, 20, ... minutes

    def __post_init__(self) -> None:
        if (self.every is None) == (self.at is None):
            raise ValueError("a job runs either every interval or daily at a time")

    @property
    def daily(self) -> bool:
        return self.at is not None

    def retry_after(self, failures: int) -> dt.timedelta:
        """The wait before the next attempt of a daily job that failed ``failures`` times today."""
        factor: int = 2 ** max(failures - 1, 0)
        return self.retry_first * factor

    @property
    def cron(self) -> str:
        """The schedule as a cron line in UTC (the queue's periodic tasks)."""
        if self.at is not None:
            utc = dt.datetime.combine(dt.date(2026, 1, 1), self.at, clock.KZ_TIME).astimezone(dt.UTC)
            return f"{utc.minute} {utc.hour} * * *"
        assert self.every is not None
        minutes = max(int(self.every.total_seconds()) // 60, 1)
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"


# Messages per transaction and transactions per run. A message with an enclosed signed notice takes about a
# quarter of a second to render and sign; on SQLite a transaction holds the database's one write lock, so there
# the batches are small and a pause between them lets the web's requests in.
OUTBOX_BATCH, OUTBOX_BATCHES = 100, 50
SQLITE_BATCH, SQLITE_BATCHES, SQLITE_PAUSE = 5, 100, 0.2


def deliver_outbox(ctx: Context) -> Done:
    """Send the due messages in batches, each committed on its own; return how many were sent."""
    from emhana.attachment.notice.signer import default_signer
    from emhana.notify.service import channels_from, deliver_pending

    sqlite = ctx.engine.dialect.name == "sqlite"
    size, batches = (SQLITE_BATCH, SQLITE_BATCHES) if sqlite else (OUTBOX_BATCH, OUTBOX_BATCHES)
    channels = channels_from(ctx.settings)
    sent = 0
    for batch in range(batches):
        if sqlite and batch:
            time.sleep(SQLITE_PAUSE)
        with unit_of_work(ctx.sessions) as session:
            report = deliver_pending(session, channels=channels, now=clock.now(), limit=size, signer=default_signer())
        sent += report.sent
        if report.sent + report.failed < size:
            break
    return Done(sent)


def campaign_daily(ctx: Context) -> Done:
    """Run the campaign's daily job for today; return the applications put in effect and the people detached."""
    from emhana.attachment import placement

    with unit_of_work(ctx.sessions) as session:
        in_effect, dead, uninsured = placement.run_daily(session=session, actor=None, day=clock.today())
    return Done(in_effect + dead + uninsured)


def chain_checkpoint(ctx: Context) -> Done:
    """Take a signed checkpoint of the chains' heads; skipped while the deployment has no checkpoint key."""
    from emhana.trust.chain import checkpoint

    taken = checkpoint.scheduled(ctx.engine, ctx.settings.checkpoint_key)
    return Done(0, skipped=True) if taken is None else Done(1)


def medbook_reminders(ctx: Context) -> Done:
    """Queue the reminders of clearances that end within the default window; return how many were queued."""
    from emhana.medbook.remind import DEFAULT_DAYS, queue_reminders

    with unit_of_work(ctx.sessions) as session:
        report = queue_reminders(session, today=clock.today(), within_days=DEFAULT_DAYS, now=clock.now())
    return Done(report.queued)


def fhir_directory_versions(ctx: Context) -> Done:
    """Record the directory resources whose served content changed; return how many versions were recorded."""
    from emhana.fhir.versions import refresh_all

    with unit_of_work(ctx.sessions) as session:
        return Done(refresh_all(session=session, day=clock.today(), now=clock.now()))


def fhir_bulk_export(ctx: Context) -> Done:
    """Run the queued FHIR bulk exports, oldest first, and purge the expired files; return the resources exported."""
    from emhana.fhir.bulk import run_due

    sqlite = ctx.engine.dialect.name == "sqlite"
    return Done(run_due(ctx.engine, pause=SQLITE_PAUSE if sqlite else 0.0))


# In this order within a tick, so that what the daily jobs queue goes out in the same tick.
CATALOGUE: tuple[Job, ...] = (
    Job(
        "campaign_daily",
        N_("Daily job of the attachment campaign"),
        campaign_daily,
        at=dt.time(0, 30),
        max_attempts=4,
    ),
    Job(
        "fhir_directory_versions",
        N_("Versions of the FHIR directory"),
        fhir_directory_versions,
        at=dt.time(0, 45),
        max_attempts=4,
    ),
    Job("chain_checkpoint", N_("Checkpoint of the hash chains"), chain_checkpoint, at=dt.time(1, 0), max_attempts=4),
    Job(
        "medbook_reminders",
        N_("Reminders before clearances for work end"),
        medbook_reminders,
        at=dt.time(8, 0),
        max_attempts=4,
    ),
    Job("outbox", N_("Delivery of notifications"), deliver_outbox, every=dt.timedelta(minutes=1)),
    Job("fhir_bulk_export", N_("FHIR bulk data exports"), fhir_bulk_export, every=dt.timedelta(minutes=1)),
)
BY_NAME = {job.name: job for job in CATALOGUE}
