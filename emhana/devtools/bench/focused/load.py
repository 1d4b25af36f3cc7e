"""Load N generated persons on PostgreSQL and compare with a raw psycopg COPY of the very same rows.

    .venv/bin/emhana bench load --population 1000000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Steps, each in a schema of its own (dropped afterwards):
  1. pure generation of the rows in Python (no database), then their formatting as COPY text;
  2. raw COPY (`write_row`) of the pre-generated rows into plain tables of the same columns (no keys);
  3. raw COPY of the same rows pre-formatted as text (`write`) into the plain tables;
  4. raw COPY (`write_row`) into the real migrated tables (primary keys, unique IIN, foreign keys, indexes);
  5. the generator itself, `generate(..., facilities=False, bulk=True)` as the national load runs it, on a schema
     that already holds the facility layer (written first, untimed): it generates and loads in batches, everyone's
     attachment and the chain links of persons and attachments included, in one transaction with the secondary
     indexes and foreign keys built at its end (its time counts those builds; the raw steps 2-4 have no
     attachments and no chain links, so this step does more than they do);
  6. the national benchmark's own baseline (`emhana bench --scale ...`, `dataset.raw_copy_baseline`): the rows
     step 5 stored in person, person_address, person_phone and attachment, COPYed with bare psycopg into a second
     migrated schema holding the same facility layer (keys, indexes, foreign keys; no chain links);
and checks that steps 4 and 5 stored identical persons, addresses and phones. "persons/s vs 6" is the issue's
load ratio (goal ≥ 0.6 with chain links written).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
from typing import Any

from sqlalchemy import Engine, text

from emhana.devtools.bench.dataset import raw_copy_baseline
from emhana.devtools.bench.focused import POSTGRES_URL
from emhana.devtools.bench.measure import emit, stopwatch, table
from emhana.devtools.generator import generate
from emhana.devtools.generator.layer import write_layer
from emhana.devtools.generator.names import name_book
from emhana.devtools.generator.params import GeneratorParams
from emhana.devtools.generator.people import AddressRow, IinCounter, PersonFactory, PersonRow, PhoneRow
from emhana.devtools.generator.plan import make_plan
from emhana.devtools.generator.sink import TABLES, address_lines, person_lines, phone_lines, used_serials
from emhana.kernel.db import make_engine
from emhana.testing.databases import migrated_schema

Rows = tuple[list[PersonRow], list[AddressRow], list[PhoneRow]]


def pregenerate(seed: int, population: int, used: dict[str, int]) -> tuple[Rows, float]:
    """Generate the rows the generator will write (same seed, a database holding the facility layer whose
    practitioners use the IIN serials ``used``) and time it.

    The plan (geography and facility layer, ~0.3 s) is built first and not timed: the generator's
    person phase does not include it either.
    """
    params = GeneratorParams()
    plan = make_plan(seed, population, params)
    persons: list[PersonRow] = []
    addresses: list[AddressRow] = []
    phones: list[PhoneRow] = []
    with stopwatch() as took:
        factory = PersonFactory(seed, params, name_book(), IinCounter(used))
        for site in plan.sites():
            n = len(persons) + 1
            factory.fill(site, site.persons, (n, n, n), persons, addresses, phones)
    return (persons, addresses, phones), took[0]


def checkpoint(engine: Engine) -> None:
    """Flush dirty buffers so one step's writes do not slow the next (needs a superuser; best effort)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
            conn.commit()
    except Exception:  # noqa: BLE001 - not allowed for this role: measure anyway
        pass


def raw_copy(engine: Engine, prefix: str, rows: Rows | None, texts: list[bytes] | None) -> float:
    """COPY every row into `<prefix>person`, ... in one transaction; return the seconds taken."""
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        with stopwatch() as took:
            with conn.cursor() as cur:
                for i, (name, cols) in enumerate(TABLES):
                    with cur.copy(f"COPY {prefix}{name} ({', '.join(cols)}) FROM STDIN") as copy:
                        if texts is not None:
                            copy.write(texts[i])
                        else:
                            assert rows is not None
                            for row in rows[i]:
                                copy.write_row(row)
            conn.commit()
        return took[0]
    finally:
        raw.close()


def content_hash(engine: Engine) -> tuple[int, ...]:
    """An order-independent hash of the three person tables (their ids are in the rows)."""
    sums = []
    with engine.connect() as conn:
        for name, cols in TABLES:
            sums.append(
                int(
                    conn.scalar(
                        text(
                            f"SELECT COALESCE(SUM(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0) "
                            f"FROM (SELECT {', '.join(cols)} FROM {name}) AS t"
                        )
                    )
                    or 0
                )
            )
    return tuple(sums)


