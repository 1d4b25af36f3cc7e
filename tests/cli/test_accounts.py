"""``emhana accounts``: the operator makes the first Fund administrator and works on accounts from the server's
command line; a password comes from a hidden prompt or standard input, never from the arguments."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.cli.main import app
from tests.builders.accounts import BIN_A, account_events, first_sign_in, sign_in, two_orgs

PASSWORD = "operator-typed-password"


def run(database_url: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["accounts", *args, "--database-url", database_url], input=input)


def account_id(output: str) -> int:
    found = re.search(r"created account (\d+)", output)
    assert found, output
    return int(found.group(1))


def test_the_first_fund_administrator_from_a_hidden_prompt(
    database_url: str, sessions: sessionmaker[Session], client: TestClient
) -> None:
    made = run(
        database_url,
        "create",
        "aigul.fund",
        "--role",
        "fund_admin",
        "--name",
        "Айгүл",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert made.exit_code == 0, made.output
    assert PASSWORD not in made.output
    assert account_events(sessions, account_id(made.output)) == [
        ("account.created", None, "role=fund_admin entity=- active=yes")
    ]
    assert client.get("/api/v1/auth/me", headers=sign_in(client, "aigul.fund", PASSWORD)).json()["role"] == "fund_admin"


def test_a_password_from_standard_input_and_the_refusals(database_url: str, sessions: sessionmaker[Session]) -> None:
    ok = run(
        database_url,
        "create",
        "ops.fund",
        "--role",
        "fund_admin",
        "--name",
        "Ops",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    assert ok.exit_code == 0, ok.output
    weak = run(
        database_url, "create", "weak.fund", "--role", "fund_admin", "--name", "W", "--password-stdin", input="short\n"
    )
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output
    taken = run(
        database_url,
        "create",
        "ops.fund",
        "--role",
        "fund_admin",
        "--name",
        "O",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    assert taken.exit_code == 1 and "already taken" in taken.output
    unbound = run(database_url, "create", "mis.x", "--role", "mis_client", "--name", "MIS", "--one-time")
    assert unbound.exit_code == 1 and "name the organization" in unbound.output
    no_option = run(database_url, "create", "x.fund", "--role", "fund_admin", "--name", "X", "--password", PASSWORD)
    assert no_option.exit_code != 0  # there is no way to put a password on the command line
    listed = run(database_url, "list")
    assert "ops.fund" in listed.output and "weak.fund" not in listed.output


def test_operators_re_role_reset_and_deactivate(
    database_url: str, sessions: sessionmaker[Session], client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    fund, _ = make_actor(Role.FUND_ADMIN)
    orgs = two_orgs(sessions, fund)
    made = run(
        database_url, "create", "mis.a", "--role", "mis_client", "--name", "MIS A", "--entity-bin", BIN_A, "--one-time"
    )
    assert made.exit_code == 0, made.output
    otp = re.search(r"one-time password \(shown once\): (\S+)", made.output)
    assert otp, made.output
    auth = first_sign_in(client, "mis.a", otp.group(1))
    moved = run(database_url, "set-role", "mis.a", "mis_client", "--entity-id", str(orgs.b))
    assert moved.exit_code == 0 and f"entity={orgs.b}" in moved.output
    assert client.get("/api/v1/auth/me", headers=auth).status_code == 401  # its sessions ended
    reset = run(database_url, "reset-password", "mis.a")
    assert reset.exit_code == 0 and "one-time password" in reset.output
    gone = run(database_url, "deactivate", "mis.a")
    assert gone.exit_code == 0, gone.output
    unknown = run(database_url, "deactivate", "nobody")
    assert unknown.exit_code == 1
    assert [a for a, _, _ in account_events(sessions, account_id(made.output))] == [
        "account.created",
        "account.password_changed",
        "account.role_changed",
        "account.password_reset",
        "account.deactivated",
    ]
