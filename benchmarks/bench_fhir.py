"""FHIR inbound sync: resources ingested per second in signed transaction Bundles of 100, beside a bulk
insert of the same journal entries, in the same run, on PostgreSQL.

    .venv/bin/python -m benchmarks.bench_fhir [--bundles 20] [--size 100] [--database-url URL]

Setup (not timed): a migrated scratch schema, one participating clinic with its MIS account and responsible
therapist, the seeded catalogue and code map, one worker with a book per bundle, a registered clinician
with a demo NCA-shaped certificate (ECDSA P-256), and the bundles themselves: ``--size`` Observations each
(LOINC codes of the seeded map, negative results), signed (detached CMS over RFC 8785 JSON).

Timed:
1. the FHIR door: each bundle POSTed to /fhir/R4 through the ASGI app in process (auth, JSON, fhir.resources
   validation, mapping, CMS verification with path validation and CRL, the medical-book service writes,
   idempotency ledger, audit, commit), one transaction per bundle;
2. the parts: parse + validation alone (``inbound.parse``) and signature verification alone;
3. bulk insert: the same number of journal entries with the same columns (canonical bytes included) by
   SQLAlchemy Core executemany, one transaction per bundle's worth.

Reference (SCALE.md §5): HAPI FHIR JPA managed about 100-200 resources/s on 2 vCPU.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from benchmarks import migrated_schema, table
from emhana.accounts.service import issue_token
from emhana.app import create_app
from emhana.facilities.models import Practitioner
from emhana.fhir import canonical, inbound, systems
from emhana.fhir.signature import Trust, check_provenance
from emhana.identity.models import Person
from emhana.identity.rules import Sex, make_iin
from emhana.kernel.config import Settings
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from emhana.medbook.models import JournalEntry, MedicalBook
from emhana.medbook.rules import canonical_bytes
from tests.fhir import builders

LOINC_CODES = ("20507-0", "22587-0", "24111-7", "10704-5", "625-4", "626-2")
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def seed(url: str, workers: int, author_iin: str) -> tuple[str, list[str], list[int], int, int]:
    """Return the MIS token, the workers' IINs, their book ids, the entity id and the MIS account id."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            clinic = builders.seed_clinic(s)
            entity, rt_id, mis = clinic.entity_id, clinic.therapist_id, clinic.mis
            s.add(Practitioner(iin=author_iin, surname="Ахметова", given_name="Динара", specialties="therapist"))
            iins, books = [], []
            for n in range(workers):
                iin = make_iin(dt.date(1990, 1, 1) + dt.timedelta(days=n), Sex.MALE, 100 + n) or ""
                person = Person(
                    iin=iin,
                    surname="Тестов",
                    given_name="Тест",
                    birth_date=dt.date(1990, 1, 1) + dt.timedelta(days=n),
                    sex="male",
                    category="citizen",
                )
                s.add(person)
                s.flush()
                book = MedicalBook(
                    person_id=person.id,
                    entity_id=entity,
                    issued_by=rt_id,
                    issued_on=dt.date(2025, 2, 1),
                    language="ru",
                    profession="повар",
                    position="повар",
                    workplace="Столовая",
                    employer_bin="940140000385",
                    group_code="catering",
                )
                s.add(book)
                s.flush()
                iins.append(iin)
                books.append(book.id)
            token = issue_token(session=s, actor=mis, ttl=dt.timedelta(hours=2))
            return token, iins, books, entity, mis.account_id
    finally:
        engine.dispose()


def make_bundles(iins: list[str], size: int, signer: builders.Signer) -> list[bytes]:
    out = []
    for iin in iins:
        resources = [
            builders.observation(iin, code=LOINC_CODES[k % len(LOINC_CODES)], on="2026-03-02") for k in range(size)
        ]
        out.append(builders.body(builders.bundle(resources, signer=signer)))
    return out


