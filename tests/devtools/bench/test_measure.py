"""Pure parts of the benchmark: percentiles, ratios to the baseline, the report's flat figures, the table."""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from emhana.cli.main import app
from emhana.devtools.bench.cli import render
from emhana.devtools.bench.measure import Figure, Report, latencies_summary, percentile
from emhana.devtools.bench.scales import SCALES


def test_percentile_interpolates_and_handles_small_lists() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))


def test_ratio_is_speed_relative_to_the_baseline_in_both_orientations() -> None:
    faster = Figure("a", "a", "per s", 50.0, "raw", 100.0)
    slower_time = Figure("b", "b", "s", 4.0, "raw", 1.0, higher_is_better=False)
    assert faster.ratio == pytest.approx(0.5)
    assert slower_time.ratio == pytest.approx(0.25)
    assert Figure("c", "c", "MB", 10.0).ratio is None


def test_report_flattens_values_baselines_ratios_and_extras() -> None:
    report = Report("smoke")
    report.add(Figure("x.tps", "x", "tx/s", 10.0, "raw", 40.0))
    report.extra["x.count"] = 3.0
    assert report.figures() == {"x.tps": 10.0, "x.tps.baseline": 40.0, "x.tps.ratio": 0.25, "x.count": 3.0}
    assert report.as_json()["lines"][0]["ratio"] == 0.25


def test_latencies_summary_gives_rate_and_percentiles_in_ms() -> None:
    rate, p50, p99 = latencies_summary([0.01] * 99 + [0.1])
    assert rate == pytest.approx(100 / 1.09)
    assert p50 == pytest.approx(10.0)
    assert p99 > 10.0


def test_render_marks_missed_goals() -> None:
    report = Report("smoke", context={"persons": 10})
    report.add(Figure("a", "load", "persons/s", 5.0, "raw", 10.0, goal="≥ 20", met=False))
    table = render(report)
    assert table.row_count == 1
    cells = [str(c._cells[0]) for c in table.columns]
    assert cells[0] == "load" and "no" in cells[-1] and cells[5] == "0.50"


def test_books_and_entries_follow_the_population() -> None:
    one = SCALES["1m"]
    assert one.books == round(1_000_000 * 1_600_000 / 20_500_000)
    assert one.entries >= one.books


def test_the_command_refuses_sqlite_and_unknown_scales() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "--scale", "smoke", "--database-url", "sqlite:///x.db"])
    assert result.exit_code != 0 and "PostgreSQL" in result.output
    result = runner.invoke(app, ["bench", "--scale", "huge", "--database-url", "postgresql://x/y"])
    assert result.exit_code != 0 and "scale" in result.output
