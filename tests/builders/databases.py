"""The test database: a fresh empty database, emptying it between tests, which engine the tests run on, and a
digest of a query's rows."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from emhana.attachment.campaign.policy import forget_policies
from emhana.audit.guard import suspended
from emhana.kernel.db import Base
from emhana.models import Base as _AllModels  # noqa: F401  (registers every table)
from emhana.testing.databases import postgres_test_url, scratch_schema

REFERENCE_TABLES = {"kato_unit", "region", "alembic_version"}


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    """Yield an empty database (a new PostgreSQL schema or a new SQLite file), dropped afterwards."""
    base = postgres_test_url()
    if base is None:
        yield f"sqlite:///{tmp_dir / f'emhana-{uuid.uuid4().hex[:8]}.db'}"
        return
    with scratch_schema(base, "t") as url:
        yield url


# Sequences of the emptied tables back at their start (what TRUNCATE ... RESTART IDENTITY did)
_RESTART = text(
    "SELECT setval(q.seqrelid, q.seqstart, false) FROM pg_sequence q "
    "JOIN pg_depend d ON d.objid = q.seqrelid AND d.classid = 'pg_class'::regclass "
    "AND d.refclassid = 'pg_class'::regclass JOIN pg_class t ON t.oid = d.refobjid "
    "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(:names)"
)


def clean(engine: Engine) -> None:
    """Empty every table except the reference data.

    On PostgreSQL: DELETE with the triggers (foreign keys and the append-only guards) off for the transaction, as a
    replica applies rows, and the sequences restarted. TRUNCATE did the same at about 30 times the cost (a new file
    for each of some 80 tables, every test), a fifth of the suite's time."""
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
    if engine.dialect.name == "postgresql":
        names = [t.name for t in tables]
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL session_replication_role = replica"))  # needs a superuser
                conn.exec_driver_sql("; ".join(f"DELETE FROM {n}" for n in names))
                conn.execute(_RESTART, {"names": names})
        except DBAPIError:  # not allowed to switch triggers off: the slower way, as before
            with engine.begin() as conn, suspended(conn):
                conn.execute(text("TRUNCATE " + ", ".join(names) + " RESTART IDENTITY CASCADE"))
    else:
        with engine.begin() as conn, suspended(conn):  # the audit log is append-only (emhana/audit/guard.py)
            for t in tables:
                conn.execute(t.delete())
    forget_policies(engine)


def is_postgres() -> bool:
    """Whether the tests run on PostgreSQL (EMHANA_TEST_DATABASE_URL is set)."""
    return postgres_test_url() is not None


def digest(engine: Engine, sql: str) -> str:
    """A SHA-256 of the rows a query returns, in its order."""
    h = hashlib.sha256()
    with engine.connect() as conn:
        for row in conn.execute(text(sql)):
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()
