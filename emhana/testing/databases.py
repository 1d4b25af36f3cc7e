"""Scratch databases for tests and benchmarks: a new PostgreSQL schema per run, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

from emhana.kernel.db import libpq_url, normalize_url
from emhana.kernel.migrate import upgrade

TEST_DATABASE_ENV = "EMHANA_TEST_DATABASE_URL"


def with_options(url: str, options: str) -> str:
    """Return a PostgreSQL URL whose connections also get these server options (libpq's ``options``, kept with
    any the URL has)."""
    parsed = make_url(url)
    had = parsed.query.get("options", "")
    had = " ".join(had) if isinstance(had, tuple) else had
    merged = f"{had} {options}".strip() if options not in had.split() else had
    return libpq_url(parsed.update_query_dict({"options": merged}), parsed.drivername)


def postgres_test_url() -> str | None:
    """Return the PostgreSQL URL tests should use, or None when they run on SQLite."""
    url = os.environ.get(TEST_DATABASE_ENV)
    return normalize_url(url) if url else None


def schema_url(base: str, schema: str) -> str:
    """Return a PostgreSQL URL whose connections put a schema first in the search path."""
    return with_options(base, f"-csearch_path={schema}")


@contextmanager
def scratch_schema(base_url: str, prefix: str) -> Iterator[str]:
    """Yield the URL of a new, empty PostgreSQL schema; drop it with everything in it afterwards."""
    base = normalize_url(base_url)
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_pre_ping=True)  # survives a server restart
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema_url(base, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@contextmanager
def migrated_schema(base_url: str, prefix: str = "bench") -> Iterator[str]:
    """Yield a migrated database: a scratch schema on PostgreSQL, the given URL itself otherwise."""
    base = normalize_url(base_url)
    if not base.startswith("postgresql"):
        upgrade(base)
        yield base
        return
    with scratch_schema(base, prefix) as url:
        upgrade(url)
        yield url
