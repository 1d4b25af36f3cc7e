"""Capitation snapshot over N attachments beside a bare GROUP BY over the same table, in the same run.

    .venv/bin/emhana bench capitation [--population 1000000] [--repeat 1] [--smoke]
    .venv/bin/emhana bench capitation --sql-rows 20000000   # the national size, built in SQL
    .venv/bin/emhana bench capitation --sql-rows 20000000 --build-only bench_cap_x  # build, keep
    .venv/bin/emhana bench capitation --schema bench_cap_x  # time the steps on it, then drop it

Setup (not timed): a migrated PostgreSQL schema and a synthetic country from the generator with N persons,
everyone attached (one open attachment each), then ANALYZE. Timed, each in its own transaction:

1. bare GROUP BY: `SELECT entity_id, COUNT(*) FROM attachment WHERE end_date IS NULL GROUP BY entity_id`;
2. the same counts by entity, sex and age band on a day, without storing them
   (`emhana.attachment.capitation.compute_counts`: the attachment rows with their person's sex and birth date,
   which the database keeps on each row (migration 0037), dates and bands);
3. the snapshot itself (`capitation.take_snapshot`, what POST /capitation/snapshots and
   `emhana capitation snapshot` run): stores the counts, each with the ids of the attachments counted, each
   naming its person (traceability, A-121), committed; on PostgreSQL its SELECT runs in parallel workers like
   step 1's (migration 0035). A repeat takes the snapshot of the day before (a day already taken is returned
   as it was).

The steps are those of the national run's capitation part (emhana/devtools/bench/reads.py).
With --sql-rows N the country is a small generated one (--population, default 20,000 here) plus N
synthetic persons, each with one open attachment spread over the generated districts, inserted with
generate_series in the scratch schema (triggers off during the load, so the attachments are given their person's
sex and birth date by the INSERT itself; secondary indexes rebuilt afterwards, then VACUUM ANALYZE). That is
how the 20 M figure is measured rather than extrapolated.

Goal (issue 18): the snapshot (step 3) at most 4 times step 1, the "vs 1" column. Goal (issue 3): a snapshot over
20 million attachments in under 60 s here. Without --sql-rows the figure
for 20 M is a linear extrapolation from the measured N, and is labelled so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text

from emhana.devtools.bench import reads
from emhana.devtools.bench.focused import POSTGRES_URL
from emhana.devtools.bench.measure import emit, stopwatch, table
from emhana.devtools.generator import GeneratorParams, generate
from emhana.kernel.db import make_engine, make_sessionmaker, normalize_url
from emhana.kernel.migrate import upgrade
from emhana.testing.databases import migrated_schema, schema_url

NATIONAL = 20_000_000

SYNTHETIC_PERSONS = """
INSERT INTO person (iin, surname, given_name, birth_date, sex, category, created_at)
SELECT lpad((800000000000 + g)::text, 12, '0'), 'S', 'G', date '1930-01-01' + (g::bigint * 7919 % 34000)::int,
       CASE WHEN g % 2 = 0 THEN 'female' ELSE 'male' END, 'citizen', now()
FROM generate_series(1, :n) AS g
"""
SYNTHETIC_ATTACHMENTS = """
WITH d AS (SELECT (row_number() OVER (ORDER BY d.id)) - 1 AS k, d.id, d.site_id, s.entity_id
           FROM district d JOIN site s ON s.id = d.site_id),
     nd AS (SELECT count(*) AS n FROM d)
INSERT INTO attachment (person_id, entity_id, site_id, district_id, place_basis, cause, begin_date,
                        decided_on, created_at, person_sex, person_birth_date)
SELECT p.id, d.entity_id, d.site_id, d.id, 'residence_permanent', 'first_attachment', date '2020-01-01',
       date '2019-12-01', now(), p.sex, p.birth_date
