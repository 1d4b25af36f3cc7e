"""The first links a bulk load writes: the same record hashes as the chain's own writer, byte for byte."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from emhana import models  # noqa: F401  (registers every chained table)
from emhana.trust.chain import bulk
from emhana.trust.chain.kinds import END, GENESIS, KINDS, OPEN, UPDATE, link_hash, record_hash

ROWS: list[dict[str, Any]] = [
    {"surname": 'Қ"у\\ат\nбек', "patronymic": None, "birth_date": dt.date(1990, 1, 31), "care_at_home": True},
    {"surname": "O'Neil\u202e", "patronymic": "", "birth_date": "1990-01-31", "care_at_home": None},
    {"created_at": dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))), "care_at_home": False},
    {"created_at": dt.datetime(2026, 3, 10, 5, 0, 0, 1), "canonical": b"\x00\xff", "active": True},
]


def _row(kind_name: str, extra: dict[str, Any]) -> dict[str, Any]:
    kind = KINDS[kind_name]
    row: dict[str, Any] = {c.name: i for i, c in enumerate(kind.table.columns)}
    row.update({k: v for k, v in extra.items() if k in row})
    return row


@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("extra", ROWS)
def test_bulk_hashes_equal_the_writers(name: str, extra: dict[str, Any]) -> None:
    kind = KINDS[name]
    row = _row(name, extra)
    for event in (OPEN, UPDATE, END):
        assert bulk.record_hash(kind, row["id"], row, event) == record_hash(kind, row, event)


def test_fresh_chains_open_at_seq_one_after_the_genesis() -> None:
    at = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    chains = bulk.FreshChains(at)
    kind = KINDS["person"]
    row = _row("person", {"id": 42, "death_date": None})
    chains.open(kind, 42, row)
    [link], [head] = chains.links, chains.heads
    rec = record_hash(kind, row, OPEN)
    lh = link_hash(kind="person", key="42", record_id=42, event_=OPEN, rec_hash=rec, prev_hash=GENESIS)
    assert link == ("person", "42", 1, 42, OPEN, rec, GENESIS, lh, at)
    assert head == ("person", "42", 1, lh)


@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("extra", ROWS)
def test_an_opener_hashes_like_the_writer(name: str, extra: dict[str, Any]) -> None:
    kind = KINDS[name]
    row = _row(name, extra)
    fields = (*kind.open_fields, *(f for f in kind.optional_fields if row.get(f) is not None))
    opener = bulk.Opener(kind, fields)
    values = tuple(bulk.encode(row[f]) for f in opener.order)
    key = kind.key_of(row)
    rec, lh = opener.hashes(row["id"], key, values)
    assert rec == record_hash(kind, row, OPEN)
    assert lh == link_hash(kind=name, key=key, record_id=row["id"], event_=OPEN, rec_hash=rec, prev_hash=GENESIS)


def test_an_opener_refuses_fields_the_kind_does_not_hash() -> None:
    kind = KINDS["person"]
    with pytest.raises(ValueError, match="missing"):
        bulk.Opener(kind, kind.open_fields[1:])
    with pytest.raises(ValueError, match="not hashed"):
        bulk.Opener(kind, (*kind.open_fields, "created_at"))
