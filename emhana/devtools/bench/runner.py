"""One benchmark run at a scale: build the national dataset in a scratch schema, measure each part beside its
baseline in the same process, report memory and database size, drop the schema."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import platform
import shutil
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from emhana.devtools.bench import campaign, clients, http, reads, seals
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
LOAD_GOAL_MINUTES = 15.0
CAPITATION_GOAL_S = 60.0
CAMPAIGN_GOAL_TPS, CAMPAIGN_GOAL_P99 = 1_000.0, 50.0
NEAR_GOAL_P99 = 5.0
HTTP_GOAL_RPS, HTTP_GOAL_P99 = 1_000.0, 50.0


def disk_check(scale: Scale, say: Say) -> str | None:
    """Warn when the free disk looks too small for the dataset, its baseline copy and spool files."""
    baseline = scale.persons if scale.baseline_persons is None else min(scale.persons, scale.baseline_persons)
    need = scale.persons * BYTES_PER_PERSON * 1.3 + baseline * BASELINE_BYTES_PER_PERSON
    free = shutil.disk_usage("/").free
    if free < need:
        return f"free disk {free / 1e9:.0f} GB may be short of the ~{need / 1e9:.0f} GB this scale needs"
    say(f"disk: {free / 1e9:.0f} GB free, this scale needs about {need / 1e9:.0f} GB")
    return None


def run(scale: Scale | str, database_url: str, *, seed: int = 1, say: Say | None = None) -> Report:
    """Run every part at a scale on PostgreSQL and return the report (the scratch schemas are dropped)."""
    scale = SCALES[scale] if isinstance(scale, str) else scale
    base = normalize_url(database_url)
    if not base.startswith("postgresql"):
        raise ValueError("emhana bench needs PostgreSQL (COPY, a server shared by client processes)")
    say = say or (lambda _msg: None)
    report = Report(scale.name)
    report.context = {
        "persons": scale.persons,
        "books": scale.books,
        "entries": scale.entries,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "started": clock.now().isoformat(timespec="seconds"),
        "load_average": os.getloadavg()[0],
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
            say("HTTP reads through uvicorn (2 workers) ...")
            _http(report, engine, url, scale, seed)
            size = schema_size_bytes(engine)
            report.add(Figure("db.size_mb", "database size (schema: tables, indexes, TOAST)", "MB", size / 2**20))
            report.extra["db.bytes_per_person"] = size / scale.persons
        finally:
            engine.dispose()
    own, _children = peak_memory_mb()  # children: a forked child starts with the parent's RSS; not used
    report.add(Figure("memory.peak_mb", "peak memory, benchmark process (max RSS)", "MB", own))
    report.extra["total_s"] = time.perf_counter() - started
    report.context["load_average_end"] = os.getloadavg()[0]
    return report


def _load(report: Report, engine: Engine, base: str, scale: Scale, seed: int, say: Say) -> None:
    load = load_population(engine, scale.persons, seed)
    s = load.stats
    rate = s.persons / s.person_seconds
    say(f"  generated in {load.wall_seconds:.1f} s ({rate:,.0f} persons/s); raw COPY baseline ...")
    raw = raw_copy_baseline(engine, base, s.persons, s.first_person_id, scale.baseline_persons)
    needed = NATIONAL_PERSONS / (LOAD_GOAL_MINUTES * 60)
    report.add(
        Figure(
            "load.persons_per_s",
            "load: persons + address, phone, attachment (generator)",
            "persons/s",
            rate,
            "raw psycopg COPY of the same rows",
            raw.persons / raw.seconds,
            goal=f"20.5 M < {LOAD_GOAL_MINUTES:.0f} min (≥ {needed:,.0f}/s)",
            met=rate >= needed,
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
    report.extra["load.national_minutes_projected"] = NATIONAL_PERSONS / rate / 60
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
            "capitation snapshot, stored (take_snapshot)",
            "s",
            c["snapshot_s"],
            "bare GROUP BY entity",
            c["bare_s"],
            higher_is_better=False,
            goal=f"20.5 M < {CAPITATION_GOAL_S:.0f} s (linear: {national:.0f} s)",
            met=national < CAPITATION_GOAL_S,
        )
    )
    report.extra["capitation.national_s_projected"] = national
    report.extra["capitation.persons"] = c["snapshot_total"]


def _near(report: Report, engine: Engine, url: str, scale: Scale, seed: int) -> None:
    n = reads.near_figures(engine, url, scale.near_queries, dt.date(2026, 3, 1), seed)
    assert isinstance(n["service"], list) and isinstance(n["brute"], list)
    qps, p50, p99 = latencies_summary(n["service"])
    bqps, bp50, bp99 = latencies_summary(n["brute"])
    report.add(
        Figure(
            "near.qps",
            "nearest 10 sites with free places (near_free)",
            "queries/s",
            qps,
            "brute-force SQL scan of every site",
            bqps,
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
            goal=f"p99 < {NEAR_GOAL_P99:.0f} ms",
            met=p99 < NEAR_GOAL_P99,
        )
    )
    report.context.setdefault("checks", {})["near_same_sites_share"] = n["agreement"]


def _campaign(report: Report, engine: Engine, url: str, scale: Scale, seed: int) -> None:
    r = clients.burst(engine, url, scale.campaign_transactions, scale.clients, seed, scale.campaign_warm_up)
    errors = 0.0
    for c in scale.clients:
        svc, raw = r[f"service_{c}"], r[f"raw_{c}"]
        goal = c == 8
        report.add(
            Figure(
                f"campaign.{c}.tps",
                f"campaign: application + transfer, {c} client(s)",
                "tx/s",
                svc["tps"],
                "same transaction in raw SQL",
                raw["tps"],
                goal=f"≥ {CAMPAIGN_GOAL_TPS:,.0f} tx/s" if goal else "",
                met=svc["tps"] >= CAMPAIGN_GOAL_TPS if goal else None,
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
                goal=f"p99 < {CAMPAIGN_GOAL_P99:.0f} ms" if goal else "",
                met=svc["p99_ms"] < CAMPAIGN_GOAL_P99 if goal else None,
            )
        )
        errors += svc["errors"] + raw["errors"]
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
        )
    )


def _http(report: Report, engine: Engine, url: str, scale: Scale, seed: int) -> None:
    with engine.connect() as conn:
        entity = conn.scalar(
            text("SELECT entity_id FROM medical_book GROUP BY entity_id ORDER BY COUNT(*) DESC, entity_id LIMIT 1")
        )
        books = list(
            conn.scalars(
                text("SELECT id FROM medical_book WHERE entity_id = :e ORDER BY id LIMIT 10000"), {"e": entity}
            )
        )
        persons = list(conn.scalars(text("SELECT id FROM person TABLESAMPLE SYSTEM (1) LIMIT 10000")))
        if len(persons) < 100:
            persons = list(conn.scalars(text("SELECT id FROM person ORDER BY id LIMIT 10000")))
    token = http.reader_token(engine, int(entity))
    conns, seconds = scale.http_connections, scale.http_seconds
    errors = 0
    peaks: list[float] = []
    with http.server(url, peaks=peaks) as (host, port, _proc):

        def drive(paths: list[str], bearer: str) -> http.Load:
            return http.load(
                host, port, paths, bearer, connections=conns, seconds=seconds, warm_up=scale.http_warm_up, seed=seed
            )

        ping = drive(["/api/v1/ping"], "")
        attach = drive([f"/api/v1/attachment/persons/{p}" for p in persons], token)
        book = drive([f"/api/v1/medbook/books/{b}?purpose=bench" for b in books], token)
    for key, label, r in (
        ("http.attachment", "HTTP GET a person's attachment", attach),
        ("http.clearance", "HTTP GET a worker's book and clearance", book),
    ):
        report.add(
            Figure(
                f"{key}.rps",
                f"{label}, {conns} connections",
                "req/s",
                r.per_second,
                "GET /api/v1/ping, same server",
                ping.per_second,
                goal=f"≥ {HTTP_GOAL_RPS:,.0f} req/s",
                met=r.per_second >= HTTP_GOAL_RPS,
            )
        )
        report.add(
            Figure(
                f"{key}.p99_ms",
                "  p99",
                "ms",
                r.p99_ms,
                "ping p99",
                ping.p99_ms,
                higher_is_better=False,
                goal=f"p99 < {HTTP_GOAL_P99:.0f} ms",
                met=r.p99_ms < HTTP_GOAL_P99,
            )
        )
        report.extra[f"{key}.p50_ms"] = r.p50_ms
        errors += r.errors
    report.extra["http.ping.p50_ms"] = ping.p50_ms
    report.add(Figure("memory.server_peak_mb", "peak memory, uvicorn (supervisor + 2 workers, VmHWM)", "MB", peaks[0]))
    errors += ping.errors
    report.context.setdefault("checks", {})["http_errors"] = errors
    if errors:
        report.notes.append(f"HTTP: {errors} non-2xx responses")
    if not math.isfinite(attach.p99_ms):
        report.notes.append("HTTP: no response completed inside the window")
