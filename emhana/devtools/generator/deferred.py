"""Set aside the secondary indexes, keys and row triggers of the tables a bulk load fills, and put them back.

Each row COPYed into a table with its indexes and foreign keys in place costs an insertion into every index
(at random places for an IIN or a district) and a foreign-key check per reference, a query of its own. A
bulk load on PostgreSQL instead drops them at the start of its one transaction and builds them again at its end:
an index built over the loaded rows is one sort, a foreign key added to a filled table is checked with one join
over all its rows. Nothing goes unchecked (``ALTER TABLE ... ADD CONSTRAINT`` validates every row, a unique
index or key refuses any duplicate) and the definitions put back are those read from the catalog (same names,
same text), so the schema is the migrations' own again when the transaction commits; on any failure it rolls
back with the rest.

Everything is discovered from the catalog, so an index, key or trigger a later migration adds is handled too:

* foreign keys of the loaded tables, unique constraints and indexes that back no constraint: dropped, built again;
* primary keys that no foreign key refers to, unless on a single column with a sequence default (``id``: the
  loaded ids ascend, so such an index only grows at one end, as cheap as the build): dropped, built again
  (``chain_head``'s key on kind and chain key takes each new chain at a random place);
* row triggers named in :data:`SET_BASED`: switched off for the load, and the statement that does their work
  for every row at once runs before they are switched on again (the loader writes what they would have
  written, so that statement changes nothing and only checks it). Every other trigger stays on.

Primary keys that other tables refer to stay (their foreign keys refer to them), as do check constraints (no
query) and statement triggers (once per COPY).

While the transaction is open the loaded tables are locked (``ACCESS EXCLUSIVE``): other writers and
readers of them wait. Meant for a scratch or fresh database (the benchmarks' national load), not a live one.
"""

from __future__ import annotations

from typing import Any

from emhana.attachment.capitation import FILL_PERSON_FIELDS

# The tables the generator's person load fills, referenced tables first.
LOADED_TABLES = ("person", "person_address", "person_phone", "attachment", "chain_link", "chain_head")

# Row triggers a bulk load may switch off: trigger name -> (table, the statement that does for every row of the
# table what the trigger does for one). Migration 0037's copy of the person's sex and birth date on attachments.
SET_BASED: dict[str, tuple[str, str]] = {
    "attachment_person_fields": ("attachment", FILL_PERSON_FIELDS["postgresql"]),
}

# Foreign keys of the tables (not those of other tables that refer to them: their keys stay).
_FOREIGN_KEYS = """
SELECT format('%%I', t.relname), format('%%I', c.conname), pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s)
ORDER BY t.relname, c.conname
"""
# Unique constraints, and primary keys not on a single column with a sequence default, that no foreign key
# refers to.
_UNIQUE = """
SELECT format('%%I', t.relname), format('%%I', c.conname), pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE c.contype IN ('u', 'p') AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)
  AND NOT (c.contype = 'p' AND cardinality(c.conkey) = 1 AND pg_get_serial_sequence(
    t.oid::regclass::text, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = c.conkey[1])
  ) IS NOT NULL)
ORDER BY t.relname, c.contype, c.conname
"""
# Indexes that back no constraint.
_INDEXES = """
SELECT format('%%I', i.relname), pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
ORDER BY t.relname, i.relname
"""
# Enabled row triggers (tgtype bit 0: FOR EACH ROW) of the tables.
_ROW_TRIGGERS = """
SELECT format('%%I', t.relname), format('%%I', g.tgname), g.tgname
FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
WHERE NOT g.tgisinternal AND g.tgenabled <> 'D' AND g.tgtype & 1 = 1
  AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s)
ORDER BY t.relname, g.tgname
"""


def switched_off(conn: Any, tables: tuple[str, ...] = LOADED_TABLES) -> list[str]:
    """The row triggers of ``tables`` that ``defer`` switches off (those of :data:`SET_BASED` that are on)."""
    rows = conn.execute(_ROW_TRIGGERS, (list(tables),)).fetchall()
    return [str(name) for table, _, name in rows if SET_BASED.get(name, ("",))[0] == table]


def defer(conn: Any, tables: tuple[str, ...] = LOADED_TABLES, keep: frozenset[str] = frozenset()) -> list[str]:
    """Drop the secondary indexes, unreferenced unique and primary keys and foreign keys of ``tables`` (in the
    current schema) and switch off their row triggers of :data:`SET_BASED`, in the open transaction of a psycopg
    connection, except those named in ``keep``; return the statements that put everything back, in order."""
    names = list(tables)
    keys = [r for r in conn.execute(_FOREIGN_KEYS, (names,)).fetchall() if r[1] not in keep]
    uniques = [r for r in conn.execute(_UNIQUE, (names,)).fetchall() if r[1] not in keep]
    indexes = [r for r in conn.execute(_INDEXES, (names,)).fetchall() if r[0] not in keep]
    triggers = [r for r in conn.execute(_ROW_TRIGGERS, (names,)).fetchall() if r[2] not in keep]
    triggers = [(table, quoted, name) for table, quoted, name in triggers if SET_BASED.get(name, ("",))[0] == table]
    for table, name, _ in keys:
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for table, name, _ in uniques:
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    for table, quoted, _ in triggers:
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {quoted}")
    return [
        *(SET_BASED[name][1] for _, _, name in triggers),
        *(f"ALTER TABLE {table} ENABLE TRIGGER {quoted}" for table, quoted, _ in triggers),
        *(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}" for table, name, definition in uniques),
        *(str(definition) for _, definition in indexes),
        *(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}" for table, name, definition in keys),
    ]


# The defaults of columns (NULL: none), as the catalog writes them.
_DEFAULTS = """
SELECT a.attname, pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = to_regclass(%s) AND a.attname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
"""


def fixed_defaults(conn: Any, fixed: dict[str, dict[str, str | None]]) -> list[str]:
    """Make ``fixed[table][column]`` (text in the column's input form; None: NULL) the default of each column, in
    the open transaction of a psycopg connection, so that a COPY may leave the column out; return the statements
    that put the defaults back as the catalog had them (the same expression, or none).

    The default is the column's own typed constant, so a row COPYed without the column stores what a row
    COPYed with that value would. Only the catalog changes (no row is rewritten); like ``defer``, meant for the
    bulk load's own transaction, which holds the tables locked."""
    from psycopg import sql

    back: list[str] = []
    for table, values in fixed.items():
        found = dict(conn.execute(_DEFAULTS, (table, list(values))).fetchall())
        missing = set(values) - set(found)
        if missing:
            raise ValueError(f"{table} has no column {sorted(missing)}")
        for column, value in values.items():
            name = sql.SQL("ALTER TABLE {} ALTER COLUMN {} ").format(sql.Identifier(table), sql.Identifier(column))
            default = sql.SQL("NULL") if value is None else sql.Literal(value)
            conn.execute(name + sql.SQL("SET DEFAULT ") + default)
            before = found[column]
            back.append(name.as_string(conn) + ("DROP DEFAULT" if before is None else f"SET DEFAULT {before}"))
    return back


def restore(conn: Any, statements: list[str], work_mem: str = "512MB") -> None:
    """Put back what ``defer`` set aside (same transaction), sorting in memory where it fits."""
    conn.execute(f"SET LOCAL maintenance_work_mem = '{work_mem}'")
    for statement in statements:
        conn.execute(statement)
