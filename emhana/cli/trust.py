"""The ``emhana trust`` commands: create the scheme CA, rotate or revoke a facility's document signer, export
the published lists (for offline verifiers: `emhana verify --trust-list`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

app = typer.Typer(help="Seal keys (scheme CA, facility document signers) and the signed lists.", no_args_is_help=True)

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")]
T = TypeVar("T")


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    from emhana.kernel.config import get_settings
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(database_url or get_settings().database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()


def require_wrapping_secret() -> None:
    """Refuse to make or open seal keys outside demo mode without EMHANA_SECRET_KEY.

    Without the secret, keys would be wrapped with the public DEMO key (emhana/trust/keys/wrap.py), which protects
    nothing: a facility's seal key would be readable by anyone with the database.
    """
    from emhana.kernel.config import get_settings

    settings = get_settings()
    if not settings.secret_key and not settings.demo_mode:
        sys.stderr.write(
            "error: trust.secret_key_missing: EMHANA_SECRET_KEY is not set, so seal keys would be wrapped with the "
            "public demo key. Set it (generate one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(48))"), '
            "or run the demo with EMHANA_DEMO_MODE=1. Nothing was changed.\n"
        )
        raise typer.Exit(2)


def _run(database_url: str | None, work: Callable[[Session], T]) -> T:
    from emhana.kernel.errors import RegistryError

    require_wrapping_secret()
    try:
        with _session(database_url) as session:
            return work(session)
    except RegistryError as exc:
        sys.stderr.write(f"error: {exc.code}: {exc.english()}\n")
        raise typer.Exit(1) from None


@app.command("init")
def init(
    database_url: DbUrl = None,
    anchor: Annotated[Path | None, typer.Option("--anchor-out", help="Write the scheme CA certificate (PEM).")] = None,
) -> None:
    """Create the scheme CA (once) and publish the signed trust and revocation lists."""
    from emhana.kernel.config import get_settings
    from emhana.trust.scheme import publish, signers

    def work(session: Session) -> str:
        scheme = signers.ensure_scheme(session)
        publish.changed(session)
        if anchor is not None:
            anchor.write_bytes(publish.anchor_pem(session))
        return scheme.kid

    kid = _run(database_url, work)
    if not get_settings().secret_key:  # demo mode only: every other run was refused by require_wrapping_secret
        sys.stderr.write(
            "warning: EMHANA_SECRET_KEY is empty: keys are wrapped with the public DEMO key "
            "(emhana/trust/keys/wrap.py); set it before a real deployment\n"
        )
    sys.stdout.write(f"scheme CA kid {kid}; lists published at /trust/list and /trust/revocations\n")


@app.command("rotate")
def rotate(
    entity: Annotated[str, typer.Option("--entity", help="BIN of the facility.")], database_url: DbUrl = None
) -> None:
    """Issue a new document signer for a facility; the previous one is retired (it still verifies its seals)."""
    from emhana.trust.scheme import rotation, signers

    def work(session: Session) -> tuple[int, str]:
        row = rotation.rotate(session, signers.entity_by_bin(session, entity).id)
        return row.number, row.kid

    number, kid = _run(database_url, work)
    sys.stdout.write(f"facility {entity}: document signer no. {number}, kid {kid} is active\n")


@app.command("revoke-signer")
def revoke_signer(
    kid: Annotated[str, typer.Option("--kid", help="kid of the DSC, 16 hex digits.")], database_url: DbUrl = None
) -> None:
    """Revoke a document signer (key compromise): all its seals become UNKNOWN_ISSUER (§6.4)."""
    from emhana.trust.scheme import rotation

    try:
        raw = bytes.fromhex(kid)
    except ValueError:
        raw = b""
    if len(raw) != 8:
        sys.stderr.write("error: a kid is 16 hex digits\n")
        raise typer.Exit(2)
    count = _run(database_url, lambda session: len(rotation.revoke_dsc(session, raw)))
    sys.stdout.write(f"revoked {count} document signer(s) with kid {kid}\n")


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the lists and the anchor into.")],
    database_url: DbUrl = None,
) -> None:
    """Write trust-list.json, revocation-list.json and scheme-ca.pem as published now."""
    from emhana.trust.scheme import publish

    def work(session: Session) -> tuple[int, int]:
        out.mkdir(parents=True, exist_ok=True)
        trust, revoked = publish.current(session, publish.TRUST), publish.current(session, publish.REVOCATIONS)
        (out / "trust-list.json").write_text(trust.document, encoding="utf-8")
        (out / "revocation-list.json").write_text(revoked.document, encoding="utf-8")
        (out / "scheme-ca.pem").write_bytes(publish.anchor_pem(session))
        return trust.sequence, revoked.sequence

    trust_seq, revoked_seq = _run(database_url, work)
    sys.stdout.write(f"trust list no. {trust_seq}, revocation list no. {revoked_seq} written to {out}\n")
