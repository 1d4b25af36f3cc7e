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

``pipeline`` goes one step further for a path that knows its next statements before the results of the
previous ones (the campaign's reads under the person's lock, then its writes): the statements given to
``Fast.later`` inside it are queued and sent together in psycopg's pipeline mode, one round trip for all, in order;
any other statement on the connection first sends what is queued, so the server sees everything in the order given.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Connection, Engine, Table, bindparam, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler as Compiled
from sqlalchemy.sql.expression import Executable

Row = tuple[Any, ...]
FEW = 50  # rows of an INSERT sent as one multi-row VALUES statement (within PostgreSQL's parameter limit)
CACHED_PARAMS = 50  # psycopg keeps the parsed form of statements of at most 50 parameters (and 4 kB)
TUPLES_OK = 2  # psycopg.pq.ExecStatus.TUPLES_OK: a result with rows


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
        _send_queued(conn)
        driver = self._driver_sql(conn, params)
        if driver is None:
            result = conn.execute(self.stmt, dict(params))
            return [tuple(r) for r in result] if result.returns_rows else []
        sql, compiled = driver
        values = _values(compiled, params)
        with _cursor(conn, sql, values) as cursor:
            Fast.sent += 1
            cursor.execute(sql, values)
            return [tuple(r) for r in cursor.fetchall()] if _has_rows(cursor) else []

    def later(self, conn: Connection, params: Mapping[str, Any]) -> Later[Row]:
        """``rows``, queued in the connection's open ``pipeline`` if there is one (sent with it), else run at once."""
        queue = _queue(conn)
        driver = self._driver_sql(conn, params) if queue is not None else None
        if queue is None or driver is None:
            return Later(self.rows(conn, params))
        sql, compiled = driver
        later: Later[Row] = Later()
        queue.items.append((later, sql, _values(compiled, params), ONE))
        Fast.sent += 1
        return later

    def many_later(
        self, conn: Connection, params: Sequence[Mapping[str, Any]], returning: bool = False, ordered: bool = True
    ) -> Later[Row]:
        """``many``, queued in the connection's open ``pipeline`` if there is one (sent with it), else run at once."""
        queue = _queue(conn)
        driver = self._driver_sql(conn, params[0]) if queue is not None and params else None
        if queue is None or driver is None:
            return Later(self.many(conn, params, returning=returning, ordered=ordered))
        sql, compiled = driver
        later: Later[Row] = Later()
        if self._insert and len(params) <= FEW and not (returning and ordered):
            # Multi-row statements of at most CACHED_PARAMS parameters each: in a pipeline more of them cost no round
            # trip, and psycopg parses each one once only.
            keys = tuple(params[0])
            per = max(1, CACHED_PARAMS // len(keys))
            parts: list[Later[Row]] = []
            for start in range(0, len(params), per):
                chunk = params[start : start + per]
                sql, compiled = self._multi_sql(conn, keys, len(chunk))
                flat = _values(compiled, {f"{k}_r{i}": p[k] for i, p in enumerate(chunk) for k in keys})
                parts.append(Later())
                queue.items.append((parts[-1], sql, flat, ONE))
                Fast.sent += 1
            parts[-1].then(lambda _last: later.resolve([r for part in parts for r in part.rows]))
            return later
        values = [_values(compiled, p) for p in params]
        queue.items.append((later, sql, values, MANY_RETURNING if returning else MANY))
        Fast.sent += len(values)
        return later

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
        _send_queued(conn)
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


def sql_later(conn: Connection, sql: str, params: Mapping[str, Any]) -> Later[Row]:
    """Run one statement written for PostgreSQL in psycopg's paramstyle (``%(name)s``), queued in the connection's
    open ``pipeline`` if there is one (sent with it), else at once; return its rows as ``Fast.later`` does.

    For a hot statement that SQLAlchemy Core cannot say in one piece (a data-modifying WITH over ``unnest`` arrays,
    whose text and parameters stay the same whatever the number of rows, so psycopg and the server keep it
    prepared). Only where ``pipelined(conn)``; a driver error becomes SQLAlchemy's."""
    if not pipelined(conn):
        raise RuntimeError("sql_later runs on PostgreSQL with psycopg only")
    Fast.sent += 1
    queue = _queue(conn)
    if queue is not None:
        later: Later[Row] = Later()
        queue.items.append((later, sql, dict(params), ONE))
        return later
    with _cursor(conn, sql, params) as cursor:
        cursor.execute(sql, params)
        return Later([tuple(r) for r in cursor.fetchall()] if _has_rows(cursor) else [])


PIPELINE = "emhana.fastsql.pipeline"  # Connection.info: the statements sent in the open pipeline, not yet read


T = TypeVar("T")


class Later(Generic[T]):
    """The result rows of a statement sent with ``Fast.later``: known at once where it ran at once, else when its
    pipeline ends (``pipeline``); the callbacks given to ``then`` run with the rows, in the order they were given."""

    def __init__(self, rows: list[T] | None = None) -> None:
        self._rows = rows
        self._then: list[Callable[[list[T]], object]] = []

    def then(self, fn: Callable[[list[T]], object]) -> Later[T]:
        """Call ``fn(rows)`` once the rows are known (now, when they are)."""
        if self._rows is not None:
            fn(self._rows)
        else:
            self._then.append(fn)
        return self

    def resolve(self, rows: list[T]) -> None:
        """Make the rows known and run the callbacks waiting for them."""
        self._rows = rows
        waiting, self._then = self._then, []
        for fn in waiting:
            fn(rows)

    @property
    def done(self) -> bool:
        return self._rows is not None

    @property
    def rows(self) -> list[T]:
        """The rows; an error before the pipeline has ended."""
        if self._rows is None:
            raise RuntimeError("read before its pipeline ended")
        return self._rows


ONE, MANY, MANY_RETURNING = 0, 1, 2  # how a queued statement is executed


class _Queue:
    """The statements given to ``Fast.later`` in an open ``pipeline``, not sent yet."""

    def __init__(self, conn: Connection) -> None:
        self.driver: Any = conn.connection.driver_connection
        self.error: type[Exception] = conn.dialect.loaded_dbapi.Error
        self.hide = conn.engine.hide_parameters
        self.items: list[tuple[Later[Row], str, Any, int]] = []

    def send(self) -> None:
        """Send what is queued in one round trip (psycopg's pipeline mode), in order; resolve each result."""
        if not self.items:
            return
        items, self.items = self.items, []
        wire = _Wire.of(self.driver)
        if wire is not None:
            results = wire.send(items, self.error, self.hide)
            if results is not None:
                for (later, _, _, _), rows in zip(items, results, strict=True):
                    later.resolve(rows)
                return
        cursors: list[Any] = []
        try:
            try:
                with self.driver.pipeline():
                    for _, sql, values, mode in items:
                        cursor = self.driver.cursor()
                        cursors.append(cursor)
                        if mode == ONE:
                            cursor.execute(sql, values)
                        else:
                            cursor.executemany(sql, values, returning=mode == MANY_RETURNING)
            except self.error as exc:
                raise DBAPIError.instance(items[0][1], None, exc, self.error, hide_parameters=self.hide) from exc
            for (later, _, _, mode), cursor in zip(items, cursors, strict=True):
                later.resolve(_read(cursor, mode))
        finally:
            for cursor in cursors:
                cursor.close()


_PLACEHOLDER = re.compile(r"%(?:\((\w+)\)s|(%)|(.))", re.S)
_CONVERTED: dict[str, tuple[bytes, tuple[str, ...]] | None] = {}
_NAME_MARK = b"/* emhana.fastsql */ "  # our statements' keys in psycopg's cache of prepared statements


def _to_dollars(sql: str) -> tuple[bytes, tuple[str, ...]] | None:
    """Return a statement in psycopg's ``%(name)s`` paramstyle as PostgreSQL's ``$n`` form with the parameter names
    in order (a name given twice is one parameter); None for any other ``%`` form (sent by psycopg's cursor)."""
    found = _CONVERTED.get(sql, False)
    if found is not False:
        return found  # type: ignore[return-value]
    names: list[str] = []
    bad = False

    def one(m: re.Match[str]) -> str:
        nonlocal bad
        if m.group(2):
            return "%"
        if m.group(1) is None:
            bad = True
            return ""
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    text = _PLACEHOLDER.sub(one, sql)
    result = None if bad else (text.encode(), tuple(names))
    if len(_CONVERTED) < 2_000:
        _CONVERTED[sql] = result
    return result


_MARKED: dict[bytes, bytes] = {}


def _marked(query: bytes) -> bytes:
    """A statement's key in psycopg's cache of prepared statements: one object per statement, its hash computed once."""
    found = _MARKED.get(query)
    if found is None:
        found = _NAME_MARK + query
        if len(_MARKED) < 2_000:  # as many as _to_dollars keeps
            _MARKED[query] = found
    return found


def _drain(pgconn: Any) -> Generator[Any, Any, list[list[Any]]]:
    """A generator for psycopg's ``wait``: read the results of a pipeline's statements up to its sync, each statement's
    results in a list of their own (the sync alone in the last), as psycopg's ``fetch_many`` gives them one statement
    at a time; waits for the socket only while libpq has no whole result to give."""
    from psycopg.pq import ExecStatus
    from psycopg.waiting import Wait

    sync, ready = ExecStatus.PIPELINE_SYNC, Wait.R
    out: list[list[Any]] = []
    results: list[Any] = []
    while True:
        if pgconn.is_busy():
            while not (yield ready):
                continue
            pgconn.consume_input()
            continue
        result = pgconn.get_result()
        if result is None:  # the end of one statement's results
            if results:
                out.append(results)
                results = []
        elif result.status == sync:
            out.append([result])
            return out
        else:
            results.append(result)


class _Wire:
    """A pipeline sent with libpq's calls through psycopg's own parts (its adapters, generators and cache of prepared
    statements) instead of one psycopg cursor per statement: about half the client's work for each statement of the
    campaign's transaction (benchmarks/RESULTS.md).

    What psycopg's cursors would do is done the same way: the transaction's BEGIN first when none is open, each
    statement prepared (once per connection and parameter types, named and kept in psycopg's cache of prepared
    statements, so psycopg evicts and discards it as it does its own) unless the connection prepares nothing
    (``prepare_threshold`` None), parameters adapted by psycopg's dumpers (text format) and rows by its loaders, an
    error raised as psycopg's (then SQLAlchemy's) after the pipeline is drained."""

    def __init__(self, driver: Any) -> None:
        from psycopg import pq
        from psycopg.adapt import PyFormat, Transformer

        self.driver = driver
        self.pgconn = driver.pgconn
        self.pq = pq
        self.text = PyFormat.TEXT
        self.transformer = Transformer

    @staticmethod
    def of(driver: Any) -> _Wire | None:
        """The wire of a psycopg connection outside psycopg's own pipeline, or None (psycopg's cursors then)."""
        if getattr(driver, "_pipeline", True) is not None or not hasattr(driver, "_prepared"):
            return None
        return _Wire(driver)

    def send(
        self, items: list[tuple[Later[Row], str, Any, int]], error: type[Exception], hide: bool
    ) -> list[list[Row]] | None:
        """Send the items in one pipeline; return each one's rows (a MANY_RETURNING's rows of every execution in
        order), or None if some statement is not in a form sent this way (nothing was sent then)."""
        from psycopg import errors
        from psycopg.generators import pipeline_communicate

        pq, pgconn, driver = self.pq, self.pgconn, self.driver
        converted = [_to_dollars(sql) for _, sql, _, _ in items]
        if any(c is None for c in converted) or pgconn.pipeline_status != pq.PipelineStatus.OFF:
            return None
        tx = self.transformer(driver)
        cache = driver._prepared
        prepare = cache.prepare_threshold is not None
        commands: list[Callable[[], object]] = []
        # What each result answers: (item index, or -1 for BEGIN, or -2 for a PREPARE with its (key, name)).
        expect: list[tuple[int, Any]] = []
        if not driver.autocommit and pgconn.transaction_status == pq.TransactionStatus.IDLE:
            commands.append(partial(pgconn.send_query_params, driver._get_tx_start_command(), None))
            expect.append((-1, None))
        naming: dict[Any, bytes] = {}
        for index, ((_, _, values, mode), found) in enumerate(zip(items, converted, strict=True)):
            query, names = found  # type: ignore[misc]
            for params in [values] if mode == ONE else values:
                dumped = tx.dump_sequence([params[n] for n in names], [self.text] * len(names))
                types = tuple(tx.types or ())
                if not prepare:
                    commands.append(partial(pgconn.send_query_params, query, dumped, types, tx.formats))
                    expect.append((index, None))
                    continue
                key = (_marked(query), types)
                name = cache._names.get(key) or naming.get(key)
                if name is None:
                    name = naming[key] = f"_pg3_{cache._prepared_idx}".encode()
                    cache._prepared_idx += 1
                    commands.append(partial(pgconn.send_prepare, name, query, types))
                    expect.append((-2, (key, name)))
                elif key in cache._names:
                    cache._names.move_to_end(key)  # recently used: the last psycopg would evict
                commands.append(partial(pgconn.send_query_prepared, name, dumped, tx.formats))
                expect.append((index, None))
        pgconn.enter_pipeline_mode()
        try:
            # Every command into libpq's output buffer first (in pipeline mode it writes nothing before the sync below
            # 64 kB), then the sync, which writes them: one write and one wake-up of the server for the whole pipeline,
            # where psycopg's pipeline_communicate writes each command apart. What the socket does not take at once is
            # written by pipeline_communicate, which reads results meanwhile.
            for command in commands:
                command()
            pgconn.pipeline_sync()
            got = [] if pgconn.flush() == 0 else driver.wait(pipeline_communicate(pgconn, deque()))
            if not got or got[-1][0].status != pq.ExecStatus.PIPELINE_SYNC:
                got.extend(driver.wait(_drain(pgconn)))  # the results of the other statements, to the final sync
        finally:
            pgconn.exit_pipeline_mode()
        out: list[list[Row]] = [[] for _ in items]
        failed: tuple[int, Any] | None = None
        for (index, what), results in zip(expect, got, strict=False):
            result = results[0]
            status = result.status
            if status == pq.ExecStatus.FATAL_ERROR:
                failed = failed or (index, result)
            elif index == -2 and status == pq.ExecStatus.COMMAND_OK:
                key, name = what
                cache._names[key] = name  # prepared: reused by the next pipelines on this connection
            elif index >= 0 and status == pq.ExecStatus.TUPLES_OK:
                tx.set_pgresult(result)
                out[index].extend(tx.load_rows(0, result.ntuples, tuple))
        cache._rotate()
        if failed is not None:
            index, result = failed
            exc = errors.error_from_result(result, encoding=pgconn._encoding)
            sql = items[index][1] if index >= 0 else "BEGIN"
            raise DBAPIError.instance(sql, None, exc, error, hide_parameters=hide) from exc
        return out


def _read(cursor: Any, mode: int) -> list[Row]:
    """Return a sent statement's result rows: one set, or one set per execution of a MANY_RETURNING."""
    if mode != MANY_RETURNING:
        return [tuple(r) for r in cursor.fetchall()] if _has_rows(cursor) else []
    out: list[Row] = []
    while True:
        row = cursor.fetchone()
        if row is not None:
            out.append(tuple(row))
        if not cursor.nextset():
            return out


def _has_rows(cursor: Any) -> bool:
    """Whether the statement just run returned rows (its result's status, not ``description``, which builds a
    column object for each column of the result)."""
    result = cursor.pgresult
    return result is not None and result.status == TUPLES_OK


def _queue(conn: Connection) -> _Queue | None:
    found: _Queue | None = conn.info.get(PIPELINE)
    return found


def _send_queued(conn: Connection) -> None:
    """Send what an open pipeline holds before any other statement runs on the connection, so statements run in
    the order they were given."""
    queue = _queue(conn)
    if queue is not None:
        queue.send()


@event.listens_for(Engine, "before_cursor_execute")
def _before_statement(conn: Connection, *_: Any) -> None:
    # Connection.info is that of the database connection: the same queue whatever Connection object runs this one.
    if PIPELINE in conn.info:
        _send_queued(conn)


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """Send the statements given to ``Fast.later`` inside the block together, in order, in one round trip on
    PostgreSQL (psycopg's pipeline mode), where each ``Fast.rows`` waits for its own; their results are known
    (``Later.rows``, ``Later.then``) when the block ends. On any other database (SQLite) each runs at once, as
    with ``Fast.rows``.

    Any other statement on the connection inside the block (``Fast.rows``, an ORM flush or query) first sends
    what is queued, so everything runs on the server in the order it was given (locks too). An error of a queued
    statement is raised where they are sent, as SQLAlchemy's (``DBAPIError.instance``). What is queued is sent
    even when the block raises (as psycopg's own pipeline does), an error of it then not hiding the block's. A
    pipeline inside a pipeline is part of it."""
    if not pipelined(conn) or PIPELINE in conn.info:
        yield
        return
    queue = conn.info[PIPELINE] = _Queue(conn)
    try:
        yield
    except BaseException:
        try:
            queue.send()
        except Exception:  # noqa: BLE001 - the block's own error is the one to raise
            pass
        raise
    else:
        queue.send()
    finally:
        conn.info.pop(PIPELINE, None)


def pipelined(conn: Connection) -> bool:
    """Tell whether ``pipeline`` sends statements together on this connection (PostgreSQL with psycopg)."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


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
