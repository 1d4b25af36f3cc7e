"""FHIR bundle ingest (emhana.fhir.inbound.ingest) beside a bulk insert (COPY) of the same journal entries.

An MIS account of the entity that issued the books posts transaction Bundles for its workers: per worker two
Observations, an X-ray DiagnosticReport and an Immunization, with a Provenance signed (detached CMS) by a
registered clinician whose certificate chains to a demo CA the run trusts. Bundles are built and signed before
the clock starts (the MIS does that). Timed: each bundle ingested in its own unit of work, as the API does.
Baseline: the journal entries the ingest wrote, spooled out and COPYed back in as new rows.

When emhana.fhir offers no ingest function the part is reported as "skipped: not available".
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import io
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Engine, text

from emhana.devtools.bench.dataset import raw_url
from emhana.devtools.bench.measure import Figure, Report
from emhana.identity.rules import Sex, make_iin

SKIPPED = "skipped: not available"
SIGNER_IIN = make_iin(dt.date(1980, 1, 2), Sex.FEMALE, 11) or ""
PER_BUNDLE = 4
ENTRY_COLUMNS = (
    "book_id",
    "kind",
    "item_code",
    "performed_on",
    "result",
    "result_text",
    "codes",
    "clearance",
    "valid_until",
    "referral_entity_id",
    "caused_by_id",
    "entity_id",
    "author_account_id",
    "author_name",
    "source",
    "supersedes_id",
    "reason",
    "recorded_at",
    "canonical",
    "signature_state",
)


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


def _bundles(iins: list[str], signer: Any, chain: tuple[Any, ...]) -> list[bytes]:
    """Signed transaction Bundles, one per worker, as an MIS builds them."""
    from emhana.fhir import systems
    from emhana.fhir.canonical import signed_bytes
    from emhana.trust.signatures.cms import sign_detached

    out = []
    for n, iin in enumerate(iins):
        subject = {"identifier": {"system": systems.IIN, "value": iin}}

        def obs(code: str, k: int, subject: dict[str, Any] = subject, n: int = n) -> dict[str, Any]:
            return {
                "resourceType": "Observation",
                "id": f"b{n}o{k}",
                "status": "final",
                "code": {"coding": [{"system": systems.LOINC, "code": code}]},
                "subject": subject,
                "effectiveDateTime": "2026-03-02",
                "interpretation": [{"coding": [{"system": systems.INTERPRETATION, "code": "NEG"}]}],
            }

        resources = [
            obs("20507-0", 1),
            obs("20507-0", 2),
            {
                "resourceType": "DiagnosticReport",
                "id": f"b{n}x",
                "status": "final",
                "code": {"coding": [{"system": systems.LOINC, "code": "36643-5"}]},
                "subject": subject,
                "effectiveDateTime": "2026-03-02",
                "conclusion": "Без патологии",
                "conclusionCode": [{"coding": [{"system": systems.SNOMED, "code": "17621005"}]}],
            },
            {
                "resourceType": "Immunization",
                "id": f"b{n}i",
                "status": "completed",
                "vaccineCode": {"coding": [{"system": systems.CVX, "code": "43"}]},
                "patient": subject,
                "occurrenceDateTime": "2025-11-20",
            },
        ]
        entries: list[dict[str, Any]] = [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for r in resources
        ]
        cms = sign_detached(signed_bytes(entries), signer.key, signer.certificate, chain)
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "request": {"method": "POST", "url": "Provenance"},
                "resource": {
                    "resourceType": "Provenance",
                    "recorded": "2026-03-02T10:00:00+05:00",
                    "target": [{"reference": e["fullUrl"]} for e in entries],
                    "agent": [
                        {
                            "type": {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "author",
                                    }
                                ]
                            },
                            "who": {"identifier": {"system": systems.IIN, "value": SIGNER_IIN}},
                        }
                    ],
                    "signature": [
                        {
                            "type": [{"system": systems.SIGNATURE_TYPE, "code": systems.AUTHOR_SIGNATURE}],
                            "when": "2026-03-02T10:00:00+05:00",
                            "who": {"identifier": {"system": systems.IIN, "value": SIGNER_IIN}},
                            "sigFormat": "application/pkcs7-signature",
                            "data": base64.b64encode(cms).decode(),
                        }
                    ],
                },
            }
        )
        out.append(
            json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}, ensure_ascii=False).encode()
        )
    return out


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
    from emhana.fhir.codemap import seed_code_map
    from emhana.fhir.signature import Trust
    from emhana.kernel.db import make_sessionmaker, unit_of_work
    from emhana.trust.keys import pki

    bundles = max(2, entries // PER_BUNDLE + 1)
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
                {"e": entity, "n": bundles},
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
    now = dt.datetime.now(dt.UTC)
    start = now.replace(microsecond=0) - dt.timedelta(days=1)
    root = pki.make_root(not_before=start, algorithm="ec")
    inter = pki.make_intermediate(root, not_before=start, algorithm="ec")
    crl = pki.make_crl(inter, [], this_update=start, next_update=start + dt.timedelta(days=365), number=1)
    signer = pki.make_clinician(
        inter,
        surname="Ахметова",
        given_name="Динара",
        iin=SIGNER_IIN,
        organization="Поликлиника",
        bin_=str(bin_),
        not_before=start,
        algorithm="ec",
    )
    trust = Trust((root.certificate, inter.certificate), (crl,))
    bodies = _bundles(iins, signer, (inter.certificate,))
    actor = Actor(
        account_id=account, username="bench-mis", role=Role.MIS_CLIENT, display_name="Bench MIS", entity_id=int(entity)
    )
    with unit_of_work(sessions) as s:  # warm-up, untimed: imports the FHIR models, fills caches
        ingest(session=s, actor=actor, body=bodies[0], trust=trust, now=dt.datetime.now(dt.UTC))
    with engine.connect() as conn:
        before = int(conn.scalar(text("SELECT COALESCE(MAX(id), 0) FROM medbook_entry")) or 0)
    seconds = []
    for body in bodies[1:]:
        t0 = time.perf_counter()
        with unit_of_work(sessions) as s:
            ingest(session=s, actor=actor, body=body, trust=trust, now=dt.datetime.now(dt.UTC))
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
            f"FHIR bundle ingest ({PER_BUNDLE} resources, signed)",
            "entries/s",
            per_s,
            "COPY of the same entries",
            written / raw_seconds,
        )
    )
    report.extra["fhir.bundles"] = float(len(seconds))


def _bulk_baseline(engine: Engine, after_id: int) -> tuple[int, float]:
    """COPY the journal entries written after an id back in as new rows; return (rows, seconds of the COPY)."""
    columns = ", ".join(ENTRY_COLUMNS)
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
