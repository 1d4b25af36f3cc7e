"""What each kind of chain hashes, pinned: a fixed sample row per kind has a fixed reference hash, so a field
left out of a hash (or added to it) fails here, and every column of a chained table is either hashed or listed
below with the reason it is not."""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

import pytest
from sqlalchemy import Boolean, Date, DateTime, Integer, LargeBinary, String, Text

from emhana import models  # noqa: F401  (registers every chained table)
from emhana.trust.chain.kinds import END, KINDS, OPEN, UPDATE, ChainKind, link_hash, record_hash

# Columns a chain deliberately leaves out, and why.
NOT_HASHED = {
    "audit_event": {"id"},
    "medbook_entry": {"id", "signature_state"},  # set when signed; the signature is evidence of its own
    "attachment": {"id", "person_sex", "person_birth_date"},  # copies of the person's, hashed in its chain (0037)
    "person": {"id", "created_at"},  # the row's own bookkeeping
    "legal_representation": {"id"},
    "medical_book": {"id", "created_at"},
    "attachment_application": {"id"},
    # the password is changed by its holder (a reset is audited and chained through must_change_password's
    # writer's audit event); the display name is a label
    "account": {"id", "password_hash", "display_name", "created_at", "must_change_password"},
}

# SHA-256 of each kind's sample row (``sample`` below), event ``open``.
GOLDEN = {
    "account": "9f8a2015917af71a367b42be4e33a1bba0b8df299fb2cd85b57b74616fcc1ad9",
    "application": "0228bc0a7350c9ff252cfe09cde669cdd6434446a5f5639226e4ae5e15e01978",
    "attachment": "d0c336bafca62e4e443779d12bf00dca8382444afe6e047557d8e162eb934c68",
    "audit": "07819a350ba4f518a8db83384a6be5029a6e44584e5f402a760ab79ee6f8a2a7",
    "book": "d52d528f39937fae0aeca47f0e28dbf6d92deafb8320cb0bce6e8a9d51422c3b",
    # issue 17 added the optional ``retracted`` (True here); with it None the hash is the one before (2cb4c268…)
    "medbook": "9145be68f027ec7744ba6b9da9ce2740c39b83224ec5bd63951932135badf872",
    "person": "2fb49fc762ce3c5ce315f6af8929f6fc1764ec7cd383473360714e7fe1f140d4",
    "representation": "133c039f44660f7af5a370ec7adce3168786b0e0f47a227c935a4a986469f9f4",
}
GOLDEN_END = {"attachment": "d0c187af58b2f1d2c4a3cbf80f0f399409b104c41bffabeee3ed4361bba0b328"}
GOLDEN_LINK = "d9281928b47b25fbabaf4a5a677af3756fbd3bc5b5eaf1fe63cd6f0fa798e666"


def _value(name: str, column: Any) -> Any:
    """A fixed value of a column's type, from its name alone (so columns added later change nothing)."""
    i = zlib.crc32(name.encode()) % 997
    kind = type(column.type)
    if isinstance(column.type, Boolean):
        return i % 2 == 0
    if isinstance(column.type, DateTime):
        return dt.datetime(2026, 3, 10, 5, i % 60, i % 60, 123, tzinfo=dt.UTC)
    if isinstance(column.type, Date):
        return dt.date(2026, 1, 1) + dt.timedelta(days=i)
    if isinstance(column.type, LargeBinary):
        return bytes([i % 256]) * 4
    if isinstance(column.type, String | Text):
        return f'{name}-Қ"{i}'
    if isinstance(column.type, Integer) or "Integer" in kind.__name__:
        return 1000 + i
    raise AssertionError(f"no sample value for {name} ({kind.__name__})")


def sample(kind: ChainKind) -> dict[str, Any]:
    """Every column of the kind's table, each with its own fixed value."""
    return {c.name: _value(c.name, c) for c in kind.table.columns}


def test_every_chained_table_is_pinned() -> None:
    assert sorted(KINDS) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_each_kind_hashes_exactly_its_pinned_fields(name: str) -> None:
    kind = KINDS[name]
    row = sample(kind)
    assert record_hash(kind, row, OPEN) == GOLDEN[name]
    if name in GOLDEN_END:
        assert record_hash(kind, row, END) == GOLDEN_END[name]
    if kind.mutable:  # an update link hashes the same fields, under its own event
        assert record_hash(kind, row, UPDATE) not in (GOLDEN[name], "")


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_every_column_is_hashed_or_left_out_on_purpose(name: str) -> None:
    kind = KINDS[name]
    hashed = {*kind.open_fields, *kind.optional_fields, *kind.end_fields}
    columns = {c.name for c in kind.table.columns}
    assert hashed <= columns
    assert columns - hashed == NOT_HASHED[kind.table.name], "hash the new column, or say here why not"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_each_hashed_field_changes_the_hash(name: str) -> None:
    kind = KINDS[name]
    row = sample(kind)
    for field in kind.open_fields:
        other = {**row, field: None if row[field] is not None else 1}
        assert record_hash(kind, other, OPEN) != record_hash(kind, row, OPEN), field


def test_the_link_hash_is_pinned() -> None:
    assert link_hash(kind="book", key="7", record_id=7, event_=UPDATE, rec_hash="a" * 64, prev_hash="b" * 64) == (
        GOLDEN_LINK
    )
