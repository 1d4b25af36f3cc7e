"""`emhana trust init | rotate | revoke-signer | export` on the test database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.cli.main import app
from emhana.facilities.models import Entity
from emhana.trust.keys.certs import load_certificate
from emhana.trust.lists.revocation import load_revocation_list
from emhana.trust.lists.trustlist import load_trust_list
from emhana.trust.models import DocumentSigner


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
