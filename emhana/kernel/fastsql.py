"""Core statements compiled once and run straight on the driver's cursor on PostgreSQL: the campaign's hot path.

The SQL of the hot path stays one SQLAlchemy Core statement each, for both databases. On PostgreSQL a
``Fast`` statement is compiled once for the connection's dialect and sent with psycopg's own cursor, in
the connection's transaction, skipping SQLAlchemy's per-execute work (execution context, cache lookup,
result wrapping), which was most of the client time of an attach transaction (benchmarks/RESULTS.md,
bench_attach). Elsewhere (SQLite) it runs through ``Connection.execute`` as any statement would.

What makes skipping safe: psycopg adapts the parameters and result types these statements use (int, str,
bool, date, timestamptz) itself; the types' bind processors are applied as SQLAlchemy would, and an
INSERT or UPDATE for which SQLAlchemy would compute a default first is never sent this way (it falls back
to ``Connection.execute``). Driver errors become SQLAlchemy's
(``DBAPIError.instance``, so a unique violation is an ``IntegrityError`` as before). Statements sent this way
skip the engine's ``before_cursor_execute`` events and its log.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler as Compiled
from sqlalchemy.sql.expression import Executable

Row = tuple[Any, ...]
FEW = 50  # rows of an INSERT sent as one multi-row VALUES statement (within PostgreSQL's parameter limit)


def _values(compiled: Compiled, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return the driver's parameters: the given ones with the statement's own bound values, each through its
    type's bind processor (for example Boolean's strict check), as SQLAlchemy's execution would."""
    values = dict(compiled.construct_params(dict(params)) or {})
    for key, process in compiled._bind_processors.items():
        if key in values:
            values[key] = process(values[key])  # type: ignore[operator]
    return values


@contextmanager
def _cursor(conn: Connection, sql: str, params: Any) -> Iterator[Any]:
    """Yield a cursor of the connection's psycopg connection; a driver error becomes SQLAlchemy's, with the
    parameters hidden as the engine hides them (no IIN in an error message or a log)."""
    error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except error as exc:
        raise DBAPIError.instance(sql, params, exc, error, hide_parameters=conn.engine.hide_parameters) from exc
    finally:
        cursor.close()


class Fast:
    """One Core statement: compiled once per dialect (an INSERT once per set of columns given), run on the
    driver's cursor on PostgreSQL."""

    sent: ClassVar[int] = 0  # statements sent on the driver's cursor by this process (benchmarks count them)

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._insert = bool(getattr(stmt, "is_insert", False))
        self._compiled: dict[tuple[str, tuple[str, ...]], tuple[str, Compiled] | None] = {}
        self._multi: dict[tuple[tuple[str, ...], int], tuple[str, Compiled]] = {}

    def _driver_sql(self, conn: Connection, params: Mapping[str, Any]) -> tuple[str, Compiled] | None:
        keys = tuple(params) if self._insert else ()
        name = conn.dialect.name
        found = self._compiled.get((name, keys), False)
        if found is False:
            found = None
            if name == "postgresql" and conn.dialect.driver == "psycopg":
                compiled = self.stmt.compile(  # type: ignore[attr-defined]
                    dialect=conn.dialect, column_keys=list(keys) if self._insert else None
                )
                # Sent this way only when SQLAlchemy has no defaults to compute before an INSERT or UPDATE
                # (callers give every such column); its bind processors are applied here (_values).
                if not (getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None)):
                    found = (str(compiled), compiled)
            self._compiled[(name, keys)] = found
        return found  # type: ignore[return-value]

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Row]:
        """Execute with one set of parameters; return the result rows (none for a statement without)."""
        driver = self._driver_sql(conn, params)
        if driver is None:
            result = conn.execute(self.stmt, dict(params))
            return [tuple(r) for r in result] if result.returns_rows else []
        sql, compiled = driver
        values = _values(compiled, params)
        with _cursor(conn, sql, values) as cursor:
            Fast.sent += 1
            cursor.execute(sql, values)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []

    def _multi_sql(self, conn: Connection, keys: tuple[str, ...], n: int) -> tuple[str, Compiled]:
        """Return the INSERT of n rows as one VALUES list, its parameters named ``<column>_r<i>``."""
        found = self._multi.get((keys, n))
        if found is None:
            table = self.stmt.table  # type: ignore[attr-defined]
            rows = [{k: bindparam(f"{k}_r{i}", type_=table.c[k].type) for k in keys} for i in range(n)]
            compiled = self.stmt.values(rows).compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            found = self._multi[(keys, n)] = (str(compiled), compiled)
        return found

    def many(
        self, conn: Connection, params: Sequence[Mapping[str, Any]], returning: bool = False, ordered: bool = True
    ) -> list[Row]:
        """Execute once per set of parameters; with ``returning``, return what each execution returned.

        On PostgreSQL a few rows of an INSERT go as one multi-row VALUES statement (one round trip), unless
        ``returning`` rows must come in the order of ``params`` (``ordered``), which a pipeline of
        executions keeps."""
        if not params:
            return []
        driver = self._driver_sql(conn, params[0])
        if driver is None:
            result = conn.execute(self.stmt, [dict(p) for p in params])
            return [tuple(r) for r in result] if returning else []
        sql, compiled = driver
        if self._insert and len(params) <= FEW and not (returning and ordered):
            keys = tuple(params[0])
            sql, compiled = self._multi_sql(conn, keys, len(params))
            flat = _values(compiled, {f"{k}_r{i}": p[k] for i, p in enumerate(params) for k in keys})
            with _cursor(conn, sql, flat) as cursor:
                Fast.sent += 1
                cursor.execute(sql, flat)
                return [tuple(r) for r in cursor.fetchall()] if returning else []
        values = [_values(compiled, p) for p in params]
        with _cursor(conn, sql, values) as cursor:
            Fast.sent += len(values)
            cursor.executemany(sql, values, returning=returning)
            out: list[Row] = []
            while returning:
                row = cursor.fetchone()
                if row is not None:
                    out.append(tuple(row))
                if not cursor.nextset():
                    break
            return out


_IGNORING: dict[tuple[str, str, tuple[str, ...]], Fast] = {}


def insert_ignoring(conn: Connection, table: Table, conflict: Sequence[str]) -> Fast:
    """Return an ``INSERT … ON CONFLICT (conflict) DO NOTHING`` into the table, for the connection's dialect
    (PostgreSQL or SQLite): rows whose conflict columns are already taken are skipped; built once per dialect,
    table and conflict columns."""
    dialect = conn.dialect.name
    key = (dialect, table.name, tuple(conflict))
    stmt = _IGNORING.get(key)
    if stmt is None:
        module = postgresql if dialect == "postgresql" else sqlite
        stmt = _IGNORING[key] = Fast(module.insert(table).on_conflict_do_nothing(index_elements=list(conflict)))
    return stmt
