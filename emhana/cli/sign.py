"""`emhana sign`: demo signing with a PKCS#12 file of `emhana pki demo` (NCALayer's part, demo only)."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Annotated

import typer

from emhana.kernel.errors import RegistryError

app = typer.Typer(
    help="Record signatures: demo signing with a PKCS#12 file (demo only, not NCA RK).", no_args_is_help=True
)

P12 = Annotated[Path, typer.Option("--p12", exists=True, dir_okay=False, help="PKCS#12 file of the signer.")]
PASSWORD = Annotated[str, typer.Option(help="Its password.")]


@app.command("cms")
def cms_command(
    p12: P12,
    password: PASSWORD = "demo-pki",
    source: Annotated[
        Path | None,
        typer.Option("--in", dir_okay=False, exists=True, help="File of the bytes to sign (default stdin)."),
    ] = None,
) -> None:
    """Print the base64 detached CMS of the bytes to sign, as NCALayer would return it."""
    from emhana.trust.keys.certs import load_pkcs12
    from emhana.trust.signatures.cms import sign_detached

    try:
        key, cert, chain = load_pkcs12(p12.read_bytes(), password)
    except RegistryError as exc:
        sys.stderr.write(f"error {exc.code}: {exc.english()}\n")
        raise typer.Exit(2) from None
    data = source.read_bytes() if source else sys.stdin.buffer.read()
    typer.echo(base64.b64encode(sign_detached(data, key, cert, chain)).decode("ascii"))


@app.command("demo")
def demo_command(
    p12: P12,
    kind: Annotated[str, typer.Option(help="medbook_entry or attachment_notice.")],
    record_id: Annotated[int, typer.Option("--id", help="The record's id.")],
    trust_dir: Annotated[
        Path, typer.Option("--trust-dir", exists=True, file_okay=False, help="Folder written by `emhana pki demo`.")
    ],
    password: PASSWORD = "demo-pki",
    username: Annotated[str | None, typer.Option(help="Acting account (default: the entry's author).")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")] = None,
) -> None:
    """Sign a record in the database with a PKCS#12 key and store the verified signature."""
    from sqlalchemy import select

    from emhana.accounts.models import Account
    from emhana.accounts.service import actor_of
    from emhana.kernel.config import get_settings
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from emhana.medbook.models import JournalEntry
    from emhana.trust.signatures.records import RecordKind
    from emhana.trust.signatures.service import sign_record
    from emhana.trust.signatures.truststore import from_demo_folder

    try:
        record_kind = RecordKind(kind)
    except ValueError:
        raise typer.BadParameter("medbook_entry or attachment_notice", param_hint="--kind") from None
    engine = make_engine(database_url or get_settings().database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            if username is not None:
                account = session.scalar(select(Account).where(Account.username == username))
            else:
                entry = session.get(JournalEntry, record_id) if record_kind is RecordKind.MEDBOOK_ENTRY else None
                account = session.get(Account, entry.author_account_id) if entry and entry.author_account_id else None
            if account is None:
                raise typer.BadParameter("no such account (give --username)", param_hint="--username")
            row = sign_record(
                session,
                record_kind,
                record_id,
                pkcs12=p12.read_bytes(),
                password=password,
                actor=actor_of(account),
                trust=from_demo_folder(trust_dir),
            )
            typer.echo(
                f"signed {row.record_kind} {row.record_id} sha256={row.canonical_sha256} "
                f"at={row.signed_at.isoformat()} verifier={row.verifier}"
            )
    except RegistryError as exc:
        sys.stderr.write(f"error {exc.code}: {exc.english()}\n")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
