"""`emhana bench`: the national-scale run (`--scale`, issue 7) with a rich table and optional JSON, and the focused
benchmarks as subcommands (`emhana bench attach --smoke`, ...), each taking its own options."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emhana.devtools.bench.focused import BENCHMARKS
from emhana.devtools.bench.measure import Report
from emhana.devtools.bench.scales import SCALES

console = Console()
app = typer.Typer(
    help="Benchmarks, each figure beside a baseline measured in the same run: the national run (--scale) or one "
    "focused benchmark (a subcommand; `emhana bench NAME --help` lists its options). Results: benchmarks/RESULTS.md."
)


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def render(report: Report) -> Table:
    table = Table(title=f"emhana bench --scale {report.scale} ({report.context.get('persons', 0):,} persons)")
    for column in ("measure", "emhana", "unit", "baseline", "baseline figure", "ratio", "goal", "met"):
        table.add_column(column, justify="right" if column in ("emhana", "baseline figure", "ratio") else "left")
    for f in report.lines:
        met = "" if f.met is None else ("yes" if f.met else "[bold red]no[/bold red]")
        table.add_row(
            f.label,
            _fmt(f.value),
            f.unit,
            f.baseline_label,
            _fmt(f.baseline),
            "" if f.ratio is None else f"{f.ratio:.2f}",
            f.goal,
            met,
        )
    return table


@app.callback(invoke_without_command=True)
def national(
    ctx: typer.Context,
    scale: Annotated[str, typer.Option(help="smoke | 1m | 5m | full (20.5 M persons)")] = "smoke",
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="PostgreSQL; defaults to EMHANA_DATABASE_URL.")
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write the figures to this file.")] = None,
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Build the national dataset in a scratch schema and measure each part beside a baseline (PostgreSQL)."""
    if ctx.invoked_subcommand is not None:
        return
    from emhana.devtools.bench.runner import run
    from emhana.kernel.config import get_settings

    if scale not in SCALES:
        raise typer.BadParameter(f"scale must be one of {', '.join(SCALES)}")
    url = database_url or get_settings().database_url
    if not url.startswith(("postgresql", "postgres")):
        raise typer.BadParameter("emhana bench needs a PostgreSQL --database-url")
    report = run(scale, url, seed=seed, say=lambda msg: console.print(f"[dim]{msg}[/dim]"))
    console.print(render(report))
    for key, value in sorted(report.extra.items()):
        console.print(f"  {key}: {_fmt(value)}")
    for key, value in sorted(report.context.get("checks", {}).items()):
        console.print(f"  check {key}: {value}")
    for part, reason in report.skipped.items():
        console.print(f"  {part}: {reason}")
    for note in report.notes:
        console.print(f"  note: {note}")
    if json_file is not None:
        json_file.write_text(json.dumps(report.as_json(), ensure_ascii=False, indent=2), encoding="utf-8")


def _focused(name: str, summary: str) -> None:
    """Register `emhana bench NAME [ARGS...]`: its arguments go, untouched, to the benchmark's own parser."""

    def command(ctx: typer.Context) -> None:
        module = importlib.import_module(f"emhana.devtools.bench.focused.{name}")
        module.main(list(ctx.args), prog=f"emhana bench {name}")

    app.command(
        name,
        help=summary,
        add_help_option=False,  # --help goes to the benchmark's parser, which knows its options
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(command)


for _name, _summary in BENCHMARKS.items():
    _focused(_name, _summary)
