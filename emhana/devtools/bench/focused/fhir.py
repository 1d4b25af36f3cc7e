"""FHIR inbound sync: resources ingested per second in signed transaction Bundles of 100, beside a bulk
insert of the same journal entries, in the same run, on PostgreSQL.

    .venv/bin/emhana bench fhir [--bundles 30] [--size 100] [--database-url URL]

Setup (not timed): a migrated scratch schema, one participating clinic with its MIS account and responsible
therapist, the seeded catalogue and code map, one worker with a book per bundle, a registered clinician
with a demo NCA-shaped certificate (ECDSA P-256), and the bundles themselves: ``--size`` Observations each
(LOINC codes of the seeded map, negative results), signed (detached CMS over RFC 8785 JSON), built as the
national run's FHIR part builds them (emhana/devtools/bench/bundles.py).

Timed (after one untimed bundle of each part, for another worker: the FHIR models imported, the app's routes
built, the signer's certificate path validated):
1. the FHIR door: each bundle POSTed to /fhir/R4 through the ASGI app in process (auth, JSON, validation
   (``emhana.fhir.shapes``, else fhir.resources), mapping, CMS verification with path validation and CRL, the
   medical-book service writes, idempotency ledger, audit, chain links, commit), one transaction per bundle;
2. the parts: parse + validation alone (``inbound.parse``) and signature verification alone;
3. bulk insert: the same number of journal entries with the same columns (canonical bytes included) by
   SQLAlchemy Core executemany, one transaction per bundle's worth.

Reference (docs/scale.md §5): HAPI FHIR JPA managed about 100-200 resources/s on 2 vCPU. The run works on
SQLite too (for a quick check; the figures are PostgreSQL's).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from emhana.accounts.roles import Role
from emhana.accounts.service import actor_of, create_account, issue_token
from emhana.app import create_app
from emhana.devtools.bench import bundles
from emhana.devtools.bench.focused import POSTGRES_URL
from emhana.devtools.bench.measure import emit, stopwatch, table
from emhana.facilities.io import DistrictRecord, EntityRecord, SiteRecord
from emhana.facilities.models import Practitioner
from emhana.facilities.service import apply_records, get_entity_by_bin
from emhana.fhir import canonical, inbound, systems
from emhana.fhir.codemap import seed_code_map
from emhana.fhir.signature import check_provenance
from emhana.identity.models import Person
from emhana.identity.rules import Sex, make_iin
from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from emhana.medbook.catalogue import seed_catalogue
from emhana.medbook.infections import seed_infection_rules
from emhana.medbook.models import JournalEntry, MedicalBook, ResponsibleAppointment
from emhana.medbook.rules import canonical_bytes
from emhana.testing.databases import migrated_schema
from emhana.trust.signatures.canonical import ENTRY

LOINC_CODES = bundles.LOINC_CODES
AUTHOR_IIN = "800102400117"
CLINIC_BIN = "150340001236"
CLINIC = EntityRecord(
    bin=CLINIC_BIN,
    name_kk='Астана қаласы әкімдігінің "№3 қалалық емхана" ШЖҚ МКК',
    name_ru='ГКП на ПХВ "Городская поликлиника №3" акимата города Астана',
    legal_form="state_enterprise_phv",
    ownership="state",
    program_gobmp=True,
    program_osms=True,
    licence_number="KZ12LAA00001234",
    licence_issued_on=dt.date(2015, 3, 1),
    licence_valid_until=None,
    licence_subtypes="PHC,lab",
    status="included",
    status_from=dt.date(2020, 1, 1),
    status_reason="",
    contract_from=dt.date(2026, 1, 1),
    contract_to=dt.date(2026, 12, 31),
    sur_registered_on=dt.date(2015, 3, 1),
    sites=[
        SiteRecord(
            code="S1",
            kind="polyclinic",
            name_kk="№3 қалалық емхана",
            name_ru="Городская поликлиника №3",
            address_kk="Астана қ., Абай даңғылы, 12",
            address_ru="г.Астана, пр. Абая, 12",
            kato="710000000",
            lat=51.1280,
            lon=71.4304,
            districts=[DistrictRecord("gp", 1, 1700)],
        )
    ],
)


def seed(url: str, workers: int) -> tuple[str, list[str], list[int], int, int]:
    """Write the clinic (its MIS account, its appointed responsible therapist, the catalogue and code map), the
    author clinician and `workers` workers with a book each; return the MIS token, the workers' IINs, their book
    ids, the entity id and the MIS account id."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            seed_catalogue(s)
            seed_infection_rules(s)
            seed_code_map(s)
            apply_records(session=s, actor=None, records=[CLINIC])
            entity = get_entity_by_bin(session=s, bin_=CLINIC_BIN).id
            mis = actor_of(
                create_account(
                    session=s, username="mis", password=None, role=Role.MIS_CLIENT, display_name="MIS", entity_id=entity
                )
            )
            rt = create_account(
                session=s,
                username="rt",
                password=None,
                role=Role.RESPONSIBLE_THERAPIST,
                display_name="RT",
                entity_id=entity,
            )
            s.add(
                ResponsibleAppointment(
                    entity_id=entity, account_id=rt.id, valid_from=dt.date(2025, 1, 1), appointed_at=clock.now()
                )
            )
            s.add(Practitioner(iin=AUTHOR_IIN, surname="Ахметова", given_name="Динара", specialties="therapist"))
            iins: list[str] = []
            books: list[int] = []
            for n in range(workers):
                born = dt.date(1990, 1, 1) + dt.timedelta(days=n)
                # a serial whose check digit works out (about one in ten has none)
                iin = next(i for k in range(100 + n, 1000, 200) if (i := make_iin(born, Sex.MALE, k)))
                person = Person(
                    iin=iin, surname="Тестов", given_name="Тест", birth_date=born, sex="male", category="citizen"
                )
                s.add(person)
                s.flush()
                book = MedicalBook(
                    person_id=person.id,
                    entity_id=entity,
                    issued_by=rt.id,
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


def make_bundles(iins: list[str], size: int, signer: bundles.Signer) -> list[bytes]:
    """One signed bundle of `size` Observations per worker."""
    return [
        bundles.signed_bundle(
            [bundles.observation(iin, code=LOINC_CODES[k % len(LOINC_CODES)]) for k in range(size)], signer
        )
        for iin in iins
    ]


def bulk_rows(bodies: list[bytes], books: list[int], entity: int, account: int) -> list[list[dict[str, Any]]]:
    """The journal rows the door writes for each bundle, built ahead (not timed)."""
    now = clock.now()
    batches: list[list[dict[str, Any]]] = []
    for body, book in zip(bodies, books, strict=True):
        rows: list[dict[str, Any]] = []
        for entry in json.loads(body)["entry"][:-1]:
            res = entry["resource"]
            doc = {
                "type": ENTRY,
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


def door(url: str, token: str, bodies: list[bytes], trust: Any) -> tuple[float, list[float]]:
    """POST every bundle to /fhir/R4 in process, the first untimed (the app's first request builds its routes);
    return the seconds of the others and each one's latency."""
    app = create_app(Settings(database_url=url))
    app.state.fhir_trust = trust
    latencies: list[float] = []
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        warm = client.post("/fhir/R4", content=bodies[0], headers=headers)
        if warm.status_code != 200:
            raise SystemExit(f"bundle refused: {warm.text[:500]}")
        with stopwatch() as took:
            for body in bodies[1:]:
                with stopwatch() as one:
                    r = client.post("/fhir/R4", content=body, headers=headers)
                latencies.append(one[0])
                if r.status_code != 200:
                    raise SystemExit(f"bundle refused: {r.text[:500]}")
    app.state.engine.dispose()
    return took[0], sorted(latencies)


def main(argv: list[str] | None = None, prog: str | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog=prog, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bundles", type=int, default=30)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--database-url", default=POSTGRES_URL)
    args = parser.parse_args(argv)
    ca = bundles.make_ca(clock.now())
    signer = bundles.make_signer(ca, AUTHOR_IIN, CLINIC_BIN)
    with migrated_schema(args.database_url, "benchfhir") as url:
        token, iins, books, entity, account = seed(url, args.bundles + 1)  # one worker more: the untimed bundle
        bodies = make_bundles(iins, args.size, signer)
        resources = args.bundles * args.size

        parsed = [inbound.parse(b) for b in bodies[:1]]  # untimed: imports the models
        with stopwatch() as t_parse:
            parsed += [inbound.parse(b) for b in bodies[1:]]
        check_provenance(
            data=canonical.signed_bytes(parsed[0]["entry"]),
            cms_der=base64.b64decode(parsed[0]["entry"][-1]["resource"]["signature"][0]["data"]),
            author_iin=AUTHOR_IIN,
            entity_bin=CLINIC_BIN,
            trust=ca.trust,
            at=clock.now(),
        )  # untimed: validates the signer's certificate path once (pathcache)
        with stopwatch() as t_sign:
            for doc in parsed[1:]:
                check_provenance(
                    data=canonical.signed_bytes(doc["entry"]),
                    cms_der=base64.b64decode(doc["entry"][-1]["resource"]["signature"][0]["data"]),
                    author_iin=AUTHOR_IIN,
                    entity_bin=CLINIC_BIN,
                    trust=ca.trust,
                    at=clock.now(),
                )
        t_door, latencies = door(url, token, bodies, ca.trust)

        batches = bulk_rows(bodies[1:], books[1:], entity, account)
        engine = make_engine(url)
        with stopwatch() as t_bulk:
            for rows in batches:
                with engine.begin() as conn:
                    conn.execute(insert(JournalEntry), rows)
        engine.dispose()

    figures = {
        "door_s": t_door,
        "parse_s": t_parse[0],
        "sign_s": t_sign[0],
        "bulk_s": t_bulk[0],
        "door_per_s": resources / t_door,
        "bulk_per_s": resources / t_bulk[0],
        "door_ratio": t_bulk[0] / t_door,
    }
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    rows_out = [
        (
            f"FHIR door: POST signed transaction Bundle of {args.size} (end to end, committed)",
            f"{t_door:.2f}",
            f"{resources / t_door:,.0f}",
            f"{1000 * latencies[len(latencies) // 2]:.0f}",
        ),
        *[
            (label, f"{seconds:.2f}", f"{resources / seconds:,.0f}", f"{1000 * seconds / args.bundles:.0f}")
            for label, seconds in (
                ("  of which parse + validation (inbound.parse: shapes, else fhir.resources)", t_parse[0]),
                ("  of which CMS verification (path, CRL) + identity", t_sign[0]),
                ("bulk insert of the same journal entries (Core executemany)", t_bulk[0]),
            )
        ],
    ]
    emit(
        f"{args.bundles} bundles x {args.size} resources = {resources} resources, {database}, "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"IIN system {systems.IIN}"
    )
    emit(table(rows_out, ("operation", "seconds", "resources/s", "ms per bundle (median for the door)")))
    emit(
        f"conditions: {args.bundles} timed bundles of {args.size} resources (after one untimed), one new worker's "
        "book each (no history), one client, each committed; warm caches: the FHIR models imported, the app's routes "
        "built, the signer's certificate path validated (pathcache); every resource of a shape the quick check "
        "knows (emhana.fhir.shapes: fhir.resources' validation skipped)"
    )
    emit(
        f"door / bulk = {figures['door_ratio']:.3f}; "
        "HAPI FHIR JPA reference (docs/scale.md): 100-200 resources/s on 2 vCPU"
    )
    return figures


if __name__ == "__main__":
    main()
