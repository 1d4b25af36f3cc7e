"""`emhana bench`: the national-scale run (`--scale`, issue 7) with its load profiles (`--profile`, issue 18), a wide
rich table and optional JSON and Markdown (`--markdown`: the command, the machine, the load average at the start
and end, each figure beside its baseline with the ratio, the goal and its conditions), and the focused benchmarks
as subcommands (`emhana bench attach --smoke`, ...), each taking its own options."""

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

console = Console(width=200)  # the national table is wide: never squeeze it into 80 columns
app = typer.Typer(
    help="Benchmarks, each figure beside a baseline measured in the same run: the national run (--scale) or one "
    "focused benchmark (a subcommand; `emhana bench NAME --help` lists its options). Results: benchmarks/RESULTS.md."
)


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def render(report: Report) -> Table:
    table = Table(
        title=f"emhana bench --scale {report.scale} ({report.context.get('persons', 0):,} persons)", expand=False
    )
    for column in ("measure", "emhana", "unit", "baseline", "baseline figure", "ratio", "goal", "met"):
        table.add_column(
            column,
            justify="right" if column in ("emhana", "baseline figure", "ratio") else "left",
            no_wrap=column in ("emhana", "unit", "baseline figure", "ratio", "met"),
            max_width=70 if column in ("measure", "baseline") else None,
        )
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


def _load_average(values: object) -> str:
    if isinstance(values, list | tuple):
        return " / ".join(f"{float(v):.2f}" for v in values) + " (1 / 5 / 15 min)"
    return "" if values is None else f"{float(values):.2f}"  # type: ignore[arg-type]


def markdown(report: Report) -> str:
    """The run as Markdown: the command, the machine, the load average at the start and end, one table of every
    figure beside its baseline with the ratio, the goal and the conditions it was measured under, then the
    extra figures, the correctness checks, the load profiles' derivations and the notes."""
    c = report.context
    lines = [
        f"## emhana bench --scale {report.scale} ({c.get('persons', 0):,} persons)",
        "",
        f"- command: `{c.get('command', '')}`",
        f"- machine: {c.get('cpus')} cores, {c.get('ram_gb', '?')} GB RAM, PostgreSQL {c.get('postgres', '?')}, "
        f"Python {c.get('python')} ({c.get('platform', '')})",
        f"- started {c.get('started', '')}; load average at the start "
        f"{_load_average(c.get('load_average_start', c.get('load_average')))}, at the end "
        f"{_load_average(c.get('load_average_end_all', c.get('load_average_end')))}",
        f"- whole command's wall time: {report.extra.get('total_s', float('nan')):,.0f} s",
        "",
        "| measure | emhana | unit | baseline | baseline figure | ratio | goal | met | conditions |",
        "|---|--:|---|---|--:|--:|---|---|---|",
    ]

    def cell(text: str) -> str:
        return text.replace("|", "\\|").strip()

    for f in report.lines:
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
        lines.append(
            f"| {'&nbsp;&nbsp;' + cell(f.label) if f.label.startswith('  ') else cell(f.label)} "
            f"| {_fmt(f.value)} | {f.unit} | {cell(f.baseline_label)} | {_fmt(f.baseline)} | {ratio} "
            f"| {cell(f.goal)} | {met} | {cell(f.conditions)} |"
        )
    lines += ["", "| figure | value |", "|---|--:|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(report.extra.items())]
    checks = c.get("checks", {})
    if checks:
        lines += ["", "Correctness checks (0 expected; near agreement 1.0):", ""]
        lines += [f"- {k}: {v}" for k, v in sorted(checks.items())]
    for name, p in c.get("profiles", {}).items():
        lines += ["", f"Load profile {name} (national rate × {p['factor']:g}, {p['seconds']:g} s):", ""]
        lines += [f"- {r['kind']}: {r['per_second']:.2f}/s, {r['what']}: {r['derivation']}" for r in p["rates"]]
    for part, reason in report.skipped.items():
        lines.append(f"- skipped {part}: {reason}")
    if report.notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


@app.callback(invoke_without_command=True)
def national(
    ctx: typer.Context,
    scale: Annotated[str, typer.Option(help="smoke | 1m | 5m | full (20.5 M persons)")] = "smoke",
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="PostgreSQL; defaults to EMHANA_DATABASE_URL.")
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write the figures to this file.")] = None,
    markdown_file: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the report as Markdown (RESULTS.md's form).")
    ] = None,
    profile: Annotated[
        list[str] | None,
        typer.Option(
            help="Load profile(s) to run after the parts (open loop at national volume): campaign-peak, "
            "clearance-checks, all (default) or none."
        ),
    ] = None,
    profile_factor: Annotated[
        float, typer.Option(help="Multiply the profiles' national rates (headroom: 2 = twice the peak).")
    ] = 1.0,
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Build the national dataset in a scratch schema and measure each part beside a baseline (PostgreSQL)."""
    if ctx.invoked_subcommand is not None:
        return
    from emhana.devtools.bench.runner import run
    from emhana.kernel.config import get_settings

    if scale not in SCALES:
        raise typer.BadParameter(f"scale must be one of {', '.join(SCALES)}")
    from emhana.devtools.bench.runner import PROFILE_NAMES

    asked = profile or ["all"]
    if "none" in asked:
        chosen: tuple[str, ...] = ()
    elif "all" in asked:
        chosen = PROFILE_NAMES
    else:
        bad = [p for p in asked if p not in PROFILE_NAMES]
        if bad:
            raise typer.BadParameter(f"profile must be one of {', '.join(PROFILE_NAMES)}, all or none")
        chosen = tuple(asked)
    if profile_factor <= 0:
        raise typer.BadParameter("--profile-factor must be positive")
    url = database_url or get_settings().database_url
    if not url.startswith(("postgresql", "postgres")):
        raise typer.BadParameter("emhana bench needs a PostgreSQL --database-url")
    command = f"emhana bench --scale {scale}" + "".join(f" --profile {p}" for p in asked)
    if profile_factor != 1.0:
        command += f" --profile-factor {profile_factor:g}"
    report = run(
        scale,
        url,
        seed=seed,
        say=lambda msg: console.print(f"[dim]{msg}[/dim]"),
        profiles_to_run=chosen,
        profile_factor=profile_factor,
        command=command,
    )
    console.print(markdown(report).split("\n\n| measure")[0], markup=False, highlight=False)
    console.print(render(report))
    for key, value in sorted(report.extra.items()):
        console.print(f"  {key}: {_fmt(value)}")
    for key, value in sorted(report.context.get("checks", {}).items()):
        console.print(f"  check {key}: {value}")
    for part, reason in report.skipped.items():
        console.print(f"  {part}: {reason}")
    for note in report.notes:
        console.print(f"  note: {note}")
    if markdown_file is not None:
        markdown_file.write_text(markdown(report), encoding="utf-8")
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
