"""Set aside the secondary indexes and foreign keys of the tables a bulk load fills, and put them back.

Each row COPYed into a table with its indexes and foreign keys in place costs an insertion into every index
(at random places for an IIN or a district) and a foreign-key check per reference, a query of its own. A
bulk load on PostgreSQL instead drops them at the start of its one transaction and builds them again at its end:
an index built over the loaded rows is one sort, a foreign key added to a filled table is checked with one join
over all its rows. Nothing goes unchecked (``ALTER TABLE ... ADD CONSTRAINT`` validates every row, a unique
index refuses any duplicate) and the definitions put back are those read from the catalog (same names, same
text), so the schema is the migrations' own again when the transaction commits; on any failure it rolls back
with the rest. Primary keys stay (the loaded ids ascend, so their indexes only grow at one end, and the
foreign keys put back refer to them), as do check constraints (no query) and triggers.

While the transaction is open the loaded tables are locked (``ACCESS EXCLUSIVE``): other writers and
readers of them wait. Meant for a scratch or fresh database (the benchmarks' national load), not a live one.
"""

from __future__ import annotations

from typing import Any

# The tables the generator's person load fills, referenced tables first.
LOADED_TABLES = ("person", "person_address", "person_phone", "attachment", "chain_link", "chain_head")

# Foreign keys of the tables (not those of other tables that refer to them: their keys stay).
_FOREIGN_KEYS = """
SELECT format('%%I', t.relname), format('%%I', c.conname), pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s)
ORDER BY t.relname, c.conname
"""
# Unique constraints that no foreign key refers to (the primary keys stay).
_UNIQUE = """
SELECT format('%%I', t.relname), format('%%I', c.conname), pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE c.contype = 'u' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)
ORDER BY t.relname, c.conname
"""
# Indexes that back no constraint.
_INDEXES = """
SELECT format('%%I', i.relname), pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
ORDER BY t.relname, i.relname
"""


def defer(conn: Any, tables: tuple[str, ...] = LOADED_TABLES, keep: frozenset[str] = frozenset()) -> list[str]:
    """Drop the secondary indexes, unique constraints and foreign keys of ``tables`` (in the current schema) in
    the open transaction of a psycopg connection, except those named in ``keep``; return the statements that
    build them again, in order."""
    names = list(tables)
    keys = [r for r in conn.execute(_FOREIGN_KEYS, (names,)).fetchall() if r[1] not in keep]
    uniques = [r for r in conn.execute(_UNIQUE, (names,)).fetchall() if r[1] not in keep]
    indexes = [r for r in conn.execute(_INDEXES, (names,)).fetchall() if r[0] not in keep]
    for table, name, _ in keys:
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for table, name, _ in uniques:
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    return [
        *(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}" for table, name, definition in uniques),
        *(str(definition) for _, definition in indexes),
        *(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}" for table, name, definition in keys),
    ]


def restore(conn: Any, statements: list[str], work_mem: str = "512MB") -> None:
    """Build again what ``defer`` set aside (same transaction), sorting in memory where it fits."""
    conn.execute(f"SET LOCAL maintenance_work_mem = '{work_mem}'")
    for statement in statements:
        conn.execute(statement)
