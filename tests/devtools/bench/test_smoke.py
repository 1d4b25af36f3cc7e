"""The smoke run of `emhana bench` (issue 7): every figure is produced — present, finite, positive — never its value;
and the correctness signals hold (issue 18, item 6): no failed transaction, no non-2xx answer, no overbooking, the
near search equal to brute force, the load profiles without an error. Speed is never asserted.

It needs PostgreSQL (COPY, client processes sharing one server, uvicorn with 2 workers); on SQLite it is skipped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emhana.devtools.bench.fhir_ingest import SKIPPED, ingest_function
from emhana.devtools.bench.measure import Report
from emhana.devtools.bench.scales import SCALES
from emhana.testing.databases import postgres_test_url

URL = postgres_test_url()
needs_postgres = pytest.mark.skipif(
    URL is None,
    reason="emhana bench needs PostgreSQL (COPY, concurrent client processes, uvicorn); set EMHANA_TEST_DATABASE_URL",
)

FIGURES = [
    "load.persons_per_s",
    "load.persons_per_s.baseline",
    "load.persons_per_s.ratio",
    "load.rows_per_s",
    "load.rows_per_s.baseline",
    "load.national_minutes_projected",
    "books.rows_per_s",
    "books.count",
    "books.entries",
    "capitation.snapshot_s",
    "capitation.snapshot_s.baseline",
    "capitation.snapshot_s.ratio",
    "capitation.national_s_projected",
    "near.qps",
    "near.qps.baseline",
    "near.p50_ms",
    "near.p99_ms",
    "near.p99_ms.baseline",
    *[
        f"campaign.{c}.{m}{suffix}"
        for c in (1, 8, 32)
        for m in ("tps", "p50_ms", "p99_ms")
        for suffix in ("", ".baseline", ".ratio")
    ],
    *[f"campaign.{c}.raw_full_tps{suffix}" for c in (1, 8, 32) for suffix in ("", ".baseline", ".ratio")],
    "seal.verify_per_s",
    "seal.verify_per_s.baseline",
    "seal.verify_per_s.ratio",
    *[
        f"http.{k}.{m}"
        for k in ("attachment", "clearance", "fhir_patient", "near", "floor", "floor_async")
        for m in ("rps", "rps.baseline", "rps.ratio", "p99_ms", "p50_ms")
    ],
    "http.ping.p50_ms",
    "load.wall_min",
    *[
        f"profile.{p}.{k}.{m}"
        for p, kinds in (
            ("campaign_peak", ("application", "near", "status")),
            ("clearance_checks", ("seal_verify", "employer_list")),
        )
        for k in kinds
        for m in ("achieved_per_s", "achieved_per_s.baseline", "p50_ms", "p99_ms", "offered")
    ],
    "db.size_mb",
    "db.bytes_per_person",
    "memory.peak_mb",
    "memory.server_peak_mb",
    "total_s",
]
CHECKS = [
    "campaign_errors",
    "overbooked_districts",
    "double_attached",
    "http_errors",
    "near_same_sites_share",
    "profile_campaign_peak_errors",
    "profile_clearance_checks_errors",
]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, dict[str, object]]:
    """One smoke run through the command line (`emhana bench --scale smoke --json FILE`)."""
    from emhana.cli.main import app
    from emhana.devtools.bench.runner import run

    assert URL is not None
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    captured: list[Report] = []

    def recording_run(*args: object, **kwargs: object) -> Report:
        report = run(*args, **kwargs)  # type: ignore[arg-type]
        captured.append(report)
        return report

    mp = pytest.MonkeyPatch()
    mp.setattr("emhana.devtools.bench.runner.run", recording_run)
    try:
        result = CliRunner().invoke(app, ["bench", "--scale", "smoke", "--database-url", URL, "--json", str(out)])
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output + repr(result.exception)
    return captured[0], json.loads(Path(out).read_text(encoding="utf-8"))


@needs_postgres
def test_every_figure_is_present_finite_and_positive(smoke: tuple[Report, dict[str, object]]) -> None:
    figures = smoke[0].figures()
    missing = [k for k in FIGURES if k not in figures]
    assert not missing
    bad = {k: figures[k] for k in FIGURES if not (math.isfinite(figures[k]) and figures[k] > 0)}
    assert not bad
    assert all(math.isfinite(v) for v in figures.values())


@needs_postgres
def test_the_correctness_signals_hold(smoke: tuple[Report, dict[str, object]]) -> None:
    """Issue 18, item 6: figures that cannot flatter. Correctness only, never speed."""
    report = smoke[0]
    checks = report.context["checks"]
    assert checks["campaign_errors"] == 0  # no failed transaction (none can count toward a rate)
    assert checks["http_errors"] == 0  # every sampled read answered 2xx: the readers are entitled to what they read
    assert checks["overbooked_districts"] == 0 and checks["double_attached"] == 0
    assert checks["near_same_sites_share"] == 1.0  # near_free agrees with the brute-force scan
    profile_checks = (checks["profile_campaign_peak_errors"], checks["profile_clearance_checks_errors"])
    assert profile_checks == (0, 0), report.notes  # the notes name each error's kind and status
    figures = report.figures()
    assert all(figures[k] == 0 for k in figures if k.startswith("http.") and k.endswith(".errors"))
    assert all(figures[k] == 0 for k in figures if k.startswith("profile.") and k.endswith(".errors"))
    # every application the campaign profile offered was approved (decided in its own transaction)
    assert figures["profile.campaign_peak.approved"] >= figures["profile.campaign_peak.application.offered"] > 0


@needs_postgres
def test_the_markdown_report_names_the_machine_and_the_conditions(smoke: tuple[Report, dict[str, object]]) -> None:
    from emhana.devtools.bench.cli import markdown

    text = markdown(smoke[0])
    assert "emhana bench --scale smoke" in text and "PostgreSQL" in text and "load average at the start" in text
    assert "| conditions |" in text and "keep-alive connections" in text and "open loop" in text


@needs_postgres
def test_the_checks_and_the_fhir_part_are_reported(smoke: tuple[Report, dict[str, object]]) -> None:
    report = smoke[0]
    checks = report.context["checks"]
    assert sorted(checks) == sorted(CHECKS)
    assert all(isinstance(v, int | float) and math.isfinite(v) for v in checks.values())
    if ingest_function() is None:
        assert report.skipped["fhir"] == SKIPPED
        assert "fhir.ingest_per_s" not in report.figures()
    else:
        figures = report.figures()
        assert "fhir" not in report.skipped
        for key in ("fhir.ingest_per_s", "fhir.ingest_per_s.baseline", "fhir.ingest_per_s.ratio", "fhir.bundles"):
            assert math.isfinite(figures[key]) and figures[key] > 0


@needs_postgres
def test_the_json_file_holds_the_same_figures(smoke: tuple[Report, dict[str, object]]) -> None:
    report, data = smoke
    assert data["scale"] == "smoke"
    assert data["figures"] == pytest.approx(report.figures())
    lines = data["lines"]
    assert isinstance(lines, list) and {line["key"] for line in lines} >= {"load.persons_per_s", "db.size_mb"}


@needs_postgres
def test_the_scratch_schemas_are_dropped(smoke: tuple[Report, dict[str, object]]) -> None:
    from sqlalchemy import create_engine, text

    assert URL is not None
    schemas = smoke[0].context["schemas"]
    engine = create_engine(URL)
    try:
        with engine.connect() as conn:
            left = conn.scalars(
                text("SELECT nspname FROM pg_namespace WHERE nspname = ANY(:names)"), {"names": schemas}
            ).all()
    finally:
        engine.dispose()
    assert len(schemas) == 2 and not left


def test_smoke_scale_is_small_and_full_is_national() -> None:
    assert SCALES["smoke"].persons <= 50_000
    full = SCALES["full"]
    assert full.persons == 20_500_000
    assert full.books == 1_600_000 and full.entries == 3_000_000
    assert full.baseline_persons is not None and full.baseline_persons < full.persons  # disk: see SCALES
