"""How every benchmark measures and reports: a figure beside its baseline measured in the same run, timings,
percentiles, memory, database size, and a Markdown table for the focused benchmarks' output."""

from __future__ import annotations

import math
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of the values, by linear interpolation."""
    if not values:
        return math.nan
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[min(98, max(0, round(q) - 1))]


@dataclass(frozen=True)
class Figure:
    """One measured line: emhana's figure, the baseline's figure in the same run, and the goal if any.

    `higher_is_better` orients the ratio: it is always "emhana / baseline" in speed terms, so 1.0 means as
    fast as the baseline and 0.5 half as fast.
    """

    key: str
    label: str
    unit: str
    value: float
    baseline_label: str = ""
    baseline: float | None = None
    higher_is_better: bool = True
    goal: str = ""
    met: bool | None = None
    conditions: str = ""  # what the figure was measured under: clients, bundle size, history, cache state

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline or not self.value:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value


@dataclass
class Report:
    """Everything one run measured; `figures()` flattens it for JSON and the smoke test."""

    scale: str
    lines: list[Figure] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        self.lines.append(figure)
        return figure

    def figures(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for f in self.lines:
            out[f.key] = f.value
            if f.baseline is not None:
                out[f"{f.key}.baseline"] = f.baseline
            if f.ratio is not None:
                out[f"{f.key}.ratio"] = f.ratio
        out.update(self.extra)
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "context": self.context,
            "figures": self.figures(),
            "lines": [
                {
                    "key": f.key,
                    "label": f.label,
                    "unit": f.unit,
                    "value": f.value,
                    "baseline_label": f.baseline_label,
                    "baseline": f.baseline,
                    "ratio": f.ratio,
                    "goal": f.goal,
                    "met": f.met,
                    "conditions": f.conditions,
                }
                for f in self.lines
            ],
            "skipped": self.skipped,
            "notes": self.notes,
        }


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """Yield a one-element list that holds the elapsed seconds once the block ends."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start


def timed(fn: Callable[[], object]) -> float:
    """Return the seconds one call of fn takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def per_call(fn: Callable[[], object], n: int, runs: int) -> float:
    """Return the median over runs of the mean seconds per call of n back-to-back calls (one untimed call first)."""
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


def latencies_summary(seconds: list[float]) -> tuple[float, float, float]:
    """Return (per second over the sum, p50 ms, p99 ms) of back-to-back calls."""
    ms = sorted(s * 1000 for s in seconds)
    total = sum(seconds)
    return (len(seconds) / total if total > 0 else math.nan, percentile(ms, 50), percentile(ms, 99))


def peak_memory_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest waited-for child, in MB (Linux: KB units)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def schema_size_bytes(engine: Engine) -> int:
    """Total size on disk (tables, indexes, TOAST) of every table in the engine's current schema."""
    with engine.connect() as conn:
        return int(
            conn.scalar(
                text(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
                )
            )
            or 0
        )


def table_sizes(engine: Engine, tables: list[str]) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.scalar(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": t}) or 0)
            for t in tables
        }


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A Markdown table, columns padded to their widest cell (the focused benchmarks print these)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, sep, *body])


def emit(line: str = "") -> None:
    """Write one line of a focused benchmark's report to standard output, at once (runs are long)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
