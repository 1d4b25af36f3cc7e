"""The ``emhana capitation`` commands: take and export a dated capitation snapshot (A-120, A-121)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from emhana.attachment.enums import DEFAULT_BANDS
from emhana.kernel import clock

app = typer.Typer(help="Capitation snapshots of the attached population (A-120, A-121).", no_args_is_help=True)


@app.command("snapshot")
def snapshot(
    date: Annotated[str, typer.Option("--date", help="The reference day, YYYY-MM-DD.")],
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.", dir_okay=False)],
    bands: Annotated[str, typer.Option(help="Age bands, contiguous from 0.")] = DEFAULT_BANDS,
    database_url: Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")] = None,
) -> None:
    """Take (or reuse) the immutable snapshot of a day and write its counts per entity, sex and age band as CSV."""
    from emhana.attachment.capitation import export_csv, take_snapshot
    from emhana.kernel.config import get_settings
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from emhana.kernel.errors import RegistryError

    try:
        as_of = dt.date.fromisoformat(date)
    except ValueError:
        raise typer.BadParameter("the date must be YYYY-MM-DD", param_hint="--date") from None
    engine = make_engine(database_url or get_settings().database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            snap = take_snapshot(session=session, actor=None, as_of=as_of, today=clock.today(), bands=bands)
            text = export_csv(session=session, snapshot=snap)
            total = snap.total
    except RegistryError as exc:
        sys.stderr.write(f"{exc.code}: {exc.english()}\n")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.write_text(text, encoding="utf-8")
    sys.stdout.write(f"capitation snapshot of {as_of}: {total} persons counted; written to {out}\n")
