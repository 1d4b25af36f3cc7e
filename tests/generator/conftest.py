"""Fixtures of the generator tests: migrated SQLite files, and fresh PostgreSQL schemas when configured."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from emhana.db import make_engine, normalize_url
from emhana.migrate import upgrade

PG_ENV = "EMHANA_TEST_DATABASE_URL"


def pg_base() -> str | None:
    url = os.environ.get(PG_ENV)
    return normalize_url(url) if url else None


def schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Callable[[str], str]:
    """Return a function that creates a migrated SQLite file and returns its URL."""

    def make(name: str = "gen") -> str:
        url = f"sqlite:///{tmp_path / f'{name}.db'}"
        upgrade(url)
        return url

    return make


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL schema of its own, dropped afterwards (skipped without the env var)."""
    base = pg_base()
    if base is None:
        pytest.skip(f"{PG_ENV} is not set")
    schema = f"gen_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = schema_url(base, schema)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def engine_of() -> Iterator[Callable[[str], Engine]]:
    """Open engines on URLs and dispose of them after the test."""
    engines: list[Engine] = []

    def make(url: str) -> Engine:
        engine = make_engine(url)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
