"""The focused benchmarks run as `emhana bench NAME ...`: every entry point answers its --help, and runs at a tiny size
on SQLite where it supports SQLite, on PostgreSQL (EMHANA_TEST_DATABASE_URL) otherwise. Never their values.

`load` is the exception: whatever its size it migrates two scratch schemas and CHECKPOINTs four times (20-30 s on
this machine), so its one tiny run is the smoke run of tests/devtools/bench/test_benchmarks.py."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emhana.cli.main import app
from emhana.devtools.bench import clients
from emhana.devtools.bench.focused import BENCHMARKS
from emhana.testing.databases import postgres_test_url

PG_ONLY = ("attach", "capitation", "load", "http")
SQLITE = {  # tiny runs of the benchmarks that support SQLite ({db}: a fresh SQLite file)
    "cms": ["--runs", "1", "--scale", "0.002"],
    "seal": ["--runs", "1", "--scale", "0.005"],
    "near": ["--population", "1000", "--facility-population", "10000", "--queries", "5", "--database-url", "{db}"],
    "fhir": ["--bundles", "2", "--size", "2", "--database-url", "{db}"],
}
POSTGRES = {  # tiny runs of those that need PostgreSQL ({db}: EMHANA_TEST_DATABASE_URL)
    "attach": ["--population", "1500", "--transactions", "4", "--clients", "1", "--database-url", "{db}"],
    "capitation": ["--population", "600", "--database-url", "{db}"],
}
ELSEWHERE = {"load": "tests/devtools/bench/test_benchmarks.py", "http": "tests/devtools/bench/test_focused_http.py"}
TABLE_HEADS = {
    "cms": "| operation",
    "seal": "| operation",
    "near": "| method",
    "fhir": "| operation",
    "attach": "| transaction",
    "capitation": "| step",
    "load": "| step",
    "http": "| path",
}


def bench(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["bench", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_every_focused_benchmark_has_a_case_here() -> None:
    assert set(BENCHMARKS) == set(SQLITE) | set(POSTGRES) | set(ELSEWHERE) == set(TABLE_HEADS)


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_help_comes_from_the_benchmarks_own_parser(name: str) -> None:
    code, output = bench(name, "--help")
    assert code == 0
    assert f"usage: emhana bench {name}" in output


@pytest.mark.parametrize("name", PG_ONLY)
def test_postgresql_only_benchmarks_refuse_sqlite(name: str) -> None:
    code, output = bench(name, "--database-url", "sqlite:///unused.db")
    assert code == 2
    assert "needs PostgreSQL" in output


@pytest.mark.parametrize("name", sorted(SQLITE))
def test_tiny_run_on_sqlite(name: str, tmp_path: Path) -> None:
    args = [a.replace("{db}", f"sqlite:///{tmp_path / 'bench.db'}") for a in SQLITE[name]]
    code, output = bench(name, *args)
    assert code == 0, output
    assert TABLE_HEADS[name] in output and "|---" in output


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(POSTGRES))
def test_tiny_run_on_postgres(name: str) -> None:
    base = postgres_test_url()
    if base is None:
        pytest.skip("EMHANA_TEST_DATABASE_URL is not set")
    code, output = bench(name, *[a.replace("{db}", base) for a in POSTGRES[name]])
    assert code == 0, output
    assert TABLE_HEADS[name] in output and "|---" in output


def test_a_failed_campaign_transaction_counts_as_an_error_never_toward_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def worker(url: str, account: int) -> Any:
        def run(job: tuple[int, int, int, int]) -> None:
            if job[0] % 3 == 0:
                raise RuntimeError("capacity exceeded")

        return run, lambda: 0

    monkeypatch.setitem(clients.WORKERS, "flaky", worker)
    out: queue.Queue[Any] = queue.Queue()
    jobs = [(i, 0, 0, 0) for i in range(1, 13)]  # after a warm-up of one: 2..12, of which 3, 6, 9 and 12 fail
    clients.client("flaky", "unused", 0, jobs, 1, threading.Barrier(1), out)
    _, _, latencies, errors, _ = out.get_nowait()
    assert (len(latencies), errors) == (7, 4)
