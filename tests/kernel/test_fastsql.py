"""emhana.kernel.fastsql.Fast gives what Connection.execute gives, on both databases: rows, RETURNING in order,
SQLAlchemy's errors and bind checks, and nothing left behind by a failed statement; in a pipeline the same, in the
order the statements were given."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from sqlalchemy import Connection, Engine, Table, bindparam, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from emhana.audit.models import ChainHead
from emhana.facilities.models import District
from emhana.kernel.fastsql import CACHED_PARAMS, FEW, Fast, Later, pipeline
from tests.builders.databases import clean

HEAD = cast(Table, ChainHead.__table__)
DISTRICT = cast(Table, District.__table__)


def head(key: str, seq: int = 0) -> dict[str, object]:
    return {"kind": "audit", "chain_key": key, "seq": seq, "head_hash": "0" * 64}


@pytest.fixture
def fresh(engine: Engine) -> Engine:
    clean(engine)
    return engine


def test_rows_and_returning_match_connection_execute(fresh: Engine) -> None:
    write = Fast(insert(HEAD).returning(HEAD.c.chain_key, HEAD.c.seq))
    read = Fast(select(HEAD.c.chain_key, HEAD.c.seq).where(HEAD.c.chain_key == bindparam("k")))
    with fresh.begin() as conn:
        assert write.rows(conn, head("a", 1)) == [("a", 1)]
        few = [head(f"b{i}", i) for i in range(3)]
        assert write.many(conn, few, returning=True) == [(f"b{i}", i) for i in range(3)]
        many = [head(f"c{i}", i) for i in range(FEW + 5)]  # past FEW: an executemany
        assert write.many(conn, many, returning=True) == [(f"c{i}", i) for i in range(FEW + 5)]
        assert sorted(write.many(conn, [head("d0"), head("d1")], returning=True, ordered=False)) == [
            ("d0", 0),
            ("d1", 0),
        ]
        assert read.rows(conn, {"k": "b2"}) == [("b2", 2)] == [tuple(r) for r in conn.execute(read.stmt, {"k": "b2"})]
        assert read.rows(conn, {"k": "none"}) == []
    with fresh.connect() as conn:
        assert len(conn.execute(select(HEAD.c.chain_key)).all()) == 1 + 3 + FEW + 5 + 2


def test_a_unique_violation_is_sqlalchemys_integrity_error_and_rolls_back(fresh: Engine) -> None:
    write = Fast(insert(HEAD))
    secret = "5" * 64  # a parameter value, not part of the key
    agains: tuple[Callable[[Connection], object], ...] = (
        lambda conn: write.rows(conn, {**head("x"), "head_hash": secret}),
        lambda conn: write.many(conn, [head("y"), {**head("x"), "head_hash": secret}]),
    )
    for again in agains:
        with pytest.raises(IntegrityError) as err, fresh.begin() as conn:
            write.rows(conn, head("x"))
            again(conn)  # x again: the primary key refuses it
        assert secret not in str(err.value)  # parameters hidden, as the engine hides them
    with fresh.connect() as conn:
        assert conn.execute(select(HEAD.c.chain_key)).all() == []  # the transaction left nothing


def test_bind_processors_still_check_values(fresh: Engine) -> None:
    """Boolean's strict bind check refuses 2, as through Connection.execute (nothing is sent)."""
    stmt = Fast(select(DISTRICT.c.id).where(DISTRICT.c.active == bindparam("on", type_=DISTRICT.c.active.type)))
    with fresh.connect() as conn:
        assert stmt.rows(conn, {"on": True}) == []
        with pytest.raises((StatementError, TypeError, ValueError)) as err:
            stmt.rows(conn, {"on": 2})
        assert not isinstance(err.value, DBAPIError)  # refused before anything was sent


def test_a_pipeline_runs_its_statements_in_order_and_gives_their_rows_at_its_end(fresh: Engine) -> None:
    """Queued statements (one round trip on PostgreSQL, at once on SQLite) run before any other statement of the
    connection, which sees their writes; their rows and callbacks come when the block ends, as Fast.rows gives them."""
    write = Fast(insert(HEAD).returning(HEAD.c.chain_key, HEAD.c.seq))
    plain = Fast(insert(HEAD))
    count = select(func.count()).select_from(HEAD)
    seen: list[list[tuple[object, ...]]] = []
    width = len(head("x"))
    rows = [head(f"m{i}", i) for i in range(2 * (CACHED_PARAMS // width) + 1)]  # more than one statement's worth
    with fresh.begin() as conn:
        with pipeline(conn):
            one = write.later(conn, head("a", 1)).then(seen.append)
            several: Later[tuple[object, ...]] = write.many_later(conn, rows, returning=True, ordered=False)
            plain.many_later(conn, [head("p0"), head("p1")])
            assert conn.execute(count).scalar_one() == 1 + len(rows) + 2  # sent before this read
            after = write.later(conn, head("z", 9))
        assert one.rows == [("a", 1)] == seen[0]
        assert sorted(several.rows) == sorted((r["chain_key"], r["seq"]) for r in rows)
        assert after.rows == [("z", 9)]
    with fresh.connect() as conn:
        assert conn.execute(count).scalar_one() == 1 + len(rows) + 2 + 1


def test_an_error_in_a_pipeline_is_sqlalchemys_and_the_transaction_leaves_nothing(fresh: Engine) -> None:
    write = Fast(insert(HEAD))
    with pytest.raises(IntegrityError), fresh.begin() as conn:
        with pipeline(conn):
            write.later(conn, head("x"))
            write.later(conn, head("x"))  # the primary key refuses it, when it is sent
            write.later(conn, head("y"))
    with fresh.connect() as conn:
        assert conn.execute(select(HEAD.c.chain_key)).all() == []
