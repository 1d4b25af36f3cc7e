"""Build the national dataset with the generator, and time a raw COPY of the same rows as its baseline.

The generator (emhana.devtools.generator.generate) writes the facility layer, then persons, addresses, phones and
everyone's attachment with COPY, streaming in bounded batches, each person and attachment with the first link
and head of its hash chain (chain_link, chain_head). It loads in bulk mode: one transaction, the secondary
indexes and foreign keys of the loaded tables built again at its end (emhana.devtools.generator.deferred), so
the schema is the migrated one afterwards and every key is checked. The baseline has no chain links: it is
the four tables only. The baseline spools those very rows to files
(not timed), then loads them with bare psycopg `COPY ... FROM STDIN` into a second migrated schema that
holds the same facility layer, keys, indexes and foreign keys (timed). Memory stays bounded at any scale:
rows pass through 1 MB chunks, never a Python list of the whole table. The untimed copy of the facility
layer sets `session_replication_role = replica` (foreign keys off for that copy), which needs a superuser.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import Engine, make_url, text

from emhana.devtools.generator import GenerateStats, generate
from emhana.kernel.db import libpq_url
from emhana.testing.databases import migrated_schema

PERSON_TABLES = ("person", "person_address", "person_phone", "attachment")
# The facility layer the person rows refer to, in foreign-key order (copied untimed into the baseline schema).
LAYER_TABLES = ("entity", "licence", "inclusion", "site", "practitioner", "district", "post")
CHUNK = 1 << 20


def raw_url(url: str) -> str:
    """The libpq form of a SQLAlchemy psycopg URL (its server options kept: search_path, ...)."""
    return libpq_url(make_url(url))


def current_schema(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(text("SELECT current_schema()")))


@dataclass(frozen=True)
class Load:
    stats: GenerateStats
    wall_seconds: float


def load_population(engine: Engine, persons: int, seed: int) -> Load:
    """Generate the country (everyone attached, chain links included); ``wall_seconds`` is the whole call (plan,
    facility layer, persons, index and key builds, ANALYZE), the generator's own clock times the person rows."""
    import time

    start = time.perf_counter()
    stats = generate(engine, population=persons, seed=seed, bulk=True)
    return Load(stats, time.perf_counter() - start)


@dataclass(frozen=True)
class Baseline:
    schema: str
    persons: int
    rows: int
    seconds: float
    bytes: int


def _person_filter(table: str, last_person: int | None) -> str:
    if last_person is None:
        return ""
    return f" WHERE {'id' if table == 'person' else 'person_id'} <= {int(last_person)}"


def spool(conn: psycopg.Connection, folder: Path, last_person: int | None) -> dict[str, Path]:
    """Write the person rows (up to a person id) of each table to a COPY text file; return the files."""
    files = {}
    for table in PERSON_TABLES:
        path = folder / f"{table}.copy"
        with (
            path.open("wb") as out,
            conn.cursor() as cur,
            cur.copy(f"COPY (SELECT * FROM {table}{_person_filter(table, last_person)} ORDER BY id) TO STDOUT") as copy,
        ):
            for chunk in copy:
                out.write(chunk)
        files[table] = path
    return files


def raw_copy_baseline(
    engine: Engine, base_url: str, persons: int, first_person: int, limit: int | None = None
) -> Baseline:
    """Time a bare psycopg COPY of the generated person rows into a second schema with the same layer."""
    source = current_schema(engine)
    count = persons if limit is None else min(limit, persons)
    last = None if count == persons else first_person + count - 1
    folder = Path(tempfile.mkdtemp(prefix="emhana_bench_"))
    try:
        with psycopg.connect(raw_url(str(engine.url.render_as_string(hide_password=False)))) as conn:
            files = spool(conn, folder, last)
        size = sum(p.stat().st_size for p in files.values())
        with migrated_schema(base_url, "bench_raw") as url, psycopg.connect(raw_url(url)) as conn:
            schema = str(conn.execute("SELECT current_schema()").fetchone()[0])  # type: ignore[index]
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET LOCAL session_replication_role = replica")  # untimed copy of the layer
                for table in LAYER_TABLES:
                    cur.execute(f"INSERT INTO {table} SELECT * FROM {source}.{table}")
            import time

            start = time.perf_counter()
            rows = 0
            for table in PERSON_TABLES:
                with (
                    conn.transaction(),
                    conn.cursor() as cur,
                    cur.copy(f"COPY {table} FROM STDIN") as copy,
                    files[table].open("rb") as src,
                ):
                    while chunk := src.read(CHUNK):
                        copy.write(chunk)
                        rows += chunk.count(b"\n")
            seconds = time.perf_counter() - start
        return Baseline(schema, count, rows, seconds, size)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
