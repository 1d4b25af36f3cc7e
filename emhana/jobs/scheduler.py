"""The scheduler in the process: a loop that runs the due jobs of the catalogue by the kernel clock.

It is how ``emhana worker`` runs on SQLite (and with ``--in-process`` anywhere), and what ``emhana demo`` runs in
a thread beside the server. Whether a job is due is read from the recorded runs, so a restarted worker knows
what ran and what was missed:

* a frequent job is due when its interval has passed since its last run, by the kernel clock, or by the
  machine's monotonic clock since this scheduler last ran it (a demo's clock may stand still; messages must
  still go out every minute);
* a daily job as ``runner.daily_due`` says: once a day in Kazakhstan, from its time on, retried after a failure.

One job at a time; a failing job is recorded as failed and the others run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from emhana.jobs import runner
from emhana.jobs.catalogue import CATALOGUE, Job
from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.kernel.db import make_sessionmaker, unit_of_work

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0


class Scheduler:
    """Runs the due jobs of a catalogue against a database, one ``tick`` at a time."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        jobs: Sequence[Job] = CATALOGUE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine, self.settings, self.jobs, self.monotonic = engine, settings, tuple(jobs), monotonic
        self._sessions = make_sessionmaker(engine)
        self._ran_at: dict[str, float] = {}  # monotonic time of this scheduler's last run of each job

    def due(self, job: Job) -> bool:
        """Whether a job is due now (see the module's docstring)."""
        now = clock.now()
        with unit_of_work(self._sessions, read_only=True) as session:
            if job.daily:
                return runner.daily_due(session, job, now)
            last = runner.last_run(session, job.name)
        assert job.every is not None
        if last is None or now - runner.aware(last.started_at) >= job.every:
            return True
        ran_at = self._ran_at.get(job.name)
        return ran_at is not None and self.monotonic() - ran_at >= job.every.total_seconds()

    def tick(self) -> list[runner.RunRecord]:
        """Run every due job once, in the catalogue's order; return the records of the runs."""
        records = []
        for job in self.jobs:
            try:
                if not self.due(job):
                    continue
                records.append(runner.run(self.engine, job, settings=self.settings))
            # The database itself may fail (locked, gone): log it and go on with the next job and tick.
            except Exception:
                log.exception("job %s could not be run", job.name)
            self._ran_at[job.name] = self.monotonic()
        return records

    def run_until(self, stop: threading.Event, poll: float = POLL_SECONDS) -> None:
        """Tick every ``poll`` seconds until ``stop`` is set."""
        while not stop.is_set():
            self.tick()
            stop.wait(poll)


@dataclass
class Background:
    """A scheduler running in a thread of the process; ``stop`` ends it after the job it is running."""

    thread: threading.Thread
    event: threading.Event

    def stop(self, timeout: float = 30.0) -> None:
        self.event.set()
        self.thread.join(timeout)


def start_background(scheduler: Scheduler, poll: float = POLL_SECONDS) -> Background:
    """Start a scheduler in a daemon thread (the demo runs it beside the server)."""
    event = threading.Event()
    thread = threading.Thread(target=scheduler.run_until, args=(event, poll), name="emhana-jobs", daemon=True)
    thread.start()
    return Background(thread, event)
