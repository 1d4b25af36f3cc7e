"""Fixtures of the generator tests: migrated SQLite files, and fresh PostgreSQL schemas when configured."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from emhana.kernel.db import make_engine
from emhana.kernel.migrate import upgrade
from emhana.testing.databases import TEST_DATABASE_ENV, migrated_schema, postgres_test_url


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
    base = postgres_test_url()
    if base is None:
        pytest.skip(f"{TEST_DATABASE_ENV} is not set")
    with migrated_schema(base, "gen") as url:
        yield url


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
