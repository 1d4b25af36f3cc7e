"""`emhana trust init | rotate | revoke-signer | export` on the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.cli.main import app
from emhana.facilities.models import Entity
from emhana.kernel.config import get_settings
from emhana.trust.keys.certs import load_certificate
from emhana.trust.lists.revocation import load_revocation_list
from emhana.trust.lists.trustlist import load_trust_list
from emhana.trust.models import DocumentSigner, SchemeAuthority

SECRET = "trust-cli-" + "Qm7vX2pL9sK4wR8tY1bH6cN3dF5gJ0zAeUiOoPaSdFgHjKlZxCvBnM"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The environment of a real deployment: EMHANA_SECRET_KEY set, demo mode off."""
    monkeypatch.setenv("EMHANA_SECRET_KEY", SECRET)
    monkeypatch.delenv("EMHANA_DEMO_MODE", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.usefixtures("secret")
def test_init_rotate_revoke_and_export(
    database_url: str, sessions: sessionmaker[Session], seeded_entity: int, tmp_path: Path
) -> None:
    runner = CliRunner()
    with sessions() as s:
        entity = s.get(Entity, seeded_entity)
        assert entity is not None
        bin_ = entity.bin
    init = runner.invoke(
        app, ["trust", "init", "--database-url", database_url, "--anchor-out", str(tmp_path / "anchor.pem")]
    )
    assert init.exit_code == 0, init.output
    assert "scheme CA kid" in init.output
    first = runner.invoke(app, ["trust", "rotate", "--entity", bin_, "--database-url", database_url])
    second = runner.invoke(app, ["trust", "rotate", "--entity", bin_, "--database-url", database_url])
    assert first.exit_code == 0 and second.exit_code == 0 and "no. 2" in second.output
    with sessions() as s:
        rows = {r.number: (r.status, r.kid) for r in s.scalars(select(DocumentSigner))}
    assert [rows[1][0], rows[2][0]] == ["retired", "active"]
    revoked = runner.invoke(app, ["trust", "revoke-signer", "--kid", rows[1][1], "--database-url", database_url])
    assert revoked.exit_code == 0 and "revoked 1" in revoked.output
    bad = runner.invoke(app, ["trust", "revoke-signer", "--kid", "zz", "--database-url", database_url])
    assert bad.exit_code == 2
    unknown = runner.invoke(app, ["trust", "rotate", "--entity", "000000000000", "--database-url", database_url])
    assert unknown.exit_code == 1 and "core.not_found" in unknown.output
    out = tmp_path / "lists"
    exported = runner.invoke(app, ["trust", "export", "--out", str(out), "--database-url", database_url])
    assert exported.exit_code == 0, exported.output
    anchor = load_certificate((out / "scheme-ca.pem").read_bytes())
    assert (tmp_path / "anchor.pem").read_bytes() == (out / "scheme-ca.pem").read_bytes()
    context = load_trust_list((out / "trust-list.json").read_bytes(), anchor)
    problems = sorted(e.problem or "ok" for v in context.signers.values() for e in v)
    assert problems == ["dsc_revoked", "ok"]
    load_revocation_list((out / "revocation-list.json").read_bytes(), anchor)
    with sessions() as s:
        assert {r.key_wrap for r in s.scalars(select(DocumentSigner))} == {"s1"}  # wrapped with the secret


def test_key_commands_refuse_the_demo_wrapping_outside_demo_mode(
    secret: pytest.MonkeyPatch, database_url: str, sessions: sessionmaker[Session], seeded_entity: int, tmp_path: Path
) -> None:
    secret.delenv("EMHANA_SECRET_KEY")
    get_settings.cache_clear()
    runner = CliRunner()
    with sessions() as s:
        entity = s.get(Entity, seeded_entity)
        assert entity is not None
        bin_ = entity.bin
    for args in (
        ["init"],
        ["rotate", "--entity", bin_],
        ["revoke-signer", "--kid", "00" * 8],
        ["export", "--out", str(tmp_path / "lists")],
    ):
        done = runner.invoke(app, ["trust", *args, "--database-url", database_url])
        assert done.exit_code == 2, (args, done.output)
        assert "EMHANA_SECRET_KEY is not set" in done.output and "token_urlsafe(48)" in done.output
    with sessions() as s:
        assert s.scalars(select(DocumentSigner)).all() == [] and s.scalars(select(SchemeAuthority)).all() == []
    assert not (tmp_path / "lists").exists()
    # The demo keeps its public wrapping key, and says so.
    secret.setenv("EMHANA_DEMO_MODE", "1")
    get_settings.cache_clear()
    done = runner.invoke(app, ["trust", "rotate", "--entity", bin_, "--database-url", database_url])
    assert done.exit_code == 0, done.output
    with sessions() as s:
        assert {r.key_wrap for r in s.scalars(select(DocumentSigner))} == {"demo"}
