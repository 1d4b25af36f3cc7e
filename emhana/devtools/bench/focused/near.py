"""Nearest-10 sites with free places: emhana.attachment.application.service.near_free beside a brute-force scan.

    .venv/bin/emhana bench near --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/emhana bench near --population 1000000 --queries 2000

Writes a synthetic country (everyone attached; the facility layer sized for the population, or for
--facility-population) into a schema of its own and draws query points near sites (90 %) or anywhere in
Kazakhstan's extent (10 %) as the national run does (emhana/devtools/bench/reads.py). Times `near_free` (a new
session per query, like one API request: one statement on the near search's own connections, the k nearest
sites with the loads the database keeps, docs/near-search.md) and, on
PostgreSQL, the national run's brute-force SQL scan of every site that counts each chosen district's open
attachment rows (reads.BRUTE), interleaved, and checks that both give the same sites and the same free places. On
SQLite the scan is numpy's great-circle distance over the site coordinates (sites only). The schema is dropped
afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
from sqlalchemy import Engine, text

from emhana.attachment.application.service import near_free
from emhana.devtools.bench.focused import POSTGRES_URL
from emhana.devtools.bench.measure import emit, percentile, stopwatch, table
from emhana.devtools.bench.reads import near_figures, query_points
from emhana.devtools.generator import generate
from emhana.facilities.rules import EARTH_RADIUS_KM
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
    parser.add_argument("--population", type=int, default=200_000, help="persons, everyone attached")
    parser.add_argument(
        "--facility-population",
        type=int,
        default=None,
        help="population the facility layer is sized for (default: --population)",
    )
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="a small country and 30 queries, to check it works")
    args = parser.parse_args(argv)
    population = 3_000 if args.smoke else args.population
    facility_population = 10_000 if args.smoke else (args.facility_population or max(population, 1))
    queries = 30 if args.smoke else args.queries
    k = args.limit
    figures: dict[str, float] = {}
    with migrated_schema(args.database_url, "bench_near") as url:
        engine = make_engine(url)
        try:
            with stopwatch() as load_seconds:
                stats = generate(engine, population=population, seed=args.seed, facility_population=facility_population)
            if engine.dialect.name == "postgresql":
                n = near_figures(engine, url, queries, DAY, args.seed, k)
                assert isinstance(n["service"], list) and isinstance(n["brute"], list)
                service_times, brute_times = n["service"], n["brute"]
                label = "brute-force SQL scan, loads counted (reads.BRUTE)"
                share = n["agreement"]
                assert isinstance(share, float)
                agreement = f"same sites and free places: {share:.4f} of queries"
                figures["agreement"] = share
            else:
                service_times, brute_times, recall = _numpy(engine, queries, args.seed, k)
                label = "numpy brute-force haversine (sites only)"
                agreement = f"recall@{k} of the sites: {recall:.4f}"
                figures["agreement"] = recall
        finally:
            engine.dispose()
    emit(
        f"bench near: {population:,} persons, {stats.sites:,} sites of {stats.entities:,} entities "
        f"({engine.dialect.name}), {queries:,} queries, k={k}; country written in {load_seconds[0]:.1f} s"
    )
    emit(
        table(
            [summarise("near_free (KNN + kept loads)", service_times), summarise(label, brute_times)],
            ("method", "queries/s", "mean ms", "p50 ms", "p95 ms", "p99 ms"),
        )
    )
    near_qps, brute_qps = len(service_times) / sum(service_times), len(brute_times) / sum(brute_times)
    emit(f"{agreement}; near_free / scan: {near_qps / brute_qps:.1f}x (goal >= 10x, p99 <= 5 ms)")
    figures.update(
        {
            "sites": float(stats.sites),
            "near_qps": near_qps,
            "brute_qps": brute_qps,
            "ratio": near_qps / brute_qps,
            "recall": figures["agreement"],  # the share of queries answered as the scan answers them
            "near_p99_ms": percentile([t * 1000 for t in service_times], 99),
        }
    )
    return figures


def _numpy(engine: Engine, queries: int, seed: int, k: int) -> tuple[list[float], list[float], float]:
    """Time near_free and a numpy scan of the site coordinates per point; return both times and the recall."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, lat, lon FROM site ORDER BY id")).all()
    ids = np.array([r[0] for r in rows])
    lat_r, lon_r = np.radians(np.array([r[1] for r in rows])), np.radians(np.array([r[2] for r in rows]))
    points = query_points(engine, queries, seed)
    sessions = make_sessionmaker(engine)
    with sessions() as s:  # warm-up: connection, caches, statement compilation
        near_free(session=s, lat=points[0][0], lon=points[0][1], day=DAY, limit=k, profile=None)
    service: list[float] = []
    brute_times: list[float] = []
    recalls: list[float] = []
    for plat, plon in points:
        t0 = time.perf_counter()
        with sessions() as s:
            got = [n.site.id for n, _ in near_free(session=s, lat=plat, lon=plon, day=DAY, limit=k, profile=None)]
        t1 = time.perf_counter()
        want, _ = brute(lat_r, lon_r, ids, plat, plon, k)
        t2 = time.perf_counter()
        service.append(t1 - t0)
        brute_times.append(t2 - t1)
        recalls.append(len(set(got) & set(want)) / max(len(want), 1))
    return service, brute_times, sum(recalls) / len(recalls)


if __name__ == "__main__":
    main()
