"""The ``emhana medbook`` commands: the daily reminder job before work clearances expire (C-21)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer

from emhana.kernel import clock
from emhana.medbook.remind import DEFAULT_DAYS

app = typer.Typer(help="Personal medical books.", no_args_is_help=True)

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")]


@app.command("remind")
def remind(
    days: Annotated[
        int, typer.Option("--days", min=1, max=365, help="Remind of clearances ending within this many days.")
    ] = DEFAULT_DAYS,
    today: Annotated[
        str | None, typer.Option(help="The day to run for (YYYY-MM-DD); defaults to today in Kazakhstan.")
    ] = None,
    database_url: DbUrl = None,
) -> None:
    """Queue reminders to owners and employers of clearances ending soon; run daily, it never queues twice."""
    from emhana.kernel.config import get_settings
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from emhana.medbook.remind import queue_reminders
    from emhana.medbook.service import local_day

    now = clock.now()
    try:
        day = dt.date.fromisoformat(today) if today else local_day(now)
    except ValueError:
        sys.stderr.write(f"not a date: {today}\n")
        raise typer.Exit(2) from None
    engine = make_engine(database_url or get_settings().database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            report = queue_reminders(session, today=day, within_days=days, now=now)
    finally:
        engine.dispose()
    sys.stdout.write(
        f"clearances ending by {day + dt.timedelta(days=days)}: {report.books}; reminders queued: "
        f"{report.queued}, already queued: {report.already}, of them to employer accounts without a "
        f"person: {report.to_accounts}\n"
    )
