"""Append-only guards: database triggers that refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) of the audit
log, of the chain links (issue 8, item 5) and of the chain checkpoints (issue 14), on both databases.

The only way around them is to drop them, which needs the rights of the tables' owner: :func:`suspended`
does that inside one transaction and puts them back before it ends. It exists for the test cleaner and for
tests that tamper on purpose; the application never calls it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

GUARDED = ("audit_event", "chain_link")  # since migration 0008
CHECKPOINTS = ("chain_checkpoint",)  # since migration 0016
EVERY = (*GUARDED, *CHECKPOINTS)
FUNCTION = "emhana_append_only"


def _pg_install(tables: tuple[str, ...]) -> list[str]:
    out = [
        f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END
$$"""
    ]
    for t in tables:
        out.append(
            f"CREATE TRIGGER trg_{t}_append_only BEFORE UPDATE OR DELETE ON {t} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        )
        out.append(
            f"CREATE TRIGGER trg_{t}_no_truncate BEFORE TRUNCATE ON {t} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )
    return out


def _pg_remove(tables: tuple[str, ...], function: bool) -> list[str]:
    out = []
    for t in tables:
        out.append(f"DROP TRIGGER IF EXISTS trg_{t}_append_only ON {t}")
        out.append(f"DROP TRIGGER IF EXISTS trg_{t}_no_truncate ON {t}")
    return [*out, f"DROP FUNCTION IF EXISTS {FUNCTION}()"] if function else out


def _sqlite_install(tables: tuple[str, ...]) -> list[str]:
    out = []
    for t in tables:
        for op in ("UPDATE", "DELETE"):
            out.append(
                f"CREATE TRIGGER trg_{t}_no_{op.lower()} BEFORE {op} ON {t} "
                f"BEGIN SELECT RAISE(ABORT, 'table {t} is append-only: {op} refused'); END"
            )
    return out


def _sqlite_remove(tables: tuple[str, ...]) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS trg_{t}_no_{op}" for t in tables for op in ("update", "delete")]


def install_statements(dialect: str, tables: tuple[str, ...] = GUARDED) -> list[str]:
    """The SQL that installs the guards of some tables on a dialect (migrations 0008 and 0016)."""
    return _pg_install(tables) if dialect == "postgresql" else _sqlite_install(tables)


def remove_statements(dialect: str, tables: tuple[str, ...] = GUARDED, function: bool = True) -> list[str]:
    """The SQL that removes the guards of some tables on a dialect (and on PostgreSQL their trigger function,
    unless another table's guard still uses it)."""
    return _pg_remove(tables, function) if dialect == "postgresql" else _sqlite_remove(tables)


@contextmanager
def suspended(conn: Connection) -> Iterator[None]:
    """Drop the guards for the rest of a block of the connection's transaction, then put them back.

    Use it only for the test cleaner or a deliberate tampering test; DDL is transactional on both
    databases, so a failure inside the block rolls the drop back too.
    """
    for sql in remove_statements(conn.dialect.name, EVERY):
        conn.execute(text(sql))
    yield
    for sql in install_statements(conn.dialect.name, EVERY):
        conn.execute(text(sql))
