"""Migrations run up from empty and back down on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from emhana.jobs.models import include_name
from emhana.kernel.db import Base, make_engine
from emhana.kernel.migrate import downgrade, upgrade
from emhana.models import Base as _All  # noqa: F401
from tests.builders.databases import fresh_database


def test_up_from_empty_matches_the_models_and_down_to_base(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert set(Base.metadata.tables) <= tables
            assert conn.execute(text("SELECT count(*) FROM kato_unit")).scalar() == 15594
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        engine.dispose()
        downgrade(url, "base")
        engine = make_engine(url)
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        engine.dispose()
        upgrade(url)


# ix_site_point and ix_site_point_squeezed are PostgreSQL-only expression indexes (ddl_if); SQLite has no such
# index to compare.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index 'ix_site_point'")
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index 'ix_site_point_squeezed'"
)
def test_models_and_migrations_agree(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(database_url)
    with engine.connect() as conn:
        # the job queue's tables are procrastinate's own schema (migration 0024), described by no model
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_migration_files_are_named_in_chain_order() -> None:
    """Sorted by file name, the migrations run in the order of their down_revision links."""
    import ast

    from emhana.kernel.migrate import MIGRATIONS

    links: dict[str, tuple[str, str | None]] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        values = {
            t.id: node.value.value
            for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for t in node.targets
            if isinstance(t, ast.Name) and t.id in ("revision", "down_revision")
        }
        revision, down = values["revision"], values["down_revision"]
        assert isinstance(revision, str) and (down is None or isinstance(down, str)), path.name
        links[path.name] = (revision, down)
    names = sorted(links)
    chain: list[str | None] = [None]
    for name in names:
        revision, down = links[name]
        assert down == chain[-1], f"{name} revises {down}, but the file before it is {chain[-1]}"
        chain.append(revision)
