"""Pure parts of the benchmark: percentiles, ratios to the baseline, the report's flat figures, the table."""

from __future__ import annotations

import math
from collections.abc import Callable

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
    result = runner.invoke(app, ["bench", "--profile", "rush-hour", "--database-url", "postgresql://x/y"])
    assert result.exit_code != 0 and "profile" in result.output
    result = runner.invoke(app, ["bench", "--profile-factor", "0", "--database-url", "postgresql://x/y"])
    assert result.exit_code != 0 and "factor" in result.output


def test_markdown_names_the_command_machine_load_and_conditions() -> None:
    from emhana.devtools.bench.cli import markdown

    report = Report(
        "smoke",
        context={
            "persons": 10,
            "command": "emhana bench --scale smoke",
            "cpus": 2,
            "ram_gb": 23.0,
            "postgres": "15.18",
            "python": "3.11.9",
            "load_average_start": [1.0, 2.0, 3.0],
            "load_average_end_all": [4.0, 5.0, 6.0],
            "checks": {"http_errors": 0},
        },
    )
    report.add(
        Figure("a", "HTTP GET x", "req/s", 5.0, "ping", 10.0, goal="≥ 0.5 of ping", met=True, conditions="16 conns")
    )
    report.extra["total_s"] = 12.0
    text = markdown(report)
    assert "`emhana bench --scale smoke`" in text
    assert "2 cores, 23.0 GB RAM, PostgreSQL 15.18, Python 3.11.9" in text
    assert "1.00 / 2.00 / 3.00" in text and "4.00 / 5.00 / 6.00" in text
    assert "| HTTP GET x | 5.00 | req/s | ping | 10.00 | 0.50 | ≥ 0.5 of ping | yes | 16 conns |" in text
    assert "whole command's wall time: 12 s" in text and "- http_errors: 0" in text


def test_the_goals_follow_the_issue_table() -> None:
    from emhana.devtools.bench import runner

    assert runner.HTTP_GOAL_RATIO == 0.5 and runner.HTTP_GOAL_P99 == 50.0
    assert (runner.CAMPAIGN_GOAL_RATIO, runner.CAMPAIGN_GOAL_P99, runner.CAMPAIGN_GOAL_CLIENTS) == (0.5, 30.0, 8)
    assert (runner.NEAR_GOAL_TIMES, runner.NEAR_GOAL_P99) == (10.0, 5.0)
    assert (runner.FHIR_GOAL_PER_S, runner.FHIR_GOAL_BUNDLE) == (2_000.0, 100)
    assert (runner.LOAD_GOAL_RATIO, runner.LOAD_GOAL_MINUTES) == (0.6, 15.0)
    assert runner.CAPITATION_GOAL_TIMES == 4.0 and runner.SEAL_GOAL_RATIO == 0.7


def test_the_profiles_derive_their_rates_from_the_national_figures() -> None:
    from emhana.devtools.bench import profiles

    campaign = {r.kind: r.per_second for r in profiles.campaign_rates()}
    assert campaign["application"] == pytest.approx(400_000 / 61 * 10 * 0.2 / 3600)
    assert campaign["near"] == pytest.approx(10 * campaign["application"])
    clearance = {r.kind: r.per_second for r in profiles.clearance_rates()}
    assert clearance["seal_verify"] == pytest.approx(1_600_000 / 5 * 0.3 / 3600)
    assert all(r.derivation for r in profiles.campaign_rates() + profiles.clearance_rates())


def test_the_open_loop_schedule_is_reproducible_and_at_the_rate() -> None:
    from emhana.devtools.bench.http import schedule

    a = schedule({"x": 50.0, "y": 5.0}, 20.0, seed=3)
    assert a == schedule({"x": 50.0, "y": 5.0}, 20.0, seed=3)
    assert [t for t, _k in a] == sorted(t for t, _k in a)
    assert 850 < sum(1 for _t, k in a if k == "x") < 1150 and 60 < sum(1 for _t, k in a if k == "y") < 140


def _fake_server() -> tuple[int, Callable[[], None]]:
    """A keep-alive HTTP/1.1 server on loopback answering 200 to /ok and 403 to anything else; return its port
    and a function that stops it (closing its connections first)."""
    import asyncio
    import threading

    from emhana.devtools.bench.http import free_port

    port = free_port()
    loop = asyncio.new_event_loop()
    writers: list[asyncio.StreamWriter] = []
    servers: list[asyncio.Server] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                path = head.split(b" ")[1]
                status = b"200 OK" if path == b"/ok" else b"403 Forbidden"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nhi")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        servers.append(loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", port)))
        started.set()
        loop.run_forever()
        loop.close()

    async def shut() -> None:
        for w in writers:
            w.close()
        servers[0].close()
        await asyncio.sleep(0.05)
        loop.stop()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(5)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(shut(), loop)
        thread.join(5)

    return port, stop


def test_a_non_2xx_answer_never_counts_toward_a_rate() -> None:
    from emhana.devtools.bench.http import Call, Kind, check, load, open_loop

    port, stop = _fake_server()
    try:
        ok = load("127.0.0.1", port, ["/ok"], connections=2, seconds=0.3, warm_up=0.05)
        refused = load("127.0.0.1", port, ["/no"], connections=2, seconds=0.3, warm_up=0.05)
        assert ok.requests > 0 and ok.errors == 0 and ok.per_second > 0
        assert refused.requests == 0 and refused.per_second == 0 and refused.errors > 0
        assert set(refused.statuses) == {403} and math.isnan(refused.p99_ms)
        assert [(c.path, s) for c, s in check("127.0.0.1", port, [Call("GET", "/ok"), Call("GET", "/no")])] == [
            ("/no", 403)
        ]
        results = open_loop(
            "127.0.0.1",
            port,
            [Kind("good", 40.0, [Call("GET", "/ok")]), Kind("bad", 40.0, [Call("POST", "/no", "t", b"{}")])],
            seconds=0.5,
            warm_up=0.1,
            connections=4,
        )
        good, bad = results
        assert good.offered > 0 and good.errors == 0 and good.ok > 0
        assert bad.offered > 0 and bad.ok == 0 and bad.achieved_rate == 0 and bad.errors == bad.offered
    finally:
        stop()
