"""emhana backup / restore: a backup restored into an empty database passes emhana audit verify; the
commands refuse a non-empty target; verify names tampering and never prints an IIN."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from emhana.cli.main import app
from emhana.kernel.backup import pg_target
from emhana.testing.databases import postgres_test_url, schema_url
from tests.builders.chain import rows, tamper
from tests.builders.medbook import World, journal

runner = CliRunner()


@contextmanager
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database to restore into: a new SQLite file, or a new PostgreSQL database (same schema name)."""
    base = postgres_test_url()
    if base is None:
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        schema = pg_target(make_url(database_url)).schema
        assert schema is not None
        yield schema_url(make_url(base).set(database=name).render_as_string(hide_password=False), schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_backup_restores_into_an_empty_database_that_passes_verify(
    client: TestClient, world: World, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    journal(client, world)
    counts = {
        t: rows(engine, f"SELECT count(*) FROM {t}")[0][0]
        for t in ("medbook_entry", "attachment", "audit_event", "chain_link")
    }
    out = tmp_path / "emhana.backup"
    done = runner.invoke(app, ["backup", "--out", str(out), "--database-url", database_url])
    assert done.exit_code == 0, done.output
    assert out.stat().st_size > 0
    with empty_database(database_url, tmp_path) as target:
        done = runner.invoke(app, ["restore", "--from", str(out), "--database-url", target])
        assert done.exit_code == 0, done.output
        verified = runner.invoke(app, ["audit", "verify", "--json", "--database-url", target])
        assert verified.exit_code == 0, verified.output
        report = json.loads(verified.output)
        assert report["clean"] and report["links"] == counts["chain_link"]
        restored = create_engine(target)
        with restored.connect() as conn:
            assert {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in counts} == counts
            guard = conn.execute(text("SELECT count(*) FROM audit_event")).scalar()
        restored.dispose()
        assert guard == counts["audit_event"]
        again = runner.invoke(app, ["restore", "--from", str(out), "--database-url", target])
        assert again.exit_code == 1 and "not empty" in again.output


def test_restore_refuses_a_file_that_is_not_a_backup(database_url: str, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.backup"
    bogus.write_bytes(b"not a backup at all")
    with empty_database(database_url, tmp_path) as target:
        done = runner.invoke(app, ["restore", "--from", str(bogus), "--database-url", target])
    assert done.exit_code == 1 and "restore failed" in done.output


def test_verify_exits_one_and_names_the_row_without_any_iin(
    client: TestClient, world: World, database_url: str, engine: Engine
) -> None:
    book, entries = journal(client, world)
    clean = runner.invoke(app, ["audit", "verify", "--database-url", database_url])
    assert clean.exit_code == 0 and clean.output.splitlines()[-1].startswith("CLEAN")
    tamper(engine, "UPDATE medbook_entry SET result = 'pathology' WHERE id = :id", id=entries[0])
    tamper(engine, "UPDATE audit_event SET purpose = 'hidden' WHERE id = (SELECT min(id) FROM audit_event)")
    done = runner.invoke(app, ["audit", "verify", "--database-url", database_url])
    assert done.exit_code == 1
    assert f"changed: medbook_entry id={entries[0]} (medbook chain {book} seq=1)" in done.output
    assert "changed: audit_event id=" in done.output and done.output.splitlines()[-1].startswith("TAMPERED")
    as_json = runner.invoke(app, ["audit", "verify", "--json", "--database-url", database_url])
    assert as_json.exit_code == 1
    found = json.loads(as_json.output)["findings"]
    assert {
        "problem": "changed",
        "kind": "medbook",
        "table": "medbook_entry",
        "record_id": entries[0],
        "chain_key": str(book),
        "seq": 1,
    } in found
    iins = [r[0] for r in rows(engine, "SELECT iin FROM person")]
    assert iins and not any(iin in done.output or iin in as_json.output for iin in iins)


def test_a_backup_is_readable_by_its_owner_only(database_url: str, engine: Engine, tmp_path: Path) -> None:
    """Issue 14: backups were written world-readable (0644 under the usual umask); they hold everyone's data."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        out = tmp_path / "dumps" / "emhana.backup"
        done = runner.invoke(app, ["backup", "--out", str(out), "--database-url", database_url])
        assert done.exit_code == 0, done.output
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        out.chmod(0o644)  # a second backup over an old, readable one does not inherit its mode
        done = runner.invoke(app, ["backup", "--out", str(out), "--database-url", database_url])
        assert done.exit_code == 0, done.output
        assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.stat().st_size > 0
        assert sorted(p.name for p in out.parent.iterdir()) == ["emhana.backup"]  # no part file left behind
    finally:
        os.umask(old)
