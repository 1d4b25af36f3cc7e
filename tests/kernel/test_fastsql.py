"""emhana.kernel.fastsql.Fast gives what Connection.execute gives, on both databases: rows, RETURNING in order,
SQLAlchemy's errors and bind checks, and nothing left behind by a failed statement."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from sqlalchemy import Connection, Engine, Table, bindparam, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from emhana.audit.models import ChainHead
from emhana.facilities.models import District
from emhana.kernel.fastsql import FEW, Fast
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
