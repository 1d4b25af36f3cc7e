"""Client processes of a campaign burst: each runs its share of the jobs through one kind of attach transaction.

Clients are processes (forkserver, emhana preloaded), each with its own connection; after an untimed warm-up
they wait for each other, then run their jobs back to back. Throughput = transactions / (first start .. last
finish) of the transactions that committed; latency per committed transaction on the client; a failed one is
counted as an error only (never in the rate or the latencies), not raised. The kinds are the
service (`attachment.service.submit`), the lean raw SQL transaction (emhana.devtools.bench.campaign) and the
whole transaction in raw SQL (emhana.devtools.bench.raw_full).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from emhana.devtools.bench.campaign import Job, prepare, raw_worker, service_worker
from emhana.devtools.bench.measure import percentile
from emhana.devtools.bench.raw_full import raw_full_worker

WORKERS: dict[str, Callable[[str, int], Any]] = {
    "raw": raw_worker,
    "raw_full": raw_full_worker,
    "service": service_worker,
}
# The national run's burst: the service beside the lean raw transaction, and the service's whole work in hand-written
# SQL as a reference (what that work costs on the machine, whoever writes it).
KINDS = ("raw", "raw_full", "service")


def client(kind: str, url: str, account: int, jobs: list[Job], warm_up: int, barrier: Any, out: Any) -> None:
    """One client process: connect, warm up, wait for the others, run its jobs, report (start, end, latencies,
    errors, SQL statements sent)."""
    try:
        run, close = WORKERS[kind](url, account)
        for job in jobs[:warm_up]:  # not timed: the first calls compile and cache statements
            run(job)
    except Exception:  # a client that cannot start reports it instead of leaving the others waiting for ever
        traceback.print_exc()
        barrier.abort()
        out.put((time.monotonic(), time.monotonic(), [], len(jobs), 0))
        return
    barrier.wait()
    latencies: list[float] = []
    errors = 0
    start = time.monotonic()
    for job in jobs[warm_up:]:
        t = time.monotonic()
        try:
            run(job)
        except Exception as exc:  # noqa: BLE001 - counted and reported, never timed: a failure is no transaction
            if not errors:  # the first one named on stderr (synthetic data): what failed, not only how many
                sys.stderr.write(f"bench client: a transaction failed: {type(exc).__name__}: {str(exc)[:300]}\n")
            errors += 1
            continue
        latencies.append(time.monotonic() - t)
    end = time.monotonic()
    out.put((start, end, latencies, errors, close()))


def measure(kind: str, url: str, account: int, jobs: list[Job], clients: int, warm_up: int) -> dict[str, float]:
    """Run the jobs split over `clients` processes; return tx/s, p50/p99 ms, errors, the count and the SQL
    statements per transaction (warm-up included)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["emhana.devtools.bench.clients", "emhana.attachment.application.service"])
    barrier, out = ctx.Barrier(clients), ctx.Queue()
    per = len(jobs) // clients
    procs = [
        ctx.Process(target=client, args=(kind, url, account, jobs[i * per : (i + 1) * per], warm_up, barrier, out))
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[2])  # committed transactions only
    span = max(r[1] for r in results) - min(r[0] for r in results)
    return {
        "tps": len(lat) / span if span > 0 else 0.0,
        "p50_ms": percentile(lat, 50) * 1000,  # NaN when nothing committed
        "p99_ms": percentile(lat, 99) * 1000,
        "errors": float(sum(r[3] for r in results)),
        "n": float(len(lat)),
        "statements": sum(r[4] for r in results) / (len(lat) + warm_up * clients),
    }


@dataclass(frozen=True)
class Part:
    """One configuration of a burst: a kind of transaction, a number of clients, and the jobs they take."""

    kind: str
    clients: int
    jobs: list[Job]


def jobs_needed(kinds: tuple[str, ...], clients: tuple[int, ...], transactions: int, warm_up: int) -> int:
    """The jobs a burst takes: per (kind, clients) configuration its transactions and every client's warm-up."""
    return sum(transactions + warm_up * c for c in clients for _ in kinds)


def parts(
    jobs: list[Job], kinds: tuple[str, ...], clients: tuple[int, ...], transactions: int, warm_up: int
) -> list[Part]:
    """Split the jobs over every configuration, each kind in turn at each client count, so that every
    transaction applies for other people."""
    out: list[Part] = []
    offset = 0
    for c in clients:
        for kind in kinds:
            n = transactions + warm_up * c
            out.append(Part(kind, c, jobs[offset : offset + n]))
            offset += n
    return out


def burst(
    engine: Engine,
    url: str,
    transactions: int,
    clients: tuple[int, ...],
    seed: int,
    warm_up: int = 2,
    kinds: tuple[str, ...] = KINDS,
) -> dict[str, dict[str, float]]:
    """Run every (kind, clients) configuration on its own people; return the figures keyed 'kind_clients'."""
    jobs, account = prepare(engine, jobs_needed(kinds, clients, transactions, warm_up), seed)
    return {
        f"{p.kind}_{p.clients}": measure(p.kind, url, account, p.jobs, p.clients, warm_up)
        for p in parts(jobs, kinds, clients, transactions, warm_up)
    }
