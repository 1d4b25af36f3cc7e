"""`emhana audit checkpoint-key | checkpoint | verify --checkpoint`: a tail cut since a checkpoint kept outside the
database is named, and so is a checkpoint that is not signed with the pinned key."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from emhana.cli.main import app
from emhana.trust.chain import checkpoint as cp
from tests.builders.chain import cut_tail
from tests.builders.medbook import World, journal

runner = CliRunner()


def _keys(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "checkpoint.pem"
    made = runner.invoke(app, ["audit", "checkpoint-key", "--out", str(key)])
    assert made.exit_code == 0, made.output
    return key, tmp_path / "checkpoint.pem.pub.pem"


def test_a_tail_cut_since_the_checkpoint_file_is_named(
    client: TestClient, world: World, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    book, _ = journal(client, world)
    key, public = _keys(tmp_path)
    kept = tmp_path / "kept.json"
    taken = runner.invoke(
        app, ["audit", "checkpoint", "--database-url", database_url, "--key", str(key), "--out", str(kept)]
    )
    assert taken.exit_code == 0 and "written to" in taken.output, taken.output
    db = ["--database-url", database_url]
    pin = ["--public-key", str(public)]
    clean = runner.invoke(app, ["audit", "verify", *db, *pin, "--checkpoint", str(kept)])
    assert clean.exit_code == 0 and clean.output.splitlines()[-1].startswith("CLEAN"), clean.output
    cut_tail(engine, "medbook", str(book), "medbook_entry", 2)
    blind = runner.invoke(app, ["audit", "verify", *db])
    assert blind.exit_code == 0  # the chains alone: a shorter chain is consistent
    found = runner.invoke(app, ["audit", "verify", *db, *pin, "--checkpoint", str(kept)])
    assert found.exit_code == 1 and found.output.splitlines()[-1].startswith("TAMPERED"), found.output
    assert f"behind_checkpoint: medbook_entry (medbook chain {book})" in found.output
    # the copy stored in the database names it as well, with the public key alone
    stored = runner.invoke(app, ["audit", "verify", *db, *pin])
    assert stored.exit_code == 1 and "behind_checkpoint" in stored.output, stored.output


def test_a_checkpoint_not_signed_with_the_pinned_key_is_named(
    client: TestClient, world: World, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    journal(client, world, 1)
    key, public = _keys(tmp_path)
    forged = tmp_path / "forged.json"
    cp.export(cp.take(engine, ec.generate_private_key(ec.SECP256R1())), forged)
    found = runner.invoke(
        app,
        ["audit", "verify", "--database-url", database_url, "--public-key", str(public), "--checkpoint", str(forged)],
    )
    assert found.exit_code == 1, found.output
    assert "checkpoint_signature: chain_checkpoint" in found.output and "forged.json" in found.output
    # the stored copy of the forged checkpoint fails the same way
    assert found.output.count("checkpoint_signature") == 2


def test_checkpoints_need_their_key(client: TestClient, world: World, database_url: str, tmp_path: Path) -> None:
    journal(client, world, 1)
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    no_key = runner.invoke(app, ["audit", "checkpoint", "--database-url", database_url])
    assert no_key.exit_code == 2 and "EMHANA_CHECKPOINT_KEY" in no_key.output
    no_pin = runner.invoke(app, ["audit", "verify", "--database-url", database_url, "--checkpoint", str(kept)])
    assert no_pin.exit_code == 2 and "--public-key" in no_pin.output
    key, _ = _keys(tmp_path)
    again = runner.invoke(app, ["audit", "checkpoint-key", "--out", str(key)])
    assert again.exit_code == 2 and "never overwritten" in again.output
