"""Attach transactions per second on PostgreSQL: the emhana service beside raw SQL, in the same run.

    .venv/bin/python -m benchmarks.bench_attach [--population 30000] [--transactions 2000] [--smoke]
    .venv/bin/python -m benchmarks.bench_attach --population 10000 --transactions 400 --profile prof.txt

Setup (not timed): a migrated schema, a synthetic country from the generator (everyone attached), an
identity card on file for the adults who will apply, and for each of them a target district of their
unit, of a fitting profile, with a free place (so every application is approved).

Each transaction is a voluntary change filed on eGov inside the 2026 campaign window and approved at
once: `emhana.attachment.service.submit`, the function behind POST /api/v1/attachment/applications,
in a unit of work of its own (the API's). The raw version sends, with psycopg and no ORM, the same
locks and writes: person row FOR UPDATE, district row FOR UPDATE, count of the district's open
attachments (capacity check), the person's running attachment, INSERT application, UPDATE the old
attachment's end, INSERT the new attachment, three audit events, COMMIT. It skips the rule reads the
service makes (policy, entity inclusion and contract, documents, change count, pending application),
and the notification outbox rows written with each decision. `raw_full` (emhana/devtools/bench/raw_full.py) is the
raw-SQL version of the same transaction: the service's rule reads, the outbox rows and the hash-chain
links too, hand-written SQL with psycopg, no rules evaluated.

Clients are processes, each with its own connection; with N clients each runs transactions/N of them.
Throughput = transactions / (first start ... last finish); latency per transaction on the client.
At the end no district may hold more open attachments than its capacity and nobody two open ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import random
import time
from typing import Any

from sqlalchemy import text

from benchmarks import migrated_schema, percentile, table
from emhana.accounts.roles import Role
from emhana.devtools.bench import campaign
from emhana.devtools.bench.campaign import NOW, Job, raw_worker, service_worker
from emhana.devtools.bench.raw_full import raw_full_worker
from emhana.devtools.generator import generate
from emhana.kernel.db import make_engine

WARM_UP = 3  # untimed transactions per client
WORKERS = {"raw": raw_worker, "raw_full": raw_full_worker, "service": service_worker}


def prepare(url: str, population: int, seed: int, needed: int) -> tuple[list[Job], int]:
    """Generate the country, give documents to `needed` adults and pick their targets; return jobs, account."""
    engine = make_engine(url)
    try:
        generate(engine, population=population, seed=seed)
        with engine.begin() as conn:
            account = int(
                conn.scalar(
                    text(
                        "INSERT INTO account (username, password_hash, role, display_name, active, created_at) "
                        "VALUES ('bench-citizen', NULL, :r, 'bench', TRUE, now()) RETURNING id"
                    ),
                    {"r": Role.CITIZEN.value},
                )
            )
            people = conn.execute(
                text(
                    "SELECT p.id, a.kato_code, t.district_id FROM person p "
                    "JOIN person_address a ON a.person_id = p.id JOIN attachment t ON t.person_id = p.id "
                    "AND t.end_date IS NULL WHERE p.birth_date <= :adult AND p.category IN ('citizen', 'kandas') "
                    "ORDER BY p.id"
                ),
                {"adult": dt.date(NOW.year - 19, 1, 1)},
            ).all()
            districts = conn.execute(
                text(
                    "SELECT d.id, d.site_id, s.entity_id, s.kato_code, d.capacity - "
                    "(SELECT COUNT(*) FROM attachment t WHERE t.district_id = d.id AND t.end_date IS NULL) "
                    "FROM district d JOIN site s ON s.id = d.site_id WHERE d.profile IN ('gp', 'therapist') "
                    "ORDER BY d.id"
                )
            ).all()
            by_unit: dict[str, list[list[Any]]] = {}
            for d_id, site, entity, kato, free in districts:
                unit = kato[:2] if kato[:2] in ("71", "75", "79") else kato[:4]
                by_unit.setdefault(unit, []).append([d_id, site, entity, free])
            rng = random.Random(seed)
            rng.shuffle(people)
            jobs: list[Job] = []
            for pid, kato, current in people:
                unit = kato[:2] if kato[:2] in ("71", "75", "79") else kato[:4]
                options = [d for d in by_unit.get(unit, []) if d[0] != current and d[3] > 0]
                if not options:
                    continue
                target = rng.choice(options)
                target[3] -= 1
                jobs.append((pid, target[0], target[1], target[2]))
                if len(jobs) == needed:
                    break
            if len(jobs) < needed:
                raise SystemExit(f"only {len(jobs)} adults with a target; raise --population")
            campaign.chain_histories(conn, [j[0] for j in jobs])
            conn.execute(
                text(
                    "INSERT INTO identity_document (person_id, kind, number, expires_on) "
                    "VALUES (:p, 'id_card', :n, NULL)"
                ),
                [{"p": j[0], "n": f"B{j[0]:09d}"} for j in jobs],
            )
            conn.execute(text("ANALYZE"))
        return jobs, account
    finally:
        engine.dispose()


def client(kind: str, url: str, account: int, jobs: list[Job], barrier: Any, out: Any) -> None:
    """One client process: connect, wait for the others, run the jobs, report (start, end, latencies, errors)."""
    run, close = WORKERS[kind](url, account)
    for job in jobs[:WARM_UP]:  # not timed: the first calls compile and cache statements
        run(job)
    barrier.wait()
    latencies: list[float] = []
    errors = 0
    start = time.monotonic()
    for job in jobs[WARM_UP:]:
        t = time.monotonic()
        try:
            run(job)
        except Exception:  # noqa: BLE001 - counted and reported
            errors += 1
        latencies.append(time.monotonic() - t)
    end = time.monotonic()
    out.put((start, end, latencies, errors, close()))


def measure(kind: str, url: str, account: int, jobs: list[Job], clients: int) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(clients), ctx.Queue()
    per = len(jobs) // clients
    procs = [
        ctx.Process(target=client, args=(kind, url, account, jobs[i * per : (i + 1) * per], barrier, out))
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[2])
    span = max(r[1] for r in results) - min(r[0] for r in results)
    return {
        "tps": len(lat) / span,
        "p50_ms": percentile(lat, 50) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
        "errors": float(sum(r[3] for r in results)),
        "n": float(len(lat)),
        "statements": sum(r[4] for r in results) / (len(lat) + WARM_UP * clients),
    }


def profile(url: str, account: int, jobs: list[Job], out: str) -> None:
    """Run the service transactions in this process under pyinstrument; write the text report."""
    from pyinstrument import Profiler

    run, close = service_worker(url, account)
    for job in jobs[:WARM_UP]:
        run(job)
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    start, cpu = time.perf_counter(), time.process_time()
    with profiler:
        for job in jobs[WARM_UP:]:
            run(job)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    close()
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(profiler.output_text(unicode=False, show_all=False, timeline=False))
    n = len(jobs) - WARM_UP
    print(
        f"profiled {n} service transactions: {took / n * 1000:.2f} ms wall, {cpu / n * 1000:.2f} ms CPU "
        f"of this process each (profiler included); report in {out}"
    )


def overbooking(url: str) -> tuple[int, int]:
    """Return (districts above capacity, persons with two open attachments)."""
    engine = make_engine(url)
    try:
        return campaign.overbooking(engine)
    finally:
        engine.dispose()


def chain_findings(url: str, keys: set[str]) -> int:
    """Return the findings of `emhana audit verify` in the chains of the given persons (the service and
    raw_full must leave them clean; the lean raw transaction and the generated country leave rows unlinked)."""
    from emhana.trust.chain.verify import verify

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sum(1 for f in verify(conn).findings if f.chain_key in keys)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--population", type=int, default=30_000)
    parser.add_argument("--transactions", type=int, default=2_000, help="per configuration")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="a tiny run (3,000 persons, 40 transactions)")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="instead of measuring, run the service transactions in this process under "
        "pyinstrument and write its text report to FILE",
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgresql", "postgres")):
        parser.error("bench_attach needs PostgreSQL")
    population, n = (3_000, 40) if args.smoke else (args.population, args.transactions)
    counts = [int(c) for c in args.clients.split(",")]
    configs = [(kind, c) for c in counts for kind in WORKERS]
    share = [n + WARM_UP * c for _, c in configs]
    print(
        f"bench_attach: {population:,} persons, {n:,} transactions per configuration; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    figures: dict[str, float] = {}
    with migrated_schema(args.database_url, "bench_attach") as url:
        t0 = time.perf_counter()
        jobs, account = prepare(url, population, args.seed, sum(share))
        print(f"setup (generate, documents, targets): {time.perf_counter() - t0:.1f} s")
        if args.profile:
            profile(url, account, jobs[:n], args.profile)
            return figures
        rows = []
        chained: set[str] = set()  # the appliers whose writer keeps the hash chains (all but the lean raw)
        for i, (kind, c) in enumerate(configs):
            part = jobs[sum(share[:i]) : sum(share[: i + 1])]
            chained.update(str(j[0]) for j in part if kind != "raw")
            r = measure(kind, url, account, part, c)
            for key, value in r.items():
                figures[f"{kind}_{c}_{key}"] = value
            rows.append(
                (
                    kind,
                    str(c),
                    f"{r['tps']:,.0f}",
                    f"{r['p50_ms']:.2f}",
                    f"{r['p99_ms']:.2f}",
                    f"{r['errors']:.0f}",
                    f"{r['statements']:.1f}",
                )
            )
        over, double = overbooking(url)
        findings = chain_findings(url, chained)
    figures["chain_findings"] = float(findings)
    figures["overbooked_districts"], figures["double_attached"] = float(over), float(double)
    print(table(rows, ("transaction", "clients", "tx/s", "p50 ms", "p99 ms", "errors", "statements/tx")))
    for c in counts:
        figures[f"ratio_{c}"] = figures[f"service_{c}_tps"] / figures[f"raw_{c}_tps"]
        figures[f"ratio_full_{c}"] = figures[f"service_{c}_tps"] / figures[f"raw_full_{c}_tps"]
        print(
            f"service / raw at {c} client(s): {figures[f'ratio_{c}']:.2f} against the lean raw transaction, "
            f"{figures[f'ratio_full_{c}']:.2f} against raw_full, the same transaction (goal >= 0.5)"
        )
    print(
        f"districts over capacity: {over}; persons with two open attachments: {double}; "
        f"hash-chain findings in the appliers' chains (emhana audit verify): {findings}"
    )
    return figures


if __name__ == "__main__":
    main()
