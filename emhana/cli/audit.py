"""Commands of the audit domain: ``emhana audit verify|seal``, ``emhana backup`` and ``emhana restore``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from emhana.kernel.config import get_settings

app = typer.Typer(
    help="Tamper evidence: the hash chains over journals, attachment histories and the audit log.", no_args_is_help=True
)

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")]


def _url(url: str | None) -> str:
    return url or get_settings().database_url


@app.command("verify")
def verify_command(
    database_url: DbUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
) -> None:
    """Recompute every chain; name each changed, removed, inserted or reordered row; exit 0 only when clean."""
    from emhana.kernel.db import make_engine
    from emhana.trust.chain.verify import verify

    engine = make_engine(_url(database_url))
    try:
        with engine.connect() as conn:
            report = verify(conn)
    finally:
        engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        for finding in report.findings:
            sys.stdout.write(f"{finding}\n")
        sys.stdout.write(
            f"{'CLEAN' if report.clean else 'TAMPERED'}: {report.chains} chains, {report.links} links, "
            f"{report.records} records, {len(report.findings)} findings\n"
        )
    raise typer.Exit(0 if report.clean else 1)


@app.command("seal")
def seal_command(database_url: DbUrl = None) -> None:
    """Link every row not yet in a chain (after a bulk load such as `emhana generate`)."""
    from emhana.kernel.db import make_engine
    from emhana.trust.chain.links import seal_unlinked

    engine = make_engine(_url(database_url))
    try:
        with engine.begin() as conn:
            added = seal_unlinked(conn)
    finally:
        engine.dispose()
    sys.stdout.write(f"{added} links added\n")


def backup_command(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write.")], database_url: DbUrl = None
) -> None:
    """Back the database up: pg_dump of the configured schema, or the SQLite backup API."""
    from emhana.kernel.backup import BackupError, backup

    try:
        backup(_url(database_url), out)
    except BackupError as exc:
        sys.stderr.write(f"backup failed: {exc}\n")
        raise typer.Exit(1) from exc
    sys.stdout.write(f"backup written to {out}\n")


def restore_command(
    source: Annotated[Path, typer.Option("--from", help="A file written by `emhana backup`.")],
    database_url: DbUrl = None,
) -> None:
    """Restore a backup into an empty database (all or nothing); then run `emhana audit verify`."""
    from emhana.kernel.backup import BackupError, restore

    try:
        restore(_url(database_url), source)
    except BackupError as exc:
        sys.stderr.write(f"restore failed: {exc}\n")
        raise typer.Exit(1) from exc
    sys.stdout.write("restored\n")
