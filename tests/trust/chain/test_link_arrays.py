"""The chain's links go to PostgreSQL as array parameters in one statement with their heads' moves
(emhana.trust.chain.store.write_links): each value's text array form reads back as the value it was."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from emhana.trust.chain.store import LINK_AND_MOVE, _array

AWKWARD = ["plain", 'a "quoted" one', "back\\slash", "x,y", " spaced ", "{}", "NULL", "", "қазақ"]


def test_text_arrays_quote_every_value() -> None:
    assert _array(["a", "b"]) == '{"a","b"}'
    assert _array([1, 22]) == "{1,22}"
    assert _array(['q"', "b\\"]) == '{"q\\"","b\\\\"}'
    assert _array([dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)]) == '{"2026-01-02T03:04:05+00:00"}'
    with pytest.raises(TypeError):
        _array([True])
    assert "%(linked_at)s::timestamptz[]" in LINK_AND_MOVE


def test_text_arrays_read_back_as_the_values_given(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's arrays")
    moment = dt.datetime(2026, 9, 10, 4, 0, 0, 123456, tzinfo=dt.UTC)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT CAST(:a AS varchar[])"), {"a": _array(AWKWARD)}).scalar_one() == AWKWARD
        assert conn.execute(text("SELECT CAST(:a AS bigint[])"), {"a": _array([1, 2**40])}).scalar_one() == [1, 2**40]
        got = conn.execute(text("SELECT CAST(:a AS timestamptz[])"), {"a": _array([moment])}).scalar_one()
        assert got == [moment]