def bulk_rows(bodies: list[bytes], books: list[int], entity: int, account: int) -> list[list[dict[str, Any]]]:
    """The journal rows the door writes for each bundle, built ahead (not timed)."""
    now = dt.datetime.now(dt.UTC)
    batches = []
    for body, book in zip(bodies, books, strict=True):
        rows = []
        for entry in json.loads(body)["entry"][:-1]:
            res = entry["resource"]
            doc = {
                "type": "emhana.medbook.entry/1",
                "book": book,
                "kind": "lab_result",
                "item_code": "syphilis",
                "performed_on": res["effectiveDateTime"],
                "result": "negative",
                "codes": [res["code"]["coding"][0]["code"]],
            }
            rows.append(
                {
                    "book_id": book,
                    "kind": "lab_result",
                    "item_code": "syphilis",
                    "performed_on": dt.date(2026, 3, 2),
                    "result": "negative",
                    "result_text": "",
                    "codes": res["code"]["coding"][0]["code"],
                    "entity_id": entity,
                    "author_account_id": account,
                    "author_name": "Ахметова Динара (MIS)",
                    "source": "mis",
                    "recorded_at": now,
                    "canonical": canonical_bytes(doc),
                    "signature_state": "pending",
                }
            )
        batches.append(rows)
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=20)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--database-url", default=os.environ.get("EMHANA_BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    demo = builders.make_pki()
    author_iin = "800102400117"
    signer = builders.make_signer(demo, author_iin)
    trust = Trust((demo.root.certificate, demo.intermediate.certificate), (demo.crl,))
    with migrated_schema(args.database_url, "benchfhir") as url:
        token, iins, books, entity, account = seed(url, args.bundles, author_iin)
        bodies = make_bundles(iins, args.size, signer)
        resources = args.bundles * args.size

        t0 = time.perf_counter()
        parsed = [inbound.parse(b) for b in bodies]
        t_parse = time.perf_counter() - t0
        t0 = time.perf_counter()
        for doc in parsed:
            data = canonical.signed_bytes(doc["entry"])
            cms = base64.b64decode(doc["entry"][-1]["resource"]["signature"][0]["data"])
            check_provenance(
                data=data,
                cms_der=cms,
                author_iin=author_iin,
                entity_bin="150340001236",
                trust=trust,
                at=dt.datetime.now(dt.UTC),
            )
        t_sign = time.perf_counter() - t0

        app = create_app(Settings(database_url=url))
        app.state.fhir_trust = trust
        latencies = []
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
            t0 = time.perf_counter()
            for body in bodies:
                t1 = time.perf_counter()
                r = client.post("/fhir/R4", content=body, headers=headers)
                latencies.append(time.perf_counter() - t1)
                if r.status_code != 200:
                    raise SystemExit(f"bundle refused: {r.text[:500]}")
            t_door = time.perf_counter() - t0
        app.state.engine.dispose()

        batches = bulk_rows(bodies, books, entity, account)
        engine = make_engine(url)
        t0 = time.perf_counter()
        for rows in batches:
            with engine.begin() as conn:
                conn.execute(insert(JournalEntry), rows)
        t_bulk = time.perf_counter() - t0
        engine.dispose()

    latencies.sort()
    rows_out = [
        (
            "FHIR door: POST signed transaction Bundle (end to end, committed)",
            f"{t_door:.2f}",
            f"{resources / t_door:,.0f}",
            f"{1000 * latencies[len(latencies) // 2]:.0f}",
        ),
        (
            "  of which parse + fhir.resources validation (inbound.parse)",
            f"{t_parse:.2f}",
            f"{resources / t_parse:,.0f}",
            f"{1000 * t_parse / args.bundles:.0f}",
        ),
        (
            "  of which CMS verification (path, CRL) + identity",
            f"{t_sign:.2f}",
            f"{resources / t_sign:,.0f}",
            f"{1000 * t_sign / args.bundles:.0f}",
        ),
        (
            "bulk insert of the same journal entries (Core executemany)",
            f"{t_bulk:.2f}",
            f"{resources / t_bulk:,.0f}",
            f"{1000 * t_bulk / args.bundles:.0f}",
        ),
    ]
    print(
        f"{args.bundles} bundles x {args.size} resources = {resources} resources, PostgreSQL, "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"IIN system {systems.IIN}"
    )
    print(table(rows_out, ("operation", "seconds", "resources/s", "ms per bundle (median for the door)")))
    print(f"door / bulk = {t_bulk / t_door:.3f}; HAPI FHIR JPA reference (SCALE.md): 100-200 resources/s on 2 vCPU")


if __name__ == "__main__":
    main()
