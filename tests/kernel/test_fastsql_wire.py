"""A pipeline on PostgreSQL goes over libpq's calls (emhana.kernel.fastsql._Wire) and gives what psycopg's cursors
gave: rows, SQLAlchemy's errors with the driver's diagnostics, statements prepared once and kept in psycopg's own
cache (so psycopg's discarding of that cache is survived), nothing prepared where the connection prepares nothing,
and ``sql_later`` for statements written in psycopg's paramstyle."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from typing import Any, cast

import pytest
from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from emhana.audit.models import ChainHead
from emhana.kernel.fastsql import _NAME_MARK, Fast, _to_dollars, pipeline, pipelined, sql_later
from tests.builders.databases import clean

HEAD = cast(Table, ChainHead.__table__)
WRITE = Fast(insert(HEAD).returning(HEAD.c.chain_key, HEAD.c.seq))
READ = Fast(select(HEAD.c.seq).where(HEAD.c.chain_key == bindparam("k")))
RUNS = count()


def head(key: str, seq: int = 0) -> dict[str, object]:
    return {"kind": "audit", "chain_key": key, "seq": seq, "head_hash": "0" * 64}


def deallocate_all(conn: Connection) -> None:
    """DEALLOCATE ALL, which psycopg answers by emptying its cache of prepared statements -- but only the first time
    it sees the statement's text on a connection (later runs are counted, not checked), so each run is made new."""
    conn.exec_driver_sql(f"/* {next(RUNS)} */ DEALLOCATE ALL")


def ours(conn: Connection) -> list[Any]:
    """The statements this module prepared on the connection, as psycopg's cache holds them."""
    cache = conn.connection.driver_connection._prepared  # type: ignore[union-attr]
    return [k for k in cache._names if k[0].startswith(_NAME_MARK)]


@pytest.fixture
def fresh(engine: Engine) -> Iterator[Engine]:
    if engine.dialect.name != "postgresql":
        pytest.skip("the wire is PostgreSQL's (SQLite runs each statement at once)")
    clean(engine)
    yield engine


def test_placeholders_become_numbered_parameters_once_per_name() -> None:
    assert _to_dollars("SELECT %(a)s, %(b)s, %(a)s WHERE x LIKE 'a%%'") == (
        b"SELECT $1, $2, $1 WHERE x LIKE 'a%'",
        ("a", "b"),
    )
    assert _to_dollars("SELECT %s") is None  # another paramstyle: psycopg's cursor sends it


def test_rows_come_back_typed_and_statements_are_prepared_once(fresh: Engine) -> None:
    with fresh.begin() as conn:
        assert pipelined(conn)
        deallocate_all(conn)  # a pooled connection may hold what an earlier test prepared
        assert not ours(conn)
        for i in range(3):
            with pipeline(conn):
                wrote = WRITE.later(conn, head(f"k{i}", i))
                read = READ.later(conn, {"k": f"k{i}"})
            assert wrote.rows == [(f"k{i}", i)] and read.rows == [(i,)]
            assert isinstance(read.rows[0][0], int)
        prepared = ours(conn)
        assert len(prepared) == 2  # each statement once, reused by the later pipelines


def test_psycopg_discarding_its_prepared_statements_is_survived(fresh: Engine) -> None:
    with fresh.connect() as conn:
        with conn.begin():
            with pipeline(conn):
                WRITE.later(conn, head("a"))
            assert ours(conn)
            deallocate_all(conn)  # psycopg drops its cache on this command, ours with it
            assert not ours(conn)
            with pipeline(conn):
                again = WRITE.later(conn, head("b"))
            assert again.rows == [("b", 0)]


def test_a_connection_that_prepares_nothing_still_pipelines(fresh: Engine) -> None:
    with fresh.begin() as conn:
        deallocate_all(conn)  # a pooled connection may hold what an earlier test prepared
        assert not ours(conn)
        conn.connection.driver_connection.prepare_threshold = None  # type: ignore[union-attr]
        try:
            with pipeline(conn):
                wrote = WRITE.later(conn, head("n"))
            assert wrote.rows == [("n", 0)] and not ours(conn)
        finally:
            conn.connection.driver_connection.prepare_threshold = 5  # type: ignore[union-attr]


def test_an_error_keeps_the_drivers_diagnostics_and_the_transaction_leaves_nothing(fresh: Engine) -> None:
    with pytest.raises(IntegrityError) as err, fresh.begin() as conn:
        with pipeline(conn):
            WRITE.later(conn, head("x"))
            WRITE.later(conn, head("x"))  # refused by the primary key
            WRITE.later(conn, head("y"))
    orig: Any = err.value.orig
    assert orig.sqlstate == "23505" and orig.diag.table_name == HEAD.name  # what writes.already_attached reads
    with fresh.connect() as conn:
        assert conn.execute(select(HEAD.c.chain_key)).all() == []


def test_sql_later_queues_in_the_pipeline_and_runs_at_once_outside(fresh: Engine) -> None:
    sql = "SELECT %(a)s::bigint + 1, %(s)s::varchar"
    with fresh.begin() as conn:
        with pipeline(conn):
            queued = sql_later(conn, sql, {"a": 41, "s": "x"})
            assert not queued.done
        assert queued.rows == [(42, "x")]
        assert sql_later(conn, sql, {"a": 1, "s": "y"}).rows == [(2, "y")]
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_a_pipeline_larger_than_the_sockets_buffers_comes_back_whole_and_in_order(fresh: Engine) -> None:
    # Written in one go after the sync where the socket takes it all, else partly by psycopg's pipeline_communicate,
    # which reads results meanwhile (the server blocks on its answers otherwise): several MB both ways here.
    sql = "SELECT %(i)s::bigint, %(s)s::text"
    big = "ж" * 4_000
    with fresh.begin() as conn:
        with pipeline(conn):
            queued = [sql_later(conn, sql, {"i": i, "s": f"{i}{big}"}) for i in range(1_500)]
        assert [q.rows for q in queued] == [[(i, f"{i}{big}")] for i in range(1_500)]
        with pipeline(conn):
            one = READ.later(conn, {"k": "none"})
            many = [WRITE.later(conn, head(f"b{i}")) for i in range(300)]
        assert one.rows == [] and [m.rows for m in many] == [[(f"b{i}", 0)] for i in range(300)]
