"""Append-only guards: database triggers that refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) of the audit
log and of the chain links, on both databases (issue 8, item 5).

The only way around them is to drop them, which needs the rights of the tables' owner: :func:`suspended`
does that inside one transaction and puts them back before it ends. It exists for the test cleaner and for
tests that tamper on purpose; the application never calls it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

GUARDED = ("audit_event", "chain_link")
FUNCTION = "emhana_append_only"


def _pg_install() -> list[str]:
    out = [
        f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END
$$"""
    ]
    for t in GUARDED:
        out.append(
            f"CREATE TRIGGER trg_{t}_append_only BEFORE UPDATE OR DELETE ON {t} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        )
        out.append(
            f"CREATE TRIGGER trg_{t}_no_truncate BEFORE TRUNCATE ON {t} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )
    return out


def _pg_remove() -> list[str]:
    out = []
    for t in GUARDED:
        out.append(f"DROP TRIGGER IF EXISTS trg_{t}_append_only ON {t}")
        out.append(f"DROP TRIGGER IF EXISTS trg_{t}_no_truncate ON {t}")
    return [*out, f"DROP FUNCTION IF EXISTS {FUNCTION}()"]


def _sqlite_install() -> list[str]:
    out = []
    for t in GUARDED:
        for op in ("UPDATE", "DELETE"):
            out.append(
                f"CREATE TRIGGER trg_{t}_no_{op.lower()} BEFORE {op} ON {t} "
                f"BEGIN SELECT RAISE(ABORT, 'table {t} is append-only: {op} refused'); END"
            )
    return out


def _sqlite_remove() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS trg_{t}_no_{op}" for t in GUARDED for op in ("update", "delete")]


def install_statements(dialect: str) -> list[str]:
    """The SQL that installs the guards on a dialect (used by migration 0008)."""
    return _pg_install() if dialect == "postgresql" else _sqlite_install()


def remove_statements(dialect: str) -> list[str]:
    """The SQL that removes the guards on a dialect."""
    return _pg_remove() if dialect == "postgresql" else _sqlite_remove()


@contextmanager
def suspended(conn: Connection) -> Iterator[None]:
    """Drop the guards for the rest of a block of the connection's transaction, then put them back.

    Use it only for the test cleaner or a deliberate tampering test; DDL is transactional on both
    databases, so a failure inside the block rolls the drop back too.
    """
    for sql in remove_statements(conn.dialect.name):
        conn.execute(text(sql))
    yield
    for sql in install_statements(conn.dialect.name):
        conn.execute(text(sql))
