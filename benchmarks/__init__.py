"""Benchmarks of the synthetic generator's bulk load and of the nearest-site search."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from emhana.testing.databases import migrated_schema

__all__ = ["migrated_schema", "percentile", "table"]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of a list, by linear interpolation."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[min(98, max(0, round(q) - 1))]


def table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """A Markdown table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, sep, *body])
