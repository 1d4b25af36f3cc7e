"""Commands of the audit domain: ``emhana audit verify|seal|checkpoint|checkpoint-key``, ``emhana backup`` and
``emhana restore``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emhana.kernel.config import get_settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec
    from sqlalchemy import Connection

    from emhana.trust.chain.checkpoint import Checkpoint
    from emhana.trust.chain.verify import CheckpointFault

app = typer.Typer(
    help="Tamper evidence: the hash chains over journals, histories, ownership and decisions, and the audit log.",
    no_args_is_help=True,
)

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")]


def _url(url: str | None) -> str:
    return url or get_settings().database_url


def _public_key(path: Path | None) -> ec.EllipticCurvePublicKey | None:
    """The pinned key of the checkpoints: the given file, else the public half of EMHANA_CHECKPOINT_KEY."""
    from emhana.trust.chain.checkpoint import load_public

    given = path or (Path(get_settings().checkpoint_key) if get_settings().checkpoint_key else None)
    return load_public(given) if given else None


def _checkpoints(
    conn: Connection, key: ec.EllipticCurvePublicKey | None, files: list[Path]
) -> list[Checkpoint | CheckpointFault]:
    """Every stored checkpoint's signature and the newest good one; each file given."""
    from emhana.trust.chain.checkpoint import read, stored
    from emhana.trust.chain.verify import CheckpointFault

    if key is None:
        return []
    found: list[Checkpoint | CheckpointFault] = []
    newest: Checkpoint | None = None
    for checkpoint_id, document in stored(conn):
        try:
            newest = read(document, key, checkpoint_id)
        except ValueError as exc:
            found.append(CheckpointFault(checkpoint_id, f"stored checkpoint {checkpoint_id}", str(exc)))
    if newest is not None:
        found.append(newest)
    for file in files:
        try:
            found.append(read(file.read_bytes(), key))
        except ValueError as exc:
            found.append(CheckpointFault(None, file.name, str(exc)))
    return found


@app.command("verify")
def verify_command(
    database_url: DbUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="A checkpoint file kept outside the database (repeatable).", exists=True),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key", help="PEM public key of the checkpoints; else EMHANA_CHECKPOINT_KEY's.", exists=True
        ),
    ] = None,
) -> None:
    """Recompute every chain; name each changed, removed, inserted or reordered row, and any tail cut since a
    checkpoint (the given files, and the newest one stored); exit 0 only when clean."""
    from emhana.kernel.db import make_engine, reader
    from emhana.trust.chain.verify import verify

    files = checkpoint or []
    key = _public_key(public_key)
    if files and key is None:
        sys.stderr.write(
            "a checkpoint is checked with its public key: give --public-key or set EMHANA_CHECKPOINT_KEY\n"
        )
        raise typer.Exit(2)
    engine = make_engine(_url(database_url))
    try:
        with reader(engine).connect() as conn:  # one snapshot, and no write lock held while it reads
            report = verify(conn, checkpoints=_checkpoints(conn, key, files))
    finally:
        engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        for finding in report.findings:
            sys.stdout.write(f"{finding}\n")
        pinned = f", {report.checkpoints} checkpoints" if report.checkpoints else ""
        sys.stdout.write(
            f"{'CLEAN' if report.clean else 'TAMPERED'}: {report.chains} chains, {report.links} links, "
            f"{report.records} records{pinned}, {len(report.findings)} findings\n"
        )
    raise typer.Exit(0 if report.clean else 1)


@app.command("seal")
def seal_command(database_url: DbUrl = None) -> None:
    """Link every row that has no link yet (rows loaded by hand, outside the application and the generator)."""
    from emhana.kernel.db import make_engine
    from emhana.trust.chain.links import seal_unlinked

    engine = make_engine(_url(database_url))
    try:
        with engine.begin() as conn:
            added = seal_unlinked(conn)
    finally:
        engine.dispose()
    sys.stdout.write(f"{added} links added\n")


@app.command("checkpoint")
def checkpoint_command(
    database_url: DbUrl = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write it to this file, to keep outside.")] = None,
    key: Annotated[
        Path | None, typer.Option("--key", help="PEM private key that signs it; else EMHANA_CHECKPOINT_KEY.")
    ] = None,
) -> None:
    """Sign and store a checkpoint of every chain head (and write it to a file kept outside the database)."""
    from emhana.kernel.db import make_engine
    from emhana.trust.chain.checkpoint import export, load_private, take

    path = key or (Path(get_settings().checkpoint_key) if get_settings().checkpoint_key else None)
    if path is None:
        sys.stderr.write("no signing key: give --key or set EMHANA_CHECKPOINT_KEY (`emhana audit checkpoint-key`)\n")
        raise typer.Exit(2)
    engine = make_engine(_url(database_url))
    try:
        checkpoint = take(engine, load_private(path))
    finally:
        engine.dispose()
    if out is not None:
        export(checkpoint, out)
    kinds = checkpoint.content["kinds"]
    sys.stdout.write(
        f"checkpoint {checkpoint.id}: {sum(k['chains'] for k in kinds.values())} chains, "
        f"{sum(k['links'] for k in kinds.values())} links up to link {checkpoint.boundary}"
        f"{f', written to {out}' if out else ''}\n"
    )


@app.command("checkpoint-key")
def checkpoint_key_command(
    out: Annotated[Path, typer.Option("--out", help="The private key file to create (and <out>.pub.pem).")],
) -> None:
    """Make the P-256 key that signs checkpoints (keep it outside the database; EMHANA_CHECKPOINT_KEY)."""
    from emhana.trust.chain.checkpoint import new_key

    if out.exists():
        sys.stderr.write(f"{out} exists: a key is never overwritten\n")
        raise typer.Exit(2)
    public = new_key(out)
    sys.stdout.write(f"private key written to {out} (owner only), public key to {public}\n")


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
