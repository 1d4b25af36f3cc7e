"""Nearest-10 sites: emhana.facilities.service.near beside a brute-force numpy haversine scan.

    .venv/bin/emhana bench near --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Writes the national facility layer (no persons) into a schema of its own, draws query points near
sites (90 %) or anywhere in Kazakhstan's extent (10 %) as the national run does
(emhana/devtools/bench/reads.py), times `near()` (a new session per query, like one API request) and a numpy
scan over the same site coordinates, and checks that both return the same sites (recall@k). The schema is
dropped afterwards. It runs on SQLite too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
from sqlalchemy import text

from emhana.devtools.bench.focused import POSTGRES_URL
from emhana.devtools.bench.measure import emit, percentile, stopwatch, table
from emhana.devtools.bench.reads import query_points
from emhana.devtools.generator import generate
from emhana.facilities.rules import EARTH_RADIUS_KM
from emhana.facilities.service import near
from emhana.kernel.db import make_engine, make_sessionmaker
from emhana.testing.databases import migrated_schema

DAY = dt.date(2026, 3, 1)


def brute(
    lat_r: np.ndarray, lon_r: np.ndarray, ids: np.ndarray, lat: float, lon: float, k: int
) -> tuple[list[int], list[float]]:
    """The k nearest sites by great-circle distance, scanning every site."""
    p, q = np.radians(lat), np.radians(lon)
    a = np.sin((lat_r - p) / 2) ** 2 + np.cos(p) * np.cos(lat_r) * np.sin((lon_r - q) / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    top = np.argpartition(d, k)[:k] if len(d) > k else np.arange(len(d))
    top = top[np.argsort(d[top])]
    return [int(i) for i in ids[top]], [float(x) for x in d[top]]


def summarise(label: str, seconds: list[float]) -> tuple[str, ...]:
    ms = [s * 1000 for s in seconds]
    return (
        label,
        f"{len(ms) / sum(seconds):,.0f}",
        f"{sum(ms) / len(ms):.2f}",
        f"{percentile(ms, 50):.2f}",
        f"{percentile(ms, 95):.2f}",
        f"{percentile(ms, 99):.2f}",
    )


def main(argv: list[str] | None = None, prog: str | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=POSTGRES_URL)
    parser.add_argument(
        "--facility-population",
        type=int,
        default=20_500_000,
        help="population the facility layer is sized for (default: national)",
    )
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="a small layer and 30 queries, to check it works")
    args = parser.parse_args(argv)
    facility_population = 10_000 if args.smoke else args.facility_population
    queries = 30 if args.smoke else args.queries
    k = args.limit
    with migrated_schema(args.database_url, "bench_near") as url:
        engine = make_engine(url)
        try:
            with stopwatch() as load_seconds:
                stats = generate(engine, population=0, seed=args.seed, facility_population=facility_population)
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT id, lat, lon FROM site ORDER BY id")).all()
            ids = np.array([r[0] for r in rows])
            lat, lon = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
            lat_r, lon_r = np.radians(lat), np.radians(lon)
            points = query_points(engine, queries, args.seed)
            sessions = make_sessionmaker(engine)
            with sessions() as s:  # warm-up: connection, caches, statement compilation
                near(session=s, lat=points[0][0], lon=points[0][1], day=DAY, limit=k)
            near_times: list[float] = []
            brute_times: list[float] = []
            recalls: list[float] = []
            gaps: list[float] = []
            for plat, plon in points:
                t0 = time.perf_counter()
                with sessions() as s:
                    found = near(session=s, lat=plat, lon=plon, day=DAY, limit=k)
                    got = [f.site.id for f in found]
                    got_d = [f.distance_km for f in found]
                t1 = time.perf_counter()
                want, want_d = brute(lat_r, lon_r, ids, plat, plon, k)
                t2 = time.perf_counter()
                near_times.append(t1 - t0)
                brute_times.append(t2 - t1)
                recalls.append(len(set(got) & set(want)) / len(want))
                gaps.append(abs(got_d[-1] - want_d[-1]))
        finally:
            engine.dispose()
    recall = sum(recalls) / len(recalls)
    emit(
        f"bench near: {stats.sites:,} sites of {stats.entities:,} entities ({engine.dialect.name}), "
        f"{queries:,} queries, k={k}; layer written in {load_seconds[0]:.1f} s"
    )
    emit(
        table(
            [
                summarise("near() (KNN or box + haversine)", near_times),
                summarise("numpy brute-force haversine", brute_times),
            ],
            ("method", "queries/s", "mean ms", "p50 ms", "p95 ms", "p99 ms"),
        )
    )
    emit(
        f"recall@{k}: {recall:.4f}; queries with identical sets: "
        f"{sum(r == 1.0 for r in recalls)}/{len(recalls)}; max k-th distance gap: {max(gaps):.6f} km"
    )
    return {
        "sites": float(stats.sites),
        "near_qps": len(near_times) / sum(near_times),
        "brute_qps": len(brute_times) / sum(brute_times),
        "recall": recall,
        "near_p95_ms": percentile([t * 1000 for t in near_times], 95),
    }


if __name__ == "__main__":
    main()
