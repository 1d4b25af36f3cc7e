"""Benchmarks of the synthetic generator's bulk load and of the nearest-site search."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from emhana.db import normalize_url
from emhana.migrate import upgrade


def schema_url(base: str, schema: str) -> str:
    """A PostgreSQL URL whose connections put `schema` first in the search path."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def migrated_schema(base_url: str, prefix: str = "bench") -> Iterator[str]:
    """Yield the URL of a new, migrated PostgreSQL schema (or SQLite file as given); drop it afterwards."""
    base = normalize_url(base_url)
    if not base.startswith("postgresql"):
        upgrade(base)
        yield base
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = schema_url(base, schema)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


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
