"""Capitation snapshot over N attachments beside a bare GROUP BY over the same table, in the same run.

    .venv/bin/python -m benchmarks.bench_capitation [--population 1000000] [--repeat 1] [--smoke]

Setup (not timed): a migrated PostgreSQL schema and a synthetic country from the generator with N persons,
everyone attached (one open attachment each), then ANALYZE. Timed, each in its own transaction:

1. bare GROUP BY: `SELECT entity_id, COUNT(*) FROM attachment WHERE end_date IS NULL GROUP BY entity_id`;
2. the same counts by entity, sex and age band on a day, without storing them
   (`emhana.attachment.capitation.compute_counts`: attachment JOIN person, dates and bands);
3. the snapshot itself (`capitation.take_snapshot`, what POST /capitation/snapshots and
   `emhana capitation snapshot` run): stores every counted person (traceability, A-121) and the counts,
   committed. A repeat takes the snapshot of the day before (a day already taken is returned as it was).

Goal (issue 3): a snapshot over 20 million attachments in under 60 s here. The figure for 20 M is a linear
extrapolation from the measured N, and is labelled so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time

from sqlalchemy import text

from benchmarks import migrated_schema, table
from emhana.attachment import capitation
from emhana.db import make_engine, make_sessionmaker, unit_of_work
from emhana.generator import GeneratorParams, generate

NATIONAL = 20_000_000


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="rounds (each snapshot on an earlier day)")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="a tiny run (3,000 persons)")
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgresql", "postgres")):
        parser.error("bench_capitation needs PostgreSQL")
    population = 3_000 if args.smoke else args.population
    print(f"bench_capitation: {population:,} persons; {os.cpu_count()} CPUs, Python {platform.python_version()}")
    figures: dict[str, float] = {}
    with migrated_schema(args.database_url, "bench_cap") as url:
        engine = make_engine(url)
        try:
            t0 = time.perf_counter()
            stats = generate(engine, population=population, seed=args.seed)
            print(f"setup: generated {stats.persons:,} persons with {stats.attachments:,} attachments in "
                  f"{time.perf_counter() - t0:.1f} s")
            sessions = make_sessionmaker(engine)
            as_of = GeneratorParams().as_of
            rounds: list[dict[str, float]] = []
            for r in range(args.repeat):
                day = as_of - dt.timedelta(days=r)
                result: dict[str, float] = {}

                def bare(result: dict[str, float] = result) -> None:
                    with engine.connect() as conn:
                        rows = conn.execute(text("SELECT entity_id, COUNT(*) FROM attachment "
                                                 "WHERE end_date IS NULL GROUP BY entity_id")).all()
                        result["bare_total"] = float(sum(n for _, n in rows))

                def compute(day: dt.date = day, result: dict[str, float] = result) -> None:
                    with sessions() as s:
                        counts = capitation.compute_counts(session=s, as_of=day)
                        result["computed_total"] = float(sum(counts.values()))

                def snapshot(day: dt.date = day, result: dict[str, float] = result) -> None:
                    with unit_of_work(sessions) as s:
                        snap = capitation.take_snapshot(session=s, actor=None, as_of=day, today=day)
                        result["snapshot_total"] = float(snap.total)

                result["bare_s"] = timed(bare)
                result["compute_s"] = timed(compute)
                result["snapshot_s"] = timed(snapshot)
                rounds.append(result)
        finally:
            engine.dispose()
    for key in rounds[0]:
        figures[key] = sorted(r[key] for r in rounds)[len(rounds) // 2]
    figures["attachments"] = float(stats.attachments)
    scale = NATIONAL / max(1, stats.attachments)
    figures["snapshot_20m_extrapolated_s"] = figures["snapshot_s"] * scale
    rows = [(label, f"{figures[key]:.2f}", f"{figures[key] / figures['bare_s']:.1f}",
             f"{figures[key] * scale:.0f}")
            for key, label in (("bare_s", "1. bare GROUP BY entity (open attachments)"),
                               ("compute_s", "2. counts by entity, sex, band on a day (not stored)"),
                               ("snapshot_s", "3. take_snapshot (persons + counts stored, committed)"))]
    print(table(rows, ("step", "median s", "vs 1", "20 M linear extrapolation s")))
    print(f"persons counted: snapshot {figures['snapshot_total']:,.0f}, computed {figures['computed_total']:,.0f}, "
          f"bare {figures['bare_total']:,.0f}")
    return figures


if __name__ == "__main__":
    main()
