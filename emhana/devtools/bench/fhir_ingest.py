"""FHIR bundle ingest (emhana.fhir.inbound.ingest) beside a bulk insert (COPY) of the same journal entries.

An MIS account of the entity that issued the books posts transaction Bundles for its workers: per worker a
bundle of ``PER_BUNDLE`` (100) results, an X-ray DiagnosticReport, an Immunization and laboratory Observations,
with a Provenance signed (detached CMS) by a registered clinician whose certificate chains to a demo CA the run
trusts. Bundles are built and signed before the clock starts (the MIS does that). Timed: each bundle ingested
in its own unit of work, as the API does, into books that keep the history the load gave them; at least
``TIMED_BUNDLES`` bundles past the smoke scale, for a rate that holds from run to run. The untimed
warm-up bundle fills the caches a running server has (the FHIR models, the code map, the signer's validated
certificate path: ``emhana.trust.signatures.pathcache``); the figure's conditions say so.
Baseline: the journal entries the ingest wrote, spooled out and COPYed back in as new rows.

When emhana.fhir offers no ingest function the part is reported as "skipped: not available".
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Engine, text

from emhana.devtools.bench.dataset import raw_url
from emhana.devtools.bench.measure import Figure, Report
from emhana.devtools.bench.medbooks import ENTRY_COLUMNS
from emhana.identity.rules import Sex, make_iin
from emhana.kernel import clock

SKIPPED = "skipped: not available"
SIGNER_IIN = make_iin(dt.date(1980, 1, 2), Sex.FEMALE, 11) or ""
PER_BUNDLE = 100  # resources per bundle (issue 18: the goal is stated for bundles of 100)
# timed bundles at least, at every scale but the smoke run's: eight bundles' rate moved by a tenth from run to run
# (one commit's wait, a checkpoint), thirty's far less
TIMED_BUNDLES = 30

if TYPE_CHECKING:
    from emhana.devtools.bench.bundles import Signer


def ingest_function() -> Callable[..., Any] | None:
    """Return emhana.fhir's bundle ingest function, or None while the package has none (any other import
    error is raised: a broken module is not an absent one)."""
    try:
        fn = getattr(importlib.import_module("emhana.fhir.inbound"), "ingest", None)
    except ModuleNotFoundError as exc:
        if exc.name in ("emhana.fhir", "emhana.fhir.inbound"):
            return None
        raise
    return fn if callable(fn) else None


def _bundles(iins: list[str], signer: Signer) -> list[bytes]:
    """Signed transaction Bundles, one per worker, as an MIS builds them: ``PER_BUNDLE`` results each
    (``bundles.worker_results``)."""
    from emhana.devtools.bench import bundles

    return [
        bundles.signed_bundle(bundles.worker_results(iin, PER_BUNDLE, f"b{n}"), signer) for n, iin in enumerate(iins)
    ]


def fhir_figures(report: Report, engine: Engine, entries: int) -> None:
    try:
        ingest = ingest_function()
    except ImportError as exc:  # reported, not fatal: the other parts of a long run stay valid
        report.skipped["fhir"] = f"failed: emhana.fhir.inbound does not import ({exc})"
        return
    if ingest is None:
        report.skipped["fhir"] = SKIPPED
        return
    from emhana.accounts.roles import Role
    from emhana.accounts.service import Actor
    from emhana.devtools.bench import bundles
    from emhana.fhir.codemap import seed_code_map
    from emhana.kernel.db import make_sessionmaker, unit_of_work

    # one untimed bundle, then the timed ones (the smoke run, a few entries, times one)
    count = 1 + (max(TIMED_BUNDLES, entries // PER_BUNDLE) if entries >= PER_BUNDLE else 1)
    with engine.begin() as conn:
        entity, bin_ = conn.execute(
            text(
                "SELECT b.entity_id, e.bin FROM medical_book b JOIN entity e ON e.id = b.entity_id "
                "GROUP BY b.entity_id, e.bin ORDER BY COUNT(*) DESC, b.entity_id LIMIT 1"
            )
        ).one()
        iins = list(
            conn.scalars(
                text(
                    "SELECT p.iin FROM medical_book b JOIN person p ON p.id = b.person_id WHERE b.entity_id = :e "
                    "ORDER BY b.id LIMIT :n"
                ),
                {"e": entity, "n": count},
            )
        )
        account = int(
            conn.scalar(
                text(
                    "INSERT INTO account (username, password_hash, role, display_name, entity_id, active, created_at) "
                    "VALUES ('bench-mis', NULL, :r, 'Bench MIS', :e, TRUE, now()) RETURNING id"
                ),
                {"r": Role.MIS_CLIENT.value, "e": entity},
            )
        )
        conn.execute(
            text(
                "INSERT INTO practitioner (iin, surname, given_name, specialties) "
                "VALUES (:i, 'Ахметова', 'Динара', 'therapist') ON CONFLICT DO NOTHING"
            ),
            {"i": SIGNER_IIN},
        )
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as s:
        seed_code_map(s)
    ca = bundles.make_ca(clock.now())
    trust = ca.trust
    bodies = _bundles(iins, bundles.make_signer(ca, SIGNER_IIN, str(bin_)))
    actor = Actor(
        account_id=account, username="bench-mis", role=Role.MIS_CLIENT, display_name="Bench MIS", entity_id=int(entity)
    )
    with unit_of_work(sessions) as s:  # warm-up, untimed: imports the FHIR models, fills caches
        ingest(session=s, actor=actor, body=bodies[0], trust=trust, now=clock.now())
    with engine.connect() as conn:
        before = int(conn.scalar(text("SELECT COALESCE(MAX(id), 0) FROM medbook_entry")) or 0)
    seconds = []
    for body in bodies[1:]:
        t0 = time.perf_counter()
        with unit_of_work(sessions) as s:
            ingest(session=s, actor=actor, body=body, trust=trust, now=clock.now())
        seconds.append(time.perf_counter() - t0)
    if not seconds:
        raise RuntimeError("the entity has too few books for a timed FHIR ingest")
    written, raw_seconds = _bulk_baseline(engine, before)
    if written == 0:
        raise RuntimeError("the FHIR ingest wrote no journal entries")
    per_s = written / sum(seconds)
    report.add(
        Figure(
            "fhir.ingest_per_s",
            f"FHIR bundle ingest (bundles of {PER_BUNDLE} resources, signed)",
            "resources/s",
            per_s,
            "COPY of the same entries",
            written / raw_seconds,
            conditions=(
                f"{len(seconds)} bundles of {PER_BUNDLE} resources (one worker each, into books with the history "
                "of the load), signed by one clinician, one client, each committed; warm caches (the signer's "
                "validated certificate path, the code map) after one untimed bundle; every resource of a shape the "
                "quick check knows (emhana.fhir.shapes: fhir.resources' validation skipped, ~65 µs a resource)"
            ),
        )
    )
    report.extra["fhir.bundles"] = float(len(seconds))


def _bulk_baseline(engine: Engine, after_id: int) -> tuple[int, float]:
    """COPY the journal entries written after an id back in as new rows; return (rows, seconds of the COPY)."""
    columns = ", ".join(c for c in ENTRY_COLUMNS if c != "id")
    buffer = io.BytesIO()
    with psycopg.connect(raw_url(engine.url.render_as_string(hide_password=False))) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                f"COPY (SELECT {columns} FROM medbook_entry WHERE id > {int(after_id)} ORDER BY id) TO STDOUT"
            ) as cp,
        ):
            for chunk in cp:
                buffer.write(chunk)
        data = buffer.getvalue()
        rows = data.count(b"\n")
        t0 = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur, cur.copy(f"COPY medbook_entry ({columns}) FROM STDIN") as cp:
            cp.write(data)
        return rows, time.perf_counter() - t0
