"""The first links of new chains, computed in bulk for loads that COPY rows (the synthetic generator).

A bulk load writes rows whose chains do not exist yet (a new person's identity, their first attachment), so
each row opens its own chain: seq 1 after the genesis hash, and a head at that link. Nothing needs locking
or reading back: the load hashes the rows as it formats them and writes the links and heads with the same
COPY (or executemany) in the same transaction as the rows. A head that already exists makes that batch fail
(the primary key of ``chain_head``), never a fork.

The canonical JSON of a record is built here directly from plain values (the C encoder of JSON strings, no
dict sorting), several times faster than ``json.dumps`` and byte for byte the same text as
``kinds.record_hash`` (tests/trust/chain/test_bulk.py compares them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from emhana.trust.chain.kinds import END, GENESIS, OPEN, ChainKind, _plain

LinkRow = tuple[str, str, int, int, str, str, str, str, dt.datetime]  # chain_link without its id
HeadRow = tuple[str, str, int, str]  # chain_head
LINK_COLUMNS = ("kind", "chain_key", "seq", "record_id", "event", "record_hash", "prev_hash", "link_hash", "linked_at")
HEAD_COLUMNS = ("kind", "chain_key", "seq", "head_hash")


def _encode(value: Any) -> str:
    """One stored value as the JSON text ``kinds.record_hash`` gives it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return str(encode_basestring(value))
    return _encode(_plain(value))


def record_hash(kind: ChainKind, record_id: int, row: Mapping[str, Any], event_: str = OPEN) -> str:
    """The same hash as ``kinds.record_hash`` for a row of plain values."""
    fields = kind.end_fields if event_ == END else kind.open_fields
    names = list(fields)
    if event_ != END:
        names += [f for f in kind.optional_fields if row.get(f) is not None]
    body = ",".join(f"{encode_basestring(n)}:{_encode(row[n])}" for n in sorted(names))
    text = (
        f'{{"event":{encode_basestring(event_)},"fields":{{{body}}},"id":{int(record_id)},'
        f'"table":{encode_basestring(kind.table.name)}}}'
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class FreshChains:
    """The links and heads of chains opened by one batch of a bulk load."""

    at: dt.datetime
    links: list[LinkRow] = field(default_factory=list)
    heads: list[HeadRow] = field(default_factory=list)

    def open(self, kind: ChainKind, record_id: int, row: Mapping[str, Any]) -> None:
        """Open the chain of a new row (its key must name no chain yet) with the row's ``open`` link."""
        key = kind.key_of(row)
        rec = record_hash(kind, record_id, row)
        text = f"{kind.name}|{key}|{record_id}|{OPEN}|{rec}|{GENESIS}"
        lh = hashlib.sha256(text.encode()).hexdigest()
        self.links.append((kind.name, key, 1, record_id, OPEN, rec, GENESIS, lh, self.at))
        self.heads.append((kind.name, key, 1, lh))

    def clear(self) -> None:
        self.links, self.heads = [], []
