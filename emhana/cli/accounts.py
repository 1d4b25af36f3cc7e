"""``emhana accounts``: the server operator's account commands. On a fresh install ``emhana accounts create``
makes the first Fund administrator; from then on the Fund and organizations' administrators work on the pages
and in the API. A password is typed at a hidden prompt (twice) or read from standard input, never taken
from the command line, so it stays out of the shell's history and the process list. Every change is
audited like a change made on a page (by no account: the command line)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from emhana import models as tables  # noqa: F401  (every table registered; the audit of account changes too)
from emhana.accounts import admin
from emhana.accounts.roles import Role
from emhana.accounts.rules import MSG_UNKNOWN_BIN
from emhana.kernel.config import get_settings
from emhana.kernel.errors import RegistryError
from emhana.kernel.i18n import translate

app = typer.Typer(help="Accounts: the first Fund administrator, and operators' account work.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DbUrl = Annotated[str | None, typer.Option("--database-url", help="Defaults to EMHANA_DATABASE_URL.")]
EntityId = Annotated[int | None, typer.Option("--entity-id", help="The organization, by its number.")]
EntityBin = Annotated[str | None, typer.Option("--entity-bin", help="The organization, by its BIN.")]
RoleArg = Annotated[Role, typer.Option("--role", help="The role (fund_admin for the first administrator).")]


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


def _entity(session: Session, entity_id: int | None, entity_bin: str | None) -> int | None:
    if entity_bin:
        from emhana.facilities.service import get_entity_by_bin
        from emhana.kernel.errors import AccountInvalid, NotFound

        try:
            return get_entity_by_bin(session=session, bin_=entity_bin.strip()).id
        except NotFound:
            raise AccountInvalid(MSG_UNKNOWN_BIN) from None
    return entity_id


def _read_password(from_stdin: bool) -> str:
    """Read the new password from standard input (its first line) or a hidden prompt, typed twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="The username to sign in with.")],
    role: RoleArg,
    name: Annotated[str, typer.Option("--name", help="The full name shown on pages.")],
    entity_id: EntityId = None,
    entity_bin: EntityBin = None,
    person_id: Annotated[int | None, typer.Option("--person-id", help="A citizen's person.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    one_time: Annotated[
        bool, typer.Option("--one-time", help="Give a one-time password instead (printed once; changed at sign-in).")
    ] = False,
    database_url: DbUrl = None,
) -> None:
    """Create an account (on a fresh install: the first Fund administrator)."""
    password = None if one_time else _read_password(password_stdin)
    with _session(database_url) as session:
        new = admin.NewAccount(
            username=username,
            display_name=name,
            role=role,
            entity_id=_entity(session, entity_id, entity_bin),
            person_id=person_id,
        )
        issued = admin.create(session=session, actor=None, new=new, password=password)
        account_id = issued.account.id
    console.print(f"created account {account_id}: {username} ({role.value})", markup=False, highlight=False)
    if issued.one_time_password:
        console.print(f"one-time password (shown once): {issued.one_time_password}", markup=False, highlight=False)


@app.command("list")
def list_accounts(
    role: Annotated[Role | None, typer.Option("--role")] = None,
    entity_id: EntityId = None,
    q: Annotated[str, typer.Option("--find", help="Part of a username or name.")] = "",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
    database_url: DbUrl = None,
) -> None:
    """List accounts by username."""
    with _session(database_url) as session:
        total, rows = admin.listing(session=session, actor=None, q=q, role=role, entity_id=entity_id, limit=limit)
        table = Table(title=f"{total} accounts")
        for column in ("id", "username", "name", "role", "organization", "state"):
            table.add_column(column)
        for a in rows:
            state = "deactivated" if not a.active else "one-time password" if a.must_change_password else "active"
            entity = str(a.entity_id) if a.entity_id is not None else ""
            table.add_row(str(a.id), a.username, a.display_name, a.role, entity, state)
    console.print(table)


@app.command("deactivate")
def deactivate(username: str, database_url: DbUrl = None) -> None:
    """Deactivate an account: it can no longer sign in, and its tokens and sessions end at once."""
    with _session(database_url) as session:
        account = admin.by_username(session=session, username=username)
        admin.deactivate(session=session, actor=None, account=account)
    console.print(f"deactivated: {username}", markup=False, highlight=False)


@app.command("reset-password")
def reset_password(
    username: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Set the password read from stdin instead of a one-time one.")
    ] = False,
    database_url: DbUrl = None,
) -> None:
    """Reset a password to a one-time password (printed once; its holder chooses a new one at the next
    sign-in), or with --password-stdin to a password read from standard input. Sessions end either way."""
    with _session(database_url) as session:
        account = admin.by_username(session=session, username=username)
        if password_stdin:
            admin.set_password(session=session, account=account, password=_read_password(True))
            otp = None
        else:
            otp = admin.reset_password(session=session, actor=None, account=account).one_time_password
    console.print(f"password reset: {username}", markup=False, highlight=False)
    if otp:
        console.print(f"one-time password (shown once): {otp}", markup=False, highlight=False)


@app.command("set-role")
def set_role(
    username: str,
    role: Annotated[Role, typer.Argument(help="The new role.")],
    entity_id: EntityId = None,
    entity_bin: EntityBin = None,
    database_url: DbUrl = None,
) -> None:
    """Give an account another role, or move it to another organization; its sessions end."""
    with _session(database_url) as session:
        account = admin.by_username(session=session, username=username)
        target = _entity(session, entity_id, entity_bin)
        admin.set_role(session=session, actor=None, account=account, role=role, entity_id=target)
        state = admin.state_of(account)
    console.print(f"{username}: {state}", markup=False, highlight=False)
