"""`emhana bench`: the national-scale benchmark (issue 7) with a rich table and optional JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emhana.devtools.bench.measure import Report
from emhana.devtools.bench.scales import SCALES

console = Console()


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


def bench_command(
    scale: Annotated[str, typer.Option(help="smoke | 1m | 5m | full (20.5 M persons)")] = "smoke",
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="PostgreSQL; defaults to EMHANA_DATABASE_URL.")
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write the figures to this file.")] = None,
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Build the national dataset in a scratch schema and measure each part beside a baseline."""
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
