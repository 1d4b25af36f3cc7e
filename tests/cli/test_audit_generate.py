"""`emhana generate` then `emhana audit verify`: the bulk load writes its links in the same load (no seal)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from emhana.cli.main import app
from tests.builders.databases import fresh_database

runner = CliRunner()


def test_a_generated_register_verifies_clean_and_its_rows_are_chained(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        made = runner.invoke(app, ["generate", "--population", "300", "--seed", "3", "--database-url", url])
        assert made.exit_code == 0, made.output
        verified = runner.invoke(app, ["audit", "verify", "--database-url", url])
        assert verified.exit_code == 0, verified.output
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                persons = conn.execute(text("SELECT count(*) FROM person")).scalar()
                attached = conn.execute(text("SELECT count(*) FROM attachment")).scalar()
                by_kind = {
                    str(k): int(n) for k, n in conn.execute(text("SELECT kind, count(*) FROM chain_link GROUP BY kind"))
                }
                heads = conn.execute(text("SELECT count(*) FROM chain_head")).scalar()
                person = conn.execute(text("SELECT max(id) FROM person")).scalar()
        finally:
            engine.dispose()
        assert persons == 300 and attached and by_kind == {"person": persons, "attachment": attached}
        assert heads == persons + attached
        assert verified.output.splitlines()[-1].startswith(f"CLEAN: {persons + attached} chains")
        # and a generated person's identity changed in SQL is named
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE person SET surname = 'Басқа' WHERE id = :p"), {"p": person})
        finally:
            engine.dispose()
        tampered = runner.invoke(app, ["audit", "verify", "--database-url", url])
        assert tampered.exit_code == 1 and f"changed: person id={person}" in tampered.output
