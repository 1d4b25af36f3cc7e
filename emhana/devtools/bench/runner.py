"""One benchmark run at a scale: build the national dataset in a scratch schema, measure each part beside its
baseline in the same process, report memory and database size, drop the schema."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import os
import platform
import shutil
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from emhana.devtools.bench import campaign, clients, fhir_ingest, http, profiles, reads, seals
from emhana.devtools.bench.dataset import load_population, raw_copy_baseline
from emhana.devtools.bench.fhir_ingest import fhir_figures
from emhana.devtools.bench.measure import Figure, Report, latencies_summary, peak_memory_mb, schema_size_bytes
from emhana.devtools.bench.medbooks import load_books
from emhana.devtools.bench.scales import NATIONAL_PERSONS, SCALES, Scale
from emhana.devtools.generator import GeneratorParams
from emhana.kernel import clock
from emhana.kernel.db import make_engine, normalize_url
from emhana.testing.databases import migrated_schema

log = logging.getLogger(__name__)
Say = Callable[[str], None]
BYTES_PER_PERSON = 1_100  # measured at 1 M: persons, addresses, phones, attachments, books, indexes
BASELINE_BYTES_PER_PERSON = 1_300  # the baseline schema's copy of the person rows and their spool files
# The goals of issue 18's table (docs/scale.md; benchmarks/RESULTS.md), each judged beside its baseline in the run.
LOAD_GOAL_MINUTES = 15.0  # 20.5 M persons loaded, whole load part (analyze and indexes included)
LOAD_GOAL_RATIO = 0.6  # of the raw COPY of the same rows, chain links written
CAPITATION_GOAL_TIMES = 4.0  # the stored snapshot at most 4x the bare GROUP BY
CAMPAIGN_GOAL_RATIO, CAMPAIGN_GOAL_P99, CAMPAIGN_GOAL_CLIENTS = 0.5, 30.0, 8  # of the lean raw transaction
NEAR_GOAL_TIMES, NEAR_GOAL_P99 = 10.0, 5.0  # x the brute-force scan, ms
FHIR_GOAL_PER_S, FHIR_GOAL_BUNDLE = 2_000.0, 100  # resources/s in bundles of 100
SEAL_GOAL_RATIO = 0.7  # of a raw ES256 verify
HTTP_GOAL_RATIO, HTTP_GOAL_P99 = 0.5, 50.0  # audited reads: of ping on the same server, ms
PROFILE_NAMES = ("campaign-peak", "clearance-checks")


def disk_check(scale: Scale, say: Say) -> str | None:
    """Warn when the free disk looks too small for the dataset, its baseline copy and spool files."""
    baseline = scale.persons if scale.baseline_persons is None else min(scale.persons, scale.baseline_persons)
    need = scale.persons * BYTES_PER_PERSON * 1.3 + baseline * BASELINE_BYTES_PER_PERSON
    free = shutil.disk_usage("/").free
    if free < need:
        return f"free disk {free / 1e9:.0f} GB may be short of the ~{need / 1e9:.0f} GB this scale needs"
    say(f"disk: {free / 1e9:.0f} GB free, this scale needs about {need / 1e9:.0f} GB")
    return None


def machine() -> dict[str, object]:
    """The machine a run stands on: cores, memory, Python (PostgreSQL's version is read from the server)."""
    ram = 0.0
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            ram = int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) / 2**20
    except (OSError, StopIteration):
        pass
    return {
        "cpus": os.cpu_count(),
        "ram_gb": round(ram, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def run(
    scale: Scale | str,
    database_url: str,
    *,
    seed: int = 1,
    say: Say | None = None,
    profiles_to_run: tuple[str, ...] = PROFILE_NAMES,
    profile_factor: float = 1.0,
    command: str = "",
) -> Report:
    """Run every part at a scale on PostgreSQL and return the report (the scratch schemas are dropped)."""
    scale = SCALES[scale] if isinstance(scale, str) else scale
    base = normalize_url(database_url)
    if not base.startswith("postgresql"):
        raise ValueError("emhana bench needs PostgreSQL (COPY, a server shared by client processes)")
    unknown = [p for p in profiles_to_run if p not in profiles.RUNNERS]
    if unknown:
        raise ValueError(f"unknown load profile(s): {', '.join(unknown)}")
    say = say or (lambda _msg: None)
    report = Report(scale.name)
    report.context = {
        "command": command or f"emhana bench --scale {scale.name}",
        "persons": scale.persons,
        "books": scale.books,
        "entries": scale.entries,
        **machine(),
        "started": clock.now().isoformat(timespec="seconds"),
        "load_average": os.getloadavg()[0],
        "load_average_start": list(os.getloadavg()),
    }
    warning = disk_check(scale, say)
    if warning:
        report.notes.append(warning)
    as_of = GeneratorParams().as_of
    started = time.perf_counter()
    with migrated_schema(base, "bench_nat") as url:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                report.context["postgres"] = str(conn.scalar(text("SHOW server_version")))
                report.context["schemas"] = [str(conn.scalar(text("SELECT current_schema()")))]
            say(f"generating {scale.persons:,} persons (everyone attached) ...")
            _load(report, engine, base, scale, seed, say)
            say(f"medical books: {scale.books:,} books, {scale.entries:,} entries ...")
            books = load_books(engine, scale.books, scale.entries, as_of)
            report.add(
                Figure(
                    "books.rows_per_s",
                    "medical books + journal entries, COPY",
                    "rows/s",
                    (books.books + books.entries) / books.seconds,
                    conditions=f"{books.books:,} books, {books.entries:,} entries",
                )
            )
            report.extra["books.count"], report.extra["books.entries"] = float(books.books), float(books.entries)
            say("capitation ...")
            _capitation(report, engine, scale, as_of)
            say("nearest sites with free places ...")
            _near(report, engine, url, scale, seed)
            say(f"campaign burst, clients {scale.clients} ...")
            _campaign(report, engine, url, scale, seed)
            say("seal verification ...")
            _seal(report, scale)
            say("FHIR ingest ...")
            fhir_figures(report, engine, scale.fhir_entries)
            _fhir_goal(report)
            say("HTTP reads through uvicorn (2 workers) ...")
            peaks: list[float] = []
            # The load generator stands for the balancer (profiles.PROXY): clearance-checks forwards its devices'
            # addresses; the reads send none and are the peer 127.0.0.1 as before.
            with http.server(url, peaks=peaks, env=profiles.PROXY) as (host, port, _proc):
                _http(report, engine, scale, seed, host, port)
                for name in profiles_to_run:
                    if name != "campaign-peak":  # the others run on this server (the system's clock)
                        say(f"load profile {name} (open loop, national rate × {profile_factor:g}) ...")
                        _profile(report, engine, url, scale, name, profile_factor, seed, (host, port))
            report.add(
                Figure("memory.server_peak_mb", "peak memory, uvicorn (supervisor + 2 workers, VmHWM)", "MB", peaks[0])
            )
            if "campaign-peak" in profiles_to_run:
                say(f"load profile campaign-peak (open loop, national rate × {profile_factor:g}) ...")
                _profile(report, engine, url, scale, "campaign-peak", profile_factor, seed)
            size = schema_size_bytes(engine)
            report.add(Figure("db.size_mb", "database size (schema: tables, indexes, TOAST)", "MB", size / 2**20))
            report.extra["db.bytes_per_person"] = size / scale.persons
        finally:
            engine.dispose()
    own, _children = peak_memory_mb()  # children: a forked child starts with the parent's RSS; not used
    report.add(Figure("memory.peak_mb", "peak memory, benchmark process (max RSS)", "MB", own))
    report.extra["total_s"] = time.perf_counter() - started
    report.context["load_average_end"] = os.getloadavg()[0]
    report.context["load_average_end_all"] = list(os.getloadavg())
    return report


def _load(report: Report, engine: Engine, base: str, scale: Scale, seed: int, say: Say) -> None:
    load = load_population(engine, scale.persons, seed)
    s = load.stats
    rate = s.persons / s.person_seconds
    say(f"  generated in {load.wall_seconds:.1f} s ({rate:,.0f} persons/s); raw COPY baseline ...")
    raw = raw_copy_baseline(engine, base, s.persons, s.first_person_id, scale.baseline_persons)
    raw_rate = raw.persons / raw.seconds
    report.add(
        Figure(
            "load.persons_per_s",
            "load: persons + address, phone, attachment (generator, person rows' time)",
            "persons/s",
            rate,
            "raw psycopg COPY of the same rows",
            raw_rate,
            goal=f"≥ {LOAD_GOAL_RATIO} of raw COPY, chain links written",
            met=rate >= LOAD_GOAL_RATIO * raw_rate,
            conditions=f"{s.persons:,} persons into an empty schema; baseline {raw.persons:,} persons",
        )
    )
    report.add(
        Figure(
            "load.rows_per_s",
            "load: rows of person, address, phone, attachment",
            "rows/s",
            s.person_rows / s.person_seconds,
            "raw COPY",
            raw.rows / raw.seconds,
        )
    )
    # The national time: measured whole at the full scale; elsewhere projected, both ways, and labelled so.
    wall_national = load.wall_seconds * NATIONAL_PERSONS / scale.persons / 60
    full = scale.persons >= NATIONAL_PERSONS
    report.add(
        Figure(
            "load.wall_min",
            "load: wall time of the whole load part (sites, persons, attachments, analyze, indexes)"
            + ("" if full else f"; × {NATIONAL_PERSONS / scale.persons:,.1f} → 20.5 M projected"),
            "min",
            load.wall_seconds / 60 if full else wall_national,
            higher_is_better=False,
            goal=f"20.5 M ≤ {LOAD_GOAL_MINUTES:.0f} min" + ("" if full else " (projected from wall time)"),
            met=(load.wall_seconds / 60 if full else wall_national) <= LOAD_GOAL_MINUTES,
            conditions=f"measured {load.wall_seconds:,.1f} s for {s.persons:,} persons",
        )
    )
    report.extra["load.national_minutes_projected"] = NATIONAL_PERSONS / rate / 60
    report.extra["load.national_minutes_projected_from_wall"] = wall_national
    report.extra["load.wall_s"] = load.wall_seconds
    report.extra["load.analyze_s"] = s.analyze_seconds
    report.extra["load.sites"], report.extra["load.districts"] = float(s.sites), float(s.districts)
    report.extra["load.attachments"] = float(s.attachments)
    report.extra["load.baseline_persons"] = float(raw.persons)
    report.extra["load.baseline_mb_spooled"] = raw.bytes / 2**20
    report.context["schemas"].append(raw.schema)
    if s.unattached:
        report.notes.append(f"{s.unattached:,} persons left unattached by the generator (no free place)")


def _capitation(report: Report, engine: Engine, scale: Scale, as_of: dt.date) -> None:
    c = reads.capitation_figures(engine, as_of)
    national = c["snapshot_s"] * NATIONAL_PERSONS / scale.persons
    report.add(
        Figure(
            "capitation.snapshot_s",
            "capitation snapshot, stored with trace (take_snapshot)",
            "s",
            c["snapshot_s"],
            "bare GROUP BY entity",
            c["bare_s"],
            higher_is_better=False,
            goal=f"≤ {CAPITATION_GOAL_TIMES:.0f}× the GROUP BY",
            met=c["snapshot_s"] <= CAPITATION_GOAL_TIMES * c["bare_s"],
            conditions=f"{int(c['snapshot_total']):,} persons attached",
        )
    )
    report.extra["capitation.national_s_projected"] = national
    report.extra["capitation.persons"] = c["snapshot_total"]


def _near(report: Report, engine: Engine, url: str, scale: Scale, seed: int) -> None:
    n = reads.near_figures(engine, url, scale.near_queries, dt.date(2026, 3, 1), seed)
    assert isinstance(n["service"], list) and isinstance(n["brute"], list)
    qps, p50, p99 = latencies_summary(n["service"])
    bqps, bp50, bp99 = latencies_summary(n["brute"])
    conditions = f"{scale.near_queries:,} queries back to back, one connection, warm"
    report.add(
        Figure(
            "near.qps",
            "nearest 10 sites with free places (near_free)",
            "queries/s",
            qps,
            "brute-force SQL scan of every site",
            bqps,
            goal=f"≥ {NEAR_GOAL_TIMES:.0f}× the scan",
            met=qps >= NEAR_GOAL_TIMES * bqps,
            conditions=conditions,
        )
    )
    report.add(Figure("near.p50_ms", "  p50", "ms", p50, "brute force", bp50, higher_is_better=False))
    report.add(
        Figure(
            "near.p99_ms",
            "  p99",
            "ms",
            p99,
            "brute force",
            bp99,
            higher_is_better=False,
            goal=f"p99 ≤ {NEAR_GOAL_P99:.0f} ms",
            met=p99 <= NEAR_GOAL_P99,
        )
    )
    report.context.setdefault("checks", {})["near_same_sites_share"] = n["agreement"]


def _campaign(report: Report, engine: Engine, url: str, scale: Scale, seed: int) -> None:
    r = clients.burst(engine, url, scale.campaign_transactions, scale.clients, seed, scale.campaign_warm_up)
    errors = 0.0
    for c in scale.clients:
        svc, raw, full = r[f"service_{c}"], r[f"raw_{c}"], r[f"raw_full_{c}"]
        failed = svc["errors"] + raw["errors"] + full["errors"]
        goal = c == CAMPAIGN_GOAL_CLIENTS
        conditions = f"{c} client process(es), {scale.campaign_transactions:,} transactions each kind, warm"
        if failed:
            conditions += f"; {int(failed)} failed (the figure is void)"
        report.add(
            Figure(
                f"campaign.{c}.tps",
                f"campaign: application + transfer, {c} client(s)",
                "tx/s",
                svc["tps"],
                "same transaction in lean raw SQL",
                raw["tps"],
                goal=f"≥ {CAMPAIGN_GOAL_RATIO} of lean raw",
                met=svc["tps"] >= CAMPAIGN_GOAL_RATIO * raw["tps"] and not failed,
                conditions=conditions,
            )
        )
        report.add(
            Figure(f"campaign.{c}.p50_ms", "  p50", "ms", svc["p50_ms"], "raw", raw["p50_ms"], higher_is_better=False)
        )
        report.add(
            Figure(
                f"campaign.{c}.p99_ms",
                "  p99",
                "ms",
                svc["p99_ms"],
                "raw",
                raw["p99_ms"],
                higher_is_better=False,
                goal=f"p99 ≤ {CAMPAIGN_GOAL_P99:.0f} ms" if goal else "",
                met=svc["p99_ms"] <= CAMPAIGN_GOAL_P99 and not failed if goal else None,
            )
        )
        # The reference: the service's whole work (rule reads, outbox, chain links) in hand-written SQL, beside the
        # same lean baseline: what that work costs on this machine whoever writes it (no goal).
        report.add(
            Figure(
                f"campaign.{c}.raw_full_tps",
                f"campaign reference: the same work in hand-written SQL (bench-only, raw_full; no goal), {c} client(s)",
                "tx/s",
                full["tps"],
                "same transaction in lean raw SQL",
                raw["tps"],
                conditions=conditions,
            )
        )
        errors += failed
    over, double = campaign.overbooking(engine)
    report.context.setdefault("checks", {}).update(
        {"campaign_errors": int(errors), "overbooked_districts": over, "double_attached": double}
    )
    if over or double or errors:
        report.notes.append(
            f"campaign: {int(errors)} failed transactions, {over} districts over capacity, "
            f"{double} persons with two open attachments"
        )


def _seal(report: Report, scale: Scale) -> None:
    s = seals.seal_figures(scale.seal_calls)
    report.add(
        Figure(
            "seal.verify_per_s",
            "QR seal verification (base45 → COSE → ES256 → checks)",
            "per s",
            s["verify_per_s"],
            "raw cryptography ES256 verify",
            s["raw_per_s"],
            goal=f"≥ {SEAL_GOAL_RATIO} of raw",
            met=s["verify_per_s"] >= SEAL_GOAL_RATIO * s["raw_per_s"],
            conditions=f"in process, median of 3 × {scale.seal_calls:,} calls, trust context cached",
        )
    )


def _fhir_goal(report: Report) -> None:
    """Give the FHIR ingest figure (emhana.devtools.bench.fhir_ingest) its goal and conditions."""
    per_bundle = int(getattr(fhir_ingest, "PER_BUNDLE", 0))
    for i, f in enumerate(report.lines):
        if f.key == "fhir.ingest_per_s":
            report.lines[i] = dataclasses.replace(
                f,
                goal=f"≥ {FHIR_GOAL_PER_S:,.0f} resources/s in bundles of {FHIR_GOAL_BUNDLE}",
                met=f.value >= FHIR_GOAL_PER_S and per_bundle == FHIR_GOAL_BUNDLE,
                conditions=f.conditions or f"bundles of {per_bundle} resources, signed, one client",
            )


def _entitled(engine: Engine, limit: int) -> tuple[int, list[int], list[int]]:
    """The entity with the most medical books, persons attached to it today (its population: a clinician of it
    reads them without a stated purpose) and its books (it issued them)."""
    with engine.connect() as conn:
        entity = int(
            conn.scalar(
                text("SELECT entity_id FROM medical_book GROUP BY entity_id ORDER BY COUNT(*) DESC, entity_id LIMIT 1")
            )
        )
        books = list(
            conn.scalars(
                text("SELECT id FROM medical_book WHERE entity_id = :e ORDER BY id LIMIT :n"), {"e": entity, "n": limit}
            )
        )
        persons = list(
            conn.scalars(
                text(
                    "SELECT person_id FROM attachment WHERE entity_id = :e AND end_date IS NULL "
                    "AND begin_date <= CURRENT_DATE ORDER BY md5(person_id::text) LIMIT :n"
                ),
                {"e": entity, "n": limit},
            )
        )
    return entity, persons, books


def _http(report: Report, engine: Engine, scale: Scale, seed: int, host: str, port: int) -> None:
    """The audited reads, the FHIR Patient read and the public near search beside ping, on a running server."""
    entity, persons, books = _entitled(engine, scale.http_sample)
    token = http.reader_token(engine, entity)
    with engine.connect() as conn:
        sites = conn.execute(text("SELECT lat, lon FROM site ORDER BY md5(id::text) LIMIT 200")).all()
    conns, seconds = scale.http_connections, scale.http_seconds
    paths: dict[str, list[http.Call]] = {
        "ping": [http.Call("GET", "/api/v1/ping")],
        # the reference floor: a bench-only route (emhana.devtools.bench.floor), the least an audited read costs
        "floor": [http.Call("GET", f"/bench/floor/{p}", token) for p in persons],
        # its async twin (emhana.devtools.bench.floor_async): no worker thread, no SQLAlchemy session, the reads
        # and their access-log writes of concurrent requests in one statement
        "floor_async": [http.Call("GET", f"/bench/floor-async/{p}", token) for p in persons],
        "attachment": [http.Call("GET", f"/api/v1/attachment/persons/{p}", token) for p in persons],
        "clearance": [http.Call("GET", f"/api/v1/medbook/books/{b}?purpose=bench", token) for b in books],
        "fhir_patient": [http.Call("GET", f"/fhir/R4/Patient/{p}", token) for p in persons],
        "near": [
            http.Call("GET", f"/api/v1/attachment/near?lat={float(lat):.5f}&lon={float(lon):.5f}") for lat, lon in sites
        ],
    }
    results: dict[str, http.Load] = {}
    refused: dict[str, int] = {}
    for kind, calls in paths.items():  # each sample path answers 200 once before timing, or is left out
        bad = http.check(host, port, calls, connections=conns)
        if bad:
            refused[kind] = len(bad)
            report.notes.append(
                f"HTTP {kind}: {len(bad)} of {len(calls)} sample paths did not answer 200 before timing "
                f"(statuses {sorted({st for _c, st in bad})}; e.g. {bad[0][0].path}); left out"
            )
            left = {c.path for c, _st in bad}
            paths[kind] = [c for c in calls if c.path not in left]
    for kind in ("ping", "floor", "floor_async", "attachment", "ping", "clearance", "fhir_patient", "near"):
        calls = paths[kind]
        if not calls:
            continue
        r = http.load(host, port, calls, connections=conns, seconds=seconds, warm_up=scale.http_warm_up, seed=seed)
        earlier = results.get(kind)
        if earlier is not None and earlier.per_second > r.per_second:  # ping twice: keep the faster baseline
            r = earlier
        results[kind] = r
    ping = results["ping"]
    conditions = (
        f"{conns} keep-alive connections, closed loop, {seconds:g} s after a {scale.http_warm_up:g} s warm-up; "
        f"{len(paths['attachment']):,} persons / {len(paths['clearance']):,} books of the reader's entity "
        f"(book history: {report.extra.get('books.entries', 0) / max(1.0, report.extra.get('books.count', 1)):.1f} "
        "entries a book), uvicorn 2 workers, warm"
    )
    errors = sum(refused.values())
    statuses: dict[str, dict[int, int]] = {}
    for key, label, audited in (
        ("floor", "HTTP GET reference floor (bench-only: token, one indexed query, access log; no goal)", False),
        (
            "floor_async",
            "HTTP GET reference floor, async (bench-only: the floor on the event loop over psycopg; no goal)",
            False,
        ),
        ("attachment", "HTTP GET a person's attachment (audited, clinician of its entity)", True),
        ("clearance", "HTTP GET a worker's book and clearance (audited, its issuer)", True),
        ("fhir_patient", "HTTP GET FHIR Patient (audited, clinician of its entity)", True),
        ("near", "HTTP GET public near search with free places (no token)", False),
    ):
        if key not in results:
            continue
        r = results[key]
        report.add(
            Figure(
                f"http.{key}.rps",
                f"{label}, {conns} connections",
                "req/s",
                r.per_second,
                "GET /api/v1/ping, same server",
                ping.per_second,
                goal=f"≥ {HTTP_GOAL_RATIO} of ping" if audited else "",
                met=(r.per_second >= HTTP_GOAL_RATIO * ping.per_second and not r.errors) if audited else None,
                conditions=conditions,
            )
        )
        report.add(
            Figure(
                f"http.{key}.p99_ms",
                "  p99",
                "ms",
                r.p99_ms,
                "ping p99",
                ping.p99_ms,
                higher_is_better=False,
                goal=f"p99 ≤ {HTTP_GOAL_P99:.0f} ms" if audited else "",
                met=(r.p99_ms <= HTTP_GOAL_P99) if audited else None,
            )
        )
        report.extra[f"http.{key}.p50_ms"] = r.p50_ms
        report.extra[f"http.{key}.errors"] = float(r.errors)
        errors += r.errors
        if r.statuses:
            statuses[key] = r.statuses
        if not math.isfinite(r.p99_ms):
            report.notes.append(f"HTTP {key}: no 2xx response completed inside the window")
    report.extra["http.ping.p50_ms"] = ping.p50_ms
    errors += ping.errors
    report.context.setdefault("checks", {})["http_errors"] = errors
    if errors:
        report.notes.append(f"HTTP: {errors} non-2xx responses (not counted in any rate): {statuses}")


def _profile(
    report: Report,
    engine: Engine,
    url: str,
    scale: Scale,
    name: str,
    factor: float,
    seed: int,
    served: tuple[str, int] | None = None,
) -> None:
    """One load profile (emhana.devtools.bench.profiles): offered vs achieved rate and p50/p99 per kind."""
    runner = profiles.RUNNERS[name]
    out = runner(
        engine,
        url,
        seconds=scale.profile_seconds,
        warm_up=scale.http_warm_up,
        factor=factor,
        seed=seed + 17,
        served=served,
    )
    key = name.replace("-", "_")
    conditions = (
        f"open loop, Poisson arrivals at the national rate × {factor:g} for {scale.profile_seconds:g} s after a "
        f"{scale.http_warm_up:g} s warm-up; latency from the scheduled instant; uvicorn 2 workers"
    )
    for rate, r in zip(out.rates, out.results, strict=True):
        offered = r.offered / r.seconds  # the arrivals the schedule made in the window (Poisson about the rate)
        report.add(
            Figure(
                f"profile.{key}.{r.name}.achieved_per_s",
                f"{name}: {rate.what}; 2xx answers in the window",
                "req/s",
                r.achieved_rate,
                f"offered: arrivals in the window (national {rate.per_second / factor:.2f}/s: {rate.derivation})",
                offered,
                goal="achieved ≈ offered, 0 errors",
                met=r.errors == 0 and r.achieved_rate >= 0.9 * offered,
                conditions=conditions,
            )
        )
        report.add(Figure(f"profile.{key}.{r.name}.p50_ms", "  p50", "ms", r.p50_ms, higher_is_better=False))
        report.add(Figure(f"profile.{key}.{r.name}.p99_ms", "  p99", "ms", r.p99_ms, higher_is_better=False))
        report.extra[f"profile.{key}.{r.name}.offered"] = float(r.offered)
        report.extra[f"profile.{key}.{r.name}.errors"] = float(r.errors)
        if r.statuses:
            report.notes.append(f"{name} {r.name}: {r.errors} errors by status {r.statuses}")
    checks = report.context.setdefault("checks", {})
    checks[f"profile_{key}_errors"] = out.errors + int(
        sum(v for k, v in out.checks.items() if k.startswith("precheck"))
    )
    for k, v in out.checks.items():
        if k in ("overbooked_districts", "double_attached"):  # the whole schema after the profile
            checks[k] = max(int(checks.get(k, 0)), int(v))
        else:
            report.extra[f"profile.{key}.{k}"] = v
    report.notes.extend(out.notes)
    report.context.setdefault("profiles", {})[name] = {
        "factor": factor,
        "seconds": scale.profile_seconds,
        "rates": [dataclasses.asdict(r) for r in out.rates],
    }
