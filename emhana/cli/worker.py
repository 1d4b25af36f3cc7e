"""The ``emhana worker`` command: run the scheduled jobs (emhana/jobs): outbox delivery, the campaign's daily
job, the chain checkpoints and the medical books' reminders.

On PostgreSQL it is a procrastinate worker on the queue in the database (run as many as you like); on SQLite,
or with ``--in-process``, a loop in this process. ``--once`` runs what is due now and exits (cron-friendly).
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Annotated

import typer

from emhana.kernel.config import get_settings

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")]


def worker(
    database_url: DbUrl = None,
    once: Annotated[bool, typer.Option("--once", help="Run the jobs due now, print their runs and exit.")] = False,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="Schedule in this process even on PostgreSQL (no queue).")
    ] = False,
    poll: Annotated[float, typer.Option(min=0.5, help="Seconds between looks at the schedule (in process).")] = 5.0,
) -> None:
    """Run the scheduled jobs until stopped (Ctrl+C): on PostgreSQL through its job queue, else in process."""
    from emhana.jobs.scheduler import Scheduler
    from emhana.kernel.db import is_postgres, make_engine

    if not once:  # a line per run and per queue event on standard error
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    url = database_url or settings.database_url
    engine = make_engine(url)
    try:
        if once:
            for record in Scheduler(engine, settings).tick():
                error = f" ({record.error})" if record.error else ""
                sys.stdout.write(f"{record.job}: {record.outcome.value}, {record.items} items{error}\n")
            return
        if is_postgres(engine) and not in_process:
            from emhana.jobs.queue import work

            sys.stdout.write("emhana worker: the job queue on PostgreSQL (procrastinate); Ctrl+C stops it\n")
            work(url, engine, settings)
            return
        sys.stdout.write("emhana worker: scheduling in this process; Ctrl+C stops it\n")
        stop = threading.Event()
        try:
            Scheduler(engine, settings).run_until(stop, poll)
        except KeyboardInterrupt:
            stop.set()
    finally:
        engine.dispose()
