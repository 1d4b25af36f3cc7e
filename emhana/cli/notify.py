"""The ``emhana notify`` commands: deliver the outbox through the log and SMTP, show its state."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from emhana.kernel import clock

app = typer.Typer(help="Notifications of attachment decisions (the outbox).", no_args_is_help=True)

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")]


@app.command("deliver")
def deliver(
    database_url: DbUrl = None,
    smtp_host: Annotated[str | None, typer.Option("--smtp-host", help="Defaults to EMHANA_SMTP_HOST.")] = None,
    smtp_port: Annotated[int | None, typer.Option("--smtp-port", help="Defaults to EMHANA_SMTP_PORT.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Messages per batch.")] = 100,
    batches: Annotated[int, typer.Option(min=1, help="At most this many batches.")] = 100,
) -> None:
    """Send the due messages, committing after each batch; failures stay queued for a later run."""
    from emhana.attachment.notice.signer import default_signer
    from emhana.kernel.config import get_settings
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from emhana.notify.service import channels_from, deliver_pending

    settings = get_settings()
    channels = channels_from(settings, smtp_host=smtp_host, smtp_port=smtp_port)
    engine = make_engine(database_url or settings.database_url)
    sent = failed = skipped = 0
    try:
        factory = make_sessionmaker(engine)
        for _ in range(batches):
            with unit_of_work(factory) as session:
                report = deliver_pending(
                    session, channels=channels, now=clock.now(), limit=limit, signer=default_signer()
                )
            sent, failed, skipped = sent + report.sent, failed + report.failed, skipped + report.skipped
            if report.sent + report.failed < limit:
                break
    finally:
        engine.dispose()
    sys.stdout.write(
        f"notifications: {sent} sent, {failed} failed (queued for retry), "
        f"{skipped} waiting for a channel not configured here\n"
    )


@app.command("status")
def status(database_url: DbUrl = None) -> None:
    """Print the number of outbox rows per state."""
    from emhana.kernel.config import get_settings
    from emhana.kernel.db import make_engine, make_sessionmaker
    from emhana.notify.service import counts

    engine = make_engine(database_url or get_settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            found = counts(session)
    finally:
        engine.dispose()
    for state in ("pending", "failed", "dead", "sent"):
        sys.stdout.write(f"{state}: {found.get(state, 0)}\n")
