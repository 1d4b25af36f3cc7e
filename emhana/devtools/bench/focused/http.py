"""The audited HTTP reads and the public near search beside GET /api/v1/ping, on the real server.

    .venv/bin/emhana bench http
    .venv/bin/emhana bench http --population 20000 --seconds 10 --connections 16
    .venv/bin/emhana bench http --only attachment --seconds 60   # a long window to profile (py-spy) one path

The national run's HTTP part (emhana.devtools.bench.runner._http) without its six minutes: a small country from
the generator (everyone attached) in a scratch PostgreSQL schema, medical books in the national proportion
(emhana.devtools.bench.medbooks), then uvicorn with 2 workers (emhana.devtools.bench.http.server, as the national
run starts it) and a closed loop of keep-alive connections per path: ping, the reference floor, its async twin, a
person's attachment, ping again (the faster ping is the baseline), a book with its clearance, a FHIR Patient, the
near search.
The reference floor (emhana.devtools.bench.floor, a route of the benchmark's server only) is the least an audited
read costs through a sync route and a SQLAlchemy session: the token authenticated as the real routes do, one
indexed query, the read logged through the threaded access log before the answer, a small JSON answer. The real
audited reads now run on the event loop on PostgreSQL (emhana.web.reads: batched reads and an asyncio access log),
so they can pass it. Its async twin (floor_async,
emhana.devtools.bench.floor_async) does the same on the event loop over psycopg's async connections, the reads of
the process's concurrent requests and their access-log writes in one statement: what leaving the thread hop and the
session behind is worth. PostgreSQL CPU ms/req and all CPU ms/req (server, database, load generator) give a CPU
ratio to ping: what the rate ratio would be on an idle machine, an estimate for a shared one. The reader is a
clinician of the entity with the most books (entitled to its population and its books), as in the national run.
Each path's sample answers 200 once before timing (a path that does not is left out and named); only 2xx answers
count. Prints each path's req/s, p50 and p99 and its ratio to ping (issue 18's goal: ≥ 0.5, p99 ≤ 50 ms), and
the load average at the start and end: the machine may be shared, so compare ratios within one run. The schema
is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import resource
from pathlib import Path

from sqlalchemy import Engine, text

from emhana.devtools.bench import floor, floor_async, http
from emhana.devtools.bench.focused import POSTGRES_URL
from emhana.devtools.bench.measure import emit, table
from emhana.devtools.bench.medbooks import load_books
from emhana.devtools.bench.scales import NATIONAL_BOOKS, NATIONAL_ENTRIES, NATIONAL_PERSONS
from emhana.devtools.generator import GeneratorParams, generate
from emhana.kernel.db import make_engine, normalize_url
from emhana.testing.databases import migrated_schema

KINDS = ("ping", "floor", "floor_async", "attachment", "clearance", "fhir_patient", "near")
AUDITED = ("attachment", "clearance", "fhir_patient")
ORDER = ("ping", "floor", "floor_async", "attachment", "ping", "clearance", "fhir_patient", "near")  # ping twice
LABELS = {"floor": "floor (reference)", "floor_async": "floor_async (reference)"}
GOAL_RATIO, GOAL_P99_MS = 0.5, 50.0


def server_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a server's worker processes (Linux /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    try:
        children = [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except OSError:
        return 0.0
    for child in children:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)


def database_cpu(engine: Engine, since: dict[int, float] | None = None) -> dict[int, float]:
    """CPU time so far of each PostgreSQL backend connected to the engine's database (pg_stat_activity; Linux /proc
    on the same machine), with those of ``since`` kept: backends that ended meanwhile are not counted."""
    with engine.connect() as conn:
        pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).all()
    found = dict(since or {})
    found.update({int(p): _process_cpu(int(p)) for p in pids})
    return found


def _own_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None, prog: str | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=POSTGRES_URL, help="PostgreSQL (a scratch schema is made)")
    parser.add_argument("--population", type=int, default=20_000, help="persons, everyone attached")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed window per path")
    parser.add_argument("--warm-up", type=float, default=2.0, help="seconds per path before its window")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (closed loop)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--sample", type=int, default=500, help="persons and books the reads draw from")
    parser.add_argument("--only", action="append", choices=KINDS, help="measure these paths only (repeatable)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="a small country and 1 s windows, to check it works")
    args = parser.parse_args(argv)
    if not normalize_url(args.database_url).startswith("postgresql"):
        parser.error("emhana bench http needs PostgreSQL (the server's workers share it)")
    population = 5_000 if args.smoke else args.population
    seconds, warm_up = (1.0, 0.3) if args.smoke else (args.seconds, args.warm_up)
    sample = 50 if args.smoke else args.sample
    books = max(50, round(population * NATIONAL_BOOKS / NATIONAL_PERSONS))
    entries = max(books, round(population * NATIONAL_ENTRIES / NATIONAL_PERSONS))
    chosen = tuple(k for k in KINDS if not args.only or k in args.only)
    start_load = _load_average()
    figures: dict[str, float] = {}
    with migrated_schema(args.database_url, "bench_http") as url:
        engine = make_engine(url)
        try:
            generate(engine, population=population, seed=args.seed, bulk=True)
            load_books(engine, books, entries, GeneratorParams().as_of)
            from emhana.devtools.bench.runner import _entitled

            entity, persons, book_ids = _entitled(engine, sample)
            token = http.reader_token(engine, entity)
            with engine.connect() as conn:
                sites = conn.execute(text("SELECT lat, lon FROM site ORDER BY md5(id::text) LIMIT 200")).all()
            paths: dict[str, list[http.Call]] = {
                "ping": [http.Call("GET", "/api/v1/ping")],
                "floor": [http.Call("GET", f"{floor.PATH}/{p}", token) for p in persons],
                "floor_async": [http.Call("GET", f"{floor_async.PATH}/{p}", token) for p in persons],
                "attachment": [http.Call("GET", f"/api/v1/attachment/persons/{p}", token) for p in persons],
                "clearance": [http.Call("GET", f"/api/v1/medbook/books/{b}?purpose=bench", token) for b in book_ids],
                "fhir_patient": [http.Call("GET", f"/fhir/R4/Patient/{p}", token) for p in persons],
                "near": [
                    http.Call("GET", f"/api/v1/attachment/near?lat={float(la):.5f}&lon={float(lo):.5f}")
                    for la, lo in sites
                ],
            }
            results: dict[str, http.Load] = {}
            cpu_ms: dict[str, float] = {}
            pg_ms: dict[str, float] = {}  # PostgreSQL's backends of the bench's database, per 2xx answer
            client_ms: dict[str, float] = {}  # the load generator (this process), per 2xx answer
            notes: list[str] = []
            with http.server(url, workers=args.workers) as (host, port, proc):
                emit(f"server pid {proc.pid} (uvicorn, {args.workers} workers) on {host}:{port}")
                for kind in chosen:
                    bad = http.check(host, port, paths[kind], connections=args.connections)
                    if bad:
                        left = {c.path for c, _st in bad}
                        notes.append(
                            f"{kind}: {len(bad)} of {len(paths[kind])} sample paths did not answer 200 "
                            f"(statuses {sorted({st for _c, st in bad})}; e.g. {bad[0][0].path}); left out"
                        )
                        paths[kind] = [c for c in paths[kind] if c.path not in left]
                order = [k for k in ORDER if k in chosen]
                for kind in order:
                    if not paths[kind]:
                        continue
                    cpu, pg, own = server_cpu_seconds(proc.pid), database_cpu(engine), _own_cpu()
                    r = http.load(
                        host,
                        port,
                        paths[kind],
                        connections=args.connections,
                        seconds=seconds,
                        warm_up=warm_up,
                        seed=args.seed,
                    )
                    used = server_cpu_seconds(proc.pid) - cpu
                    own = _own_cpu() - own
                    pg_end = database_cpu(engine, since=pg)
                    pg_used = sum(pg_end[p] - pg.get(p, 0.0) for p in pg_end)
                    earlier = results.get(kind)
                    if earlier is None or r.per_second >= earlier.per_second:
                        results[kind] = r
                        # the workers' CPU over warm-up and window, per 2xx answer (warm-up at the window's rate)
                        served = r.per_second * (seconds + warm_up)
                        cpu_ms[kind] = 1000 * used / served if served else float("nan")
                        pg_ms[kind] = 1000 * pg_used / served if served else float("nan")
                        client_ms[kind] = 1000 * own / served if served else float("nan")
        finally:
            engine.dispose()
    end_load = _load_average()
    ping = results.get("ping")

    def all_cpu(kind: str) -> float:
        return cpu_ms.get(kind, float("nan")) + pg_ms.get(kind, float("nan")) + client_ms.get(kind, float("nan"))

    rows = []
    for kind in KINDS:
        if kind not in results:
            continue
        r = results[kind]
        ratio = r.per_second / ping.per_second if ping and ping.per_second else float("nan")
        audited = kind in AUDITED
        met = ""
        if audited and ping is not None:
            met = "yes" if ratio >= GOAL_RATIO and r.p99_ms <= GOAL_P99_MS and not r.errors else "no"
        rows.append(
            (
                LABELS.get(kind, kind),
                f"{r.per_second:,.0f}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                f"{ratio:.2f}" if kind != "ping" else "1.00",
                f"{cpu_ms.get(kind, float('nan')):.2f}",
                str(r.errors),
                met,
                f"{pg_ms.get(kind, float('nan')):.2f}",
                f"{all_cpu(kind):.2f}",
                f"{all_cpu('ping') / all_cpu(kind):.2f}" if ping is not None else "",
            )
        )
        figures[f"{kind}.rps"] = r.per_second
        figures[f"{kind}.p99_ms"] = r.p99_ms
        figures[f"{kind}.errors"] = float(r.errors)
        figures[f"{kind}.server_cpu_ms"] = cpu_ms.get(kind, float("nan"))
        figures[f"{kind}.database_cpu_ms"] = pg_ms.get(kind, float("nan"))
        figures[f"{kind}.all_cpu_ms"] = all_cpu(kind)
        if kind != "ping":
            figures[f"{kind}.ratio"] = ratio
    emit(
        f"bench http: {population:,} persons, {books:,} books, {len(persons):,} persons / {len(book_ids):,} books "
        f"of the reader's entity; {args.connections} keep-alive connections, {seconds:g} s per path after "
        f"{warm_up:g} s, uvicorn {args.workers} workers; load average start {start_load}, end {end_load}"
    )
    emit(
        table(
            rows,
            (
                "path",
                "req/s",
                "p50 ms",
                "p99 ms",
                "ratio to ping",
                "server CPU ms/req",
                "non-2xx",
                "goal met",
                "PostgreSQL CPU ms/req",
                "all CPU ms/req",
                "CPU ratio to ping",
            ),
        )
    )
    emit(f"goal (issue 18): audited reads ≥ {GOAL_RATIO} of ping, p99 ≤ {GOAL_P99_MS:.0f} ms, no non-2xx")
    emit(
        "server CPU ms/req: the uvicorn workers' user + system time over a path's warm-up and window, per 2xx answer "
        "(PostgreSQL's own time not included): steadier than req/s on a shared machine"
    )
    emit(
        "PostgreSQL CPU ms/req: its backends connected to the bench's database (not the WAL writer, nor backends that "
        "ended meanwhile); all CPU ms/req: server + PostgreSQL + the load generator; CPU ratio to ping: ping's all "
        "CPU over the path's, what the rate ratio would be if every process had the cores to itself (an estimate, "
        "for a shared machine; never the figure of the goal)"
    )
    reference = results.get("floor")
    if reference is not None:
        emit(
            "floor (reference): a bench-only route (emhana.devtools.bench.floor): the token authenticated as the real "
            "routes did before they moved to the event loop, one indexed query in a SQLAlchemy session in a worker "
            "thread, the read logged through the threaded access log before the answer: the best a sync read can do "
            "(the audited reads now run on the event loop on PostgreSQL: emhana.web.reads)"
        )
        of_floor = [
            f"{k} {results[k].per_second / reference.per_second:.2f}" if reference.per_second else f"{k} -"
            for k in ("floor_async", *AUDITED)
            if k in results
        ]
        if of_floor:
            # "-": the floor completed no answer in its window (a busy machine and a short window), no fraction
            emit("audited reads as a fraction of the floor's req/s: " + ", ".join(of_floor))
    if "floor_async" in results:
        emit(
            "floor_async (reference): the same read on the event loop (emhana.devtools.bench.floor_async): no worker "
            "thread, no SQLAlchemy session; the reads of the process's concurrent requests and their access-log "
            "writes in one autocommit statement on psycopg's async connections, committed before any is answered: "
            "the least an audited read on the event loop costs (the real reads batch their reads and their log "
            "apart: emhana.kernel.batched, emhana.audit.readlog_async)"
        )
    for n in notes:
        emit(f"note: {n}")
    return figures


if __name__ == "__main__":
    main()
