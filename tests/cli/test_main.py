"""The command line: iin check, import and export of the published list, db upgrade."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.cli.main import app
from emhana.facilities import io
from emhana.facilities.models import Entity
from tests.builders.facilities import entity_record

runner = CliRunner()


def test_iin_check_exit_status() -> None:
    ok = runner.invoke(app, ["iin", "check", "880315301280", "870512300404"])
    assert ok.exit_code == 0 and ok.output.count("\tvalid") == 2
    bad = runner.invoke(app, ["iin", "check", "880315301280", "880315301281", "87051230043"])
    assert bad.exit_code == 1
    lines = bad.output.strip().splitlines()
    assert lines[1].split("\t")[:2] == ["880315301281", "invalid"]
    assert "check digit" in lines[1] and "12 digits" in lines[2]


def test_import_and_export_facilities(tmp_path: Path, database_url: str, sessions: sessionmaker[Session]) -> None:
    good = tmp_path / "list.csv"
    good.write_text(io.write_csv([entity_record()]), encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(io.write_csv([entity_record("150340001237")]), encoding="utf-8")
    refused = runner.invoke(app, ["import", "facilities", str(bad), "--database-url", database_url])
    assert refused.exit_code == 1 and "line 2" in refused.output and "nothing was written" in refused.output
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Entity)) == 0
    done = runner.invoke(app, ["import", "facilities", str(good), "--database-url", database_url])
    assert done.exit_code == 0, done.output
    out = tmp_path / "out.json"
    exported = runner.invoke(
        app, ["export", "facilities", "--format", "json", "--out", str(out), "--database-url", database_url]
    )
    assert exported.exit_code == 0
    assert io.read_json(out.read_bytes(), {"710000000"}) == ([entity_record()], [])
    csv_out = runner.invoke(app, ["export", "facilities", "--database-url", database_url])
    assert csv_out.output.startswith("bin,name_kk,")


def test_db_upgrade_on_a_new_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