def one_round(database_url: str, seed: int, population: int, batch: int) -> dict[str, float]:
    """Steps 1-6 once, each database step in fresh schemas."""
    with migrated_schema(database_url, "bench_raw") as raw_url, migrated_schema(database_url, "bench_gen") as gen_url:
        raw_engine, gen_engine = make_engine(raw_url), make_engine(gen_url)
        try:
            params = GeneratorParams()
            with gen_engine.begin() as conn:  # the layer step 5's plan sizes (as the national load's), untimed
                write_layer(conn, make_plan(seed, population, params), seed, params, IinCounter(used_serials(conn)))
            with gen_engine.connect() as conn:
                used = used_serials(conn)
            rows, gen_seconds = pregenerate(seed, population, used)
            with stopwatch() as formatting:
                texts = [
                    person_lines(rows[0]).encode(),
                    address_lines(rows[1]).encode(),
                    phone_lines(rows[2]).encode(),
                ]
            results: dict[str, float] = {"generate_only": gen_seconds, "format_only": formatting[0]}
            with raw_engine.begin() as conn:
                for name, cols in TABLES:
                    conn.execute(
                        text(f"CREATE TABLE plain_{name} AS SELECT {', '.join(cols)} FROM {name} WITH NO DATA")
                    )
            checkpoint(raw_engine)
            results["raw_plain_write_row"] = raw_copy(raw_engine, "plain_", rows, None)
            with raw_engine.begin() as conn:
                conn.execute(text("TRUNCATE plain_person, plain_person_address, plain_person_phone"))
            checkpoint(raw_engine)
            results["raw_plain_write_text"] = raw_copy(raw_engine, "plain_", None, texts)
            checkpoint(raw_engine)
            results["raw_real_write_row"] = raw_copy(raw_engine, "", rows, None)
            del texts, rows
            checkpoint(gen_engine)
            stats = generate(gen_engine, population=population, seed=seed, batch=batch, facilities=False, bulk=True)
            results["generator"] = stats.person_seconds
            results["attachments"] = float(stats.attachments)
            results["attached_outside_unit"] = float(stats.attached_outside_unit)
            same = content_hash(raw_engine) == content_hash(gen_engine)
            results["same_rows"] = 1.0 if same else 0.0
            checkpoint(gen_engine)
            national = raw_copy_baseline(gen_engine, database_url, population, stats.first_person_id)
            results["national_baseline"] = national.seconds
        finally:
            raw_engine.dispose()
            gen_engine.dispose()
    return results


STEPS = (
    ("generate_only", "1. generate the rows in Python (no database)"),
    ("format_only", "   format them as COPY text"),
    ("raw_plain_write_row", "2. raw COPY write_row -> plain tables (no keys)"),
    ("raw_plain_write_text", "3. raw COPY write(text) -> plain tables (no keys)"),
    ("raw_real_write_row", "4. raw COPY write_row -> real tables (keys, FKs)"),
    ("generator", "5. generator: generate + COPY, pipelined (+ attachments, chain links)"),
    ("national_baseline", "6. national baseline: raw COPY of 5's rows (+ attachments) -> real tables"),
)


def main(argv: list[str] | None = None, prog: str | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=POSTGRES_URL)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the table shows medians")
    parser.add_argument("--smoke", action="store_true", help="a tiny run (2,000 persons) to check it works")
    args = parser.parse_args(argv)
    population = 2_000 if args.smoke else args.population
    if not args.database_url.startswith(("postgresql", "postgres")):
        parser.error("bench load needs PostgreSQL (COPY)")
    n_rows = 3 * population
    emit(
        f"bench load: {population:,} persons = {n_rows:,} rows (person, person_address, person_phone); "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {args.repeat} round(s)"
    )
    rounds = [one_round(args.database_url, args.seed, population, args.batch) for _ in range(args.repeat)]
    results = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    results["same_rows"] = min(r["same_rows"] for r in rounds)
    base = n_rows / results["raw_plain_write_row"]
    lines = []
    for key, label in STEPS:
        seconds = results[key]
        rate = n_rows / seconds
        results[f"{key}_rows_per_s"] = rate
        spread = f"{min(r[key] for r in rounds):.2f}-{max(r[key] for r in rounds):.2f}"
        lines.append((label, f"{seconds:.2f}", spread, f"{rate:,.0f}", f"{rate / base:.2f}"))
    emit(table(lines, ("step", "median s", "min-max s", "rows/s", "vs 2")))
    serial = results["generate_only"] + results["raw_real_write_row"]
    results["generator_vs_raw_plain"] = results["raw_plain_write_row"] / results["generator"]
    results["generator_vs_raw_real"] = results["raw_real_write_row"] / results["generator"]
    emit(
        f"speed of the generator relative to: raw COPY into plain tables (2/5) "
        f"{results['generator_vs_raw_plain']:.2f}; raw COPY into the same real tables (4/5) "
        f"{results['generator_vs_raw_real']:.2f}; generating then COPYing one after the other "
        f"(1 + 4 = {serial:.2f} s) {serial / results['generator']:.2f}"
    )
    results["persons_per_s"] = population / results["generator"]
    results["national_baseline_persons_per_s"] = population / results["national_baseline"]
    results["load_ratio"] = results["national_baseline"] / results["generator"]
    emit(
        f"the issue's load figure: generator {results['persons_per_s']:,.0f} persons/s (with chain links, "
        f"{results['attachments']:,.0f} attachments, {results['attached_outside_unit']:,.0f} outside their unit) "
        f"vs raw COPY of the same rows (6) "
        f"{results['national_baseline_persons_per_s']:,.0f} persons/s: {results['load_ratio']:.2f} (goal >= 0.6)"
    )
    ratios = [r["national_baseline"] / r["generator"] for r in rounds]
    results["load_ratio_min"], results["load_ratio_max"] = min(ratios), max(ratios)
    emit(
        "the load figure of each round (6 / 5, both measured in that round): "
        + ", ".join(f"{ratio:.2f}" for ratio in ratios)
    )
    emit(f"rows of 4 and 5 identical in every round: {'yes' if results['same_rows'] else 'NO'}")
    return results


if __name__ == "__main__":
    main()
