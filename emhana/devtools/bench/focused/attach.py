"""Attach transactions per second on PostgreSQL: the emhana service beside raw SQL, in the same run.

    .venv/bin/emhana bench attach [--population 30000] [--transactions 2000] [--smoke]
    .venv/bin/emhana bench attach --population 10000 --transactions 400 --profile prof.txt

Setup (not timed): a migrated schema, a synthetic country from the generator (everyone attached), an
identity card on file for the adults who will apply, and for each of them a target district of their
unit, of a fitting profile, with a free place (so every application is approved).

Each transaction is a voluntary change filed on eGov inside the 2026 campaign window and approved at
once: `emhana.attachment.application.service.submit`, the function behind POST /api/v1/attachment/applications,
in a unit of work of its own (the API's). The raw version sends, with psycopg and no ORM, the same
locks and writes: person row FOR NO KEY UPDATE, district row FOR NO KEY UPDATE, count of the district's open
attachments (capacity check), the person's running attachment, INSERT application, UPDATE the old
attachment's end, INSERT the new attachment, three audit events, COMMIT. It skips the rule reads the
service makes (policy, entity inclusion and contract, documents, change count, pending application),
and the notification outbox rows written with each decision. `raw_full` (emhana/devtools/bench/raw_full.py) is the
raw-SQL version of the same transaction: the service's rule reads, the outbox rows and the hash-chain
links too, hand-written SQL with psycopg, no rules evaluated. The transactions and the client processes
are those of the national run's campaign burst (emhana/devtools/bench/campaign.py, clients.py).

Clients are processes, each with its own connection; with N clients each runs transactions/N of them.
Throughput = transactions / (first start ... last finish); latency per transaction on the client.
At the end no district may hold more open attachments than its capacity and nobody two open ones.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from emhana.devtools.bench import campaign
from emhana.devtools.bench.campaign import Job
from emhana.devtools.bench.clients import WORKERS, jobs_needed, measure, parts
from emhana.devtools.bench.focused import POSTGRES_URL
from emhana.devtools.bench.measure import emit, stopwatch, table
from emhana.devtools.generator import generate
from emhana.kernel.db import make_engine
from emhana.testing.databases import migrated_schema

WARM_UP = 3  # untimed transactions per client
KINDS = tuple(WORKERS)  # raw, raw_full, service


def prepare(url: str, population: int, seed: int, needed: int) -> tuple[list[Job], int]:
    """Generate the country, give documents to `needed` adults and pick their targets; return jobs, account."""
    engine = make_engine(url)
    try:
        generate(engine, population=population, seed=seed)
        try:
            return campaign.prepare(engine, needed, seed)
        except RuntimeError as exc:
            raise SystemExit(f"{exc}; raise --population") from exc
    finally:
        engine.dispose()


def profile(url: str, account: int, jobs: list[Job], out: str) -> None:
    """Run the service transactions in this process under pyinstrument; write the text report."""
    from pyinstrument import Profiler

    run, close = campaign.service_worker(url, account)
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
    emit(
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


def main(argv: list[str] | None = None, prog: str | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--population", type=int, default=30_000)
    parser.add_argument("--transactions", type=int, default=2_000, help="per configuration")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--database-url", default=POSTGRES_URL)
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
        parser.error("bench attach needs PostgreSQL")
    population, n = (3_000, 40) if args.smoke else (args.population, args.transactions)
    counts = tuple(int(c) for c in args.clients.split(","))
    emit(
        f"bench attach: {population:,} persons, {n:,} transactions per configuration; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    figures: dict[str, float] = {}
    with migrated_schema(args.database_url, "bench_attach") as url:
        with stopwatch() as setup:
            jobs, account = prepare(url, population, args.seed, jobs_needed(KINDS, counts, n, WARM_UP))
        emit(f"setup (generate, documents, targets): {setup[0]:.1f} s")
        if args.profile:
            profile(url, account, jobs[:n], args.profile)
            return figures
        rows = []
        chained: set[str] = set()  # the appliers whose writer keeps the hash chains (all but the lean raw)
        for part in parts(jobs, KINDS, counts, n, WARM_UP):
            kind, c = part.kind, part.clients
            chained.update(str(j[0]) for j in part.jobs if kind != "raw")
            r = measure(kind, url, account, part.jobs, c, WARM_UP)
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
    emit(table(rows, ("transaction", "clients", "tx/s", "p50 ms", "p99 ms", "errors", "statements/tx")))
    for c in counts:
        figures[f"ratio_{c}"] = figures[f"service_{c}_tps"] / figures[f"raw_{c}_tps"]
        figures[f"ratio_full_{c}"] = figures[f"service_{c}_tps"] / figures[f"raw_full_{c}_tps"]
        emit(
            f"service / raw at {c} client(s): {figures[f'ratio_{c}']:.2f} against the lean raw transaction, "
            f"{figures[f'ratio_full_{c}']:.2f} against raw_full, the same transaction (goal >= 0.5)"
        )
    emit(
        f"districts over capacity: {over}; persons with two open attachments: {double}; "
        f"hash-chain findings in the appliers' chains (emhana audit verify): {findings}"
    )
    return figures


if __name__ == "__main__":
    main()
