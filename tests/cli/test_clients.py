"""``emhana clients``: the server operator registers a client application for an organization named by its BIN,
with its JWK set from a file and its scopes, lists it, replaces its keys and scopes, and deactivates it; every
change is audited by no account (the command line); a refusal is printed and exits 1, writing nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from emhana.accounts.models import ClientApp
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.cli.main import app
from tests.builders.accounts import BIN_A, account_events, two_orgs
from tests.builders.clients import ec_key


def run(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["clients", *args, "--database-url", database_url])


def test_the_operator_adds_lists_rotates_and_deactivates_a_client(
    database_url: str,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    tmp_path: Path,
) -> None:
    orgs = two_orgs(sessions, make_actor(Role.FUND_ADMIN)[0])
    jwks = tmp_path / "jwks.json"
    jwks.write_text(ec_key("vendor-1").jwks(), encoding="utf-8")
    made = run(
        database_url,
        "add",
        "--entity-bin",
        BIN_A,
        "--name",
        "Damu MIS",
        "--jwks",
        str(jwks),
        "--scope",
        "system/Observation.c system/Patient.rs",
        "--scope",
        "system/Organization.rs",
    )
    assert made.exit_code == 0, made.output
    found = re.search(r"client_id ([0-9a-f]{32})", made.output)
    assert found, made.output
    client_id = found.group(1)
    with sessions() as s:
        row = s.scalar(select(ClientApp).where(ClientApp.client_id == client_id))
        assert row is not None and row.entity_id == orgs.a
        assert row.scopes == "system/Observation.c system/Organization.rs system/Patient.rs"
        account_id = row.account_id
    listed = run(database_url, "list", "--entity-bin", BIN_A)
    assert listed.exit_code == 0 and client_id in listed.output and "vendor-1" in listed.output, listed.output
    jwks.write_text(ec_key("vendor-2").jwks(), encoding="utf-8")
    assert run(database_url, "keys", client_id, "--jwks", str(jwks)).exit_code == 0
    assert run(database_url, "scopes", client_id, "--scope", "system/*.rs").exit_code == 0
    off = run(database_url, "deactivate", client_id)
    assert off.exit_code == 0 and "deactivated" in off.output
    with sessions() as s:
        row = s.scalar(select(ClientApp).where(ClientApp.client_id == client_id))
        assert row is not None and not row.active and row.scopes == "system/*.rs"
        assert [k["kid"] for k in json.loads(row.jwks)["keys"]] == ["vendor-2"]
    assert [(a, who) for a, who, _ in account_events(sessions, account_id)] == [
        ("client.registered", None),
        ("client.keys_set", None),
        ("client.scopes_set", None),
        ("client.deactivated", None),
    ]


def test_a_refusal_is_printed_and_writes_nothing(
    database_url: str, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]], tmp_path: Path
) -> None:
    two_orgs(sessions, make_actor(Role.FUND_ADMIN)[0])
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [ec_key("k").private_jwk()]}), encoding="utf-8")
    refused = run(database_url, "add", "--entity-bin", BIN_A, "--name", "X", "--jwks", str(private))
    assert refused.exit_code == 1 and "private key" in refused.output, refused.output
    unknown = run(database_url, "add", "--entity-bin", "000000000000", "--name", "X")
    assert unknown.exit_code == 1 and "BIN" in unknown.output, unknown.output
    bad_scope = run(database_url, "add", "--entity-bin", BIN_A, "--name", "X", "--scope", "patient/*.rs")
    assert bad_scope.exit_code == 1 and "patient/*.rs" in bad_scope.output, bad_scope.output
    with sessions() as s:
        assert s.scalar(select(ClientApp.id)) is None
