"""`emhana bench http` (emhana.devtools.bench.focused.http; its --help and refusal of SQLite are checked with the
others in test_focused.py) runs a tiny country through the real server on PostgreSQL (EMHANA_TEST_DATABASE_URL)
with every sample path answering 200, the reference floor (emhana.devtools.bench.floor) and its async twin
(emhana.devtools.bench.floor_async) beside ping among them.
Never its values."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from emhana.cli.main import app
from emhana.testing.databases import postgres_test_url


def bench(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["bench", "http", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.postgres
def test_a_smoke_run_answers_every_path() -> None:
    base = postgres_test_url()
    if base is None:
        pytest.skip("EMHANA_TEST_DATABASE_URL is not set")
    code, output = bench("--smoke", "--database-url", base)
    assert code == 0, output
    assert "| path" in output and "|---" in output
    for kind in ("ping", "floor (reference)", "floor_async (reference)", "attachment", "clearance", "fhir_patient"):
        assert f"| {kind} " in output
    assert "| near " in output
    # The fraction is "-" when the floor completed no answer in its 1 s window (CI's other worker busy: seen once).
    assert "audited reads as a fraction of the floor's req/s: floor_async " in output, output
    assert "note:" not in output, output  # no sample path refused
    rows = [line.split("|") for line in output.splitlines() if line.startswith("| ") and "path" not in line]
    assert all(r[7].strip() == "0" for r in rows), output  # no non-2xx answer
