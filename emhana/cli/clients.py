"""``emhana clients``: the server operator registers, lists and deactivates MIS client applications (issue 17),
as the Fund does on the pages and in the API. A client acts for one organization (``--entity-bin``), signs in with
a key of its JWK set (SMART Backend Services, ``--jwks file.json``) and is granted at most its ``--scope``s.
Every change is audited like a change made on a page (by no account: the command line)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from emhana import models as tables  # noqa: F401  (every table registered; the audit of account changes too)
from emhana.accounts import clients
from emhana.accounts.rules import MSG_UNKNOWN_BIN
from emhana.kernel.config import get_settings
from emhana.kernel.errors import RegistryError
from emhana.kernel.i18n import translate

app = typer.Typer(help="MIS client applications (SMART Backend Services).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")]
EntityBin = Annotated[str | None, typer.Option("--entity-bin", help="The organization, by its BIN.")]


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    """One unit of work on the configured database; a refusal is printed in English and exits 1."""
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(database_url or get_settings().database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            yield session
    except RegistryError as exc:
        err.print(translate("en", exc.template(), exc.params), markup=False, highlight=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _entity(session: Session, entity_bin: str) -> int:
    from emhana.facilities.service import get_entity_by_bin
    from emhana.kernel.errors import NotFound

    try:
        return get_entity_by_bin(session=session, bin_=entity_bin.strip()).id
    except NotFound:
        raise clients.ClientInvalid(MSG_UNKNOWN_BIN) from None


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        err.print(f"cannot read {path}: {exc.strerror}", markup=False, highlight=False)
        raise typer.Exit(1) from None


@app.command("add")
def add(
    entity_bin: Annotated[str, typer.Option("--entity-bin", help="The organization it acts for, by its BIN.")],
    name: Annotated[str, typer.Option("--name", help="The MIS's name.")],
    jwks: Annotated[Path | None, typer.Option("--jwks", help="A JSON file of its JWK set (public keys).")] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="A system scope it may be granted (repeat, or space-separated)."),
    ] = None,
    client_id: Annotated[str | None, typer.Option("--client-id", help="Its client id (default: random).")] = None,
    database_url: DbUrl = None,
) -> None:
    """Register a client application bound to one organization; print its client id."""
    keys = _read(jwks)
    with _session(database_url) as s:
        new = clients.NewClient(
            name=name, entity_id=_entity(s, entity_bin), jwks=keys, scopes=tuple(scope or ()), client_id=client_id
        )
        client = clients.register(session=s, actor=None, new=new)
        out = (client.client_id, client.scopes, clients.key_ids(client))
    console.print(f"client_id {out[0]}", markup=False, highlight=False)
    console.print(f"  scopes: {out[1] or '-'}; keys: {', '.join(out[2]) or '-'}", markup=False, highlight=False)


@app.command("list")
def list_clients(
    entity_bin: EntityBin = None,
    database_url: DbUrl = None,
) -> None:
    """List the client applications (of one organization with --entity-bin), one a line, client ids in full."""
    with _session(database_url) as s:
        entity_id = _entity(s, entity_bin) if entity_bin else None
        total, rows = clients.listing(session=s, actor=None, entity_id=entity_id, limit=1000)
        lines = [
            f"{c.client_id}  {'active' if c.active else 'deactivated'}  entity={c.entity_id}  {c.name}\n"
            f"    keys: {', '.join(clients.key_ids(c)) or '-'}; scopes: {c.scopes or '-'}"
            for c in rows
        ]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"{total} client application(s)", markup=False, highlight=False)


@app.command("keys")
def set_keys(
    client_id: Annotated[str, typer.Argument(help="The client id.")],
    jwks: Annotated[Path, typer.Option("--jwks", help="A JSON file of its new JWK set (public keys).")],
    database_url: DbUrl = None,
) -> None:
    """Replace a client application's JWK set."""
    keys = _read(jwks) or ""
    with _session(database_url) as s:
        client = clients.kept(session=s, actor=None, client_id=client_id)
        clients.set_keys(session=s, actor=None, client=client, jwks=keys)
        kids = clients.key_ids(client)
    console.print(f"{client_id}: keys {', '.join(kids)}", markup=False, highlight=False)


@app.command("scopes")
def set_scopes(
    client_id: Annotated[str, typer.Argument(help="The client id.")],
    scope: Annotated[list[str], typer.Option("--scope", help="A system scope (repeat, or space-separated).")],
    database_url: DbUrl = None,
) -> None:
    """Replace a client application's scopes; its live tokens end."""
    with _session(database_url) as s:
        client = clients.kept(session=s, actor=None, client_id=client_id)
        scopes = clients.set_scopes(session=s, actor=None, client=client, scopes=scope).scopes
    console.print(f"{client_id}: scopes {scopes}", markup=False, highlight=False)


@app.command("deactivate")
def deactivate(
    client_id: Annotated[str, typer.Argument(help="The client id.")],
    database_url: DbUrl = None,
) -> None:
    """Deactivate a client application: its tokens end at once."""
    with _session(database_url) as s:
        client = clients.kept(session=s, actor=None, client_id=client_id)
        clients.deactivate(session=s, actor=None, client=client)
    console.print(f"{client_id}: deactivated", markup=False, highlight=False)