FROM person p CROSS JOIN nd JOIN d ON d.k = p.id % nd.n
WHERE p.id > :after
"""
STEPS = (
    ("bare_s", "1. bare GROUP BY entity (open attachments)"),
    ("compute_s", "2. counts by entity, sex, band on a day (not stored)"),
    ("snapshot_s", "3. take_snapshot (counts + their attachments stored, committed)"),
)


def build_in_sql(url: str, rows: int) -> float:
    """Add `rows` persons with one open attachment each, in SQL; return the seconds taken."""
    engine = make_engine(url)
    try:
        with stopwatch() as took:
            with engine.begin() as conn:
                indexes = conn.execute(
                    text(
                        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                        "AND i.tablename IN ('person', 'attachment') AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                        "WHERE c.conname = i.indexname)"
                    )
                ).all()
                for name, _ in indexes:
                    conn.execute(text(f'DROP INDEX "{name}"'))
                # No triggers in the load (foreign keys, migration 0037's copies: given by the INSERT).
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
                after = conn.scalar(text("SELECT coalesce(max(id), 0) FROM person"))
                conn.execute(text(SYNTHETIC_PERSONS), {"n": rows})
                conn.execute(text(SYNTHETIC_ATTACHMENTS), {"after": after})
                for _, definition in indexes:
                    conn.execute(text(definition))
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE person"))
                conn.execute(text("VACUUM ANALYZE attachment"))
    finally:
        engine.dispose()
    return took[0]


def _check_name(schema: str, option: str) -> None:
    if not schema.startswith("bench_cap_") or not schema.replace("_", "").isalnum():
        raise SystemExit(f"{option} takes a scratch schema name starting with bench_cap_")


def build_only(base_url: str, schema: str, population: int, rows: int, seed: int) -> dict[str, float]:
    """Build the country in a new scratch schema and leave it (for --schema, which drops it)."""
    _check_name(schema, "--build-only")
    base = normalize_url(base_url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    url = schema_url(base, schema)
    upgrade(url)
    engine = make_engine(url)
    try:
        generate(engine, population=population, seed=seed)
    finally:
        engine.dispose()
    took = build_in_sql(url, rows) if rows else 0.0
    emit(f"built {schema}: {population:,} generated persons and {rows:,} more in SQL ({took:.1f} s)")
    return {"build_s": took}


@contextmanager
def existing_schema(base_url: str, schema: str) -> Iterator[str]:
    """Yield the URL of an existing scratch schema; drop it afterwards."""
    _check_name(schema, "--schema")
    base = normalize_url(base_url)
    try:
        yield schema_url(base, schema)
    finally:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def one_round(engine: Engine, day: dt.date) -> dict[str, float]:
    """Steps 1-3 once, on a day: their seconds and the persons each counted."""
    sessions = make_sessionmaker(engine)
    with stopwatch() as bare:
        bare_total = reads.bare_total(engine)
    with stopwatch() as compute:
        computed_total = reads.computed_total(sessions, day)
    with stopwatch() as snapshot:
        snapshot_total = reads.snapshot_total(sessions, day)
    return {
        "bare_total": bare_total,
        "computed_total": computed_total,
        "snapshot_total": snapshot_total,
        "bare_s": bare[0],
        "compute_s": compute[0],
        "snapshot_s": snapshot[0],
    }


def setup(engine: Engine, url: str, args: argparse.Namespace, population: int) -> int:
    """Generate the country (unless --schema) and add the --sql-rows; return the attachments it holds."""
    if args.schema:
        with engine.connect() as conn:
            attachments = int(conn.scalar(text("SELECT count(*) FROM attachment")) or 0)
        emit(f"setup: schema {args.schema} with {attachments:,} attachments")
        return attachments
    with stopwatch() as took:
        stats = generate(engine, population=population, seed=args.seed)
    emit(f"setup: generated {stats.persons:,} persons with {stats.attachments:,} attachments in {took[0]:.1f} s")
    if args.sql_rows:
        seconds = build_in_sql(url, args.sql_rows)
        emit(f"setup: added {args.sql_rows:,} persons and attachments in SQL in {seconds:.1f} s")
    return stats.attachments + int(args.sql_rows)


def main(argv: list[str] | None = None, prog: str | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--population", type=int, default=None, help="generated persons (default 1,000,000; 20,000 with --sql-rows)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds (each snapshot on an earlier day)")
    parser.add_argument("--database-url", default=POSTGRES_URL)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="a tiny run (3,000 persons)")
    parser.add_argument(
        "--sql-rows",
        type=int,
        default=0,
        help="add this many synthetic persons with an open attachment each, built in SQL",
    )
    parser.add_argument(
        "--build-only",
        metavar="SCHEMA",
        help="only build the country (with --sql-rows) in this new scratch schema (bench_cap_...) "
        "and leave it for --schema",
    )
    parser.add_argument(
        "--schema",
        help="time the steps on this already built scratch schema (left behind by a "
        "run that was cut short) instead of building one; it is dropped after",
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgresql", "postgres")):
        parser.error("bench capitation needs PostgreSQL")
    population = 3_000 if args.smoke else args.population or (20_000 if args.sql_rows else 1_000_000)
    emit(f"bench capitation: {population:,} persons; {os.cpu_count()} CPUs, Python {platform.python_version()}")
    if args.build_only:
        return build_only(args.database_url, args.build_only, population, args.sql_rows, args.seed)
    place = (
        existing_schema(args.database_url, args.schema)
        if args.schema
        else migrated_schema(args.database_url, "bench_cap")
    )
    as_of = GeneratorParams().as_of
    with place as url:
        engine = make_engine(url)
        try:
            attachments = setup(engine, url, args, population)
            rounds = [one_round(engine, as_of - dt.timedelta(days=r)) for r in range(args.repeat)]
        finally:
            engine.dispose()
    figures = {key: sorted(r[key] for r in rounds)[len(rounds) // 2] for key in rounds[0]}
    figures["attachments"] = float(attachments)
    scale = NATIONAL / max(1, attachments)
    figures["snapshot_20m_extrapolated_s"] = figures["snapshot_s"] * scale
    rows = [
        (label, f"{figures[key]:.2f}", f"{figures[key] / figures['bare_s']:.1f}", f"{figures[key] * scale:.0f}")
        for key, label in STEPS
    ]
    emit(table(rows, ("step", "median s", "vs 1", "20 M linear extrapolation s")))
    emit(
        f"persons counted: snapshot {figures['snapshot_total']:,.0f}, computed {figures['computed_total']:,.0f}, "
        f"bare {figures['bare_total']:,.0f}"
    )
    return figures


if __name__ == "__main__":
    main()
