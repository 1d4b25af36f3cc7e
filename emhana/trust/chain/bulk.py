"""The first links of new chains, computed in bulk for loads that COPY rows (the synthetic generator).

A bulk load writes rows whose chains do not exist yet (a new person's identity, their first attachment), so
each row opens its own chain: seq 1 after the genesis hash, and a head at that link. Nothing needs locking
or reading back: the load hashes the rows as it formats them and writes the links and heads with the same
COPY (or executemany) in the same transaction as the rows. A head that already exists makes that batch fail
(the primary key of ``chain_head``), never a fork.

The canonical JSON of a record is built here directly from plain values (the C encoder of JSON strings, no
dict sorting), several times faster than ``json.dumps`` and byte for byte the same text as
``kinds.record_hash`` (tests/trust/chain/test_bulk.py compares them). A load that opens millions of chains of
one kind uses an :class:`Opener`: the canonical text's frame and field names are laid out once, and each row
only fills in its values (one ``%`` format and two SHA-256 per row).
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


def encode(value: Any) -> str:
    """One value as it stands in the canonical JSON of a record (``kinds.record_hash``)."""
    return _encode(value)


def _literal(text: str) -> str:
    """Text that a ``%`` format leaves as it is."""
    return text.replace("%", "%%")


class Opener:
    """The ``open`` links of new chains of one kind, for rows whose hashed fields are known in advance.

    ``fields`` are the hashed fields the rows carry (the kind's opening fields, and those of its optional fields
    that are set: an optional field left NULL is not hashed); :attr:`order` is the order :meth:`hashes` takes
    their values in, each already encoded with :func:`encode` (or an ``int``, which encodes as itself).
    """

    def __init__(self, kind: ChainKind, fields: tuple[str, ...] | None = None) -> None:
        names = list(kind.open_fields if fields is None else fields)
        missing = set(kind.open_fields) - set(names)
        extra = set(names) - set(kind.open_fields) - set(kind.optional_fields)
        if missing or extra:
            raise ValueError(f"fields of {kind.name}: missing {sorted(missing)}, not hashed {sorted(extra)}")
        self.kind = kind
        self.order: tuple[str, ...] = tuple(sorted(names))
        body = ",".join(f"{_literal(encode_basestring(n))}:%s" for n in self.order)
        self.record = (
            f'{{"event":{encode_basestring(OPEN)},"fields":{{{body}}},"id":%d,'
            f'"table":{_literal(encode_basestring(kind.table.name))}}}'
        )
        self.link = f"{_literal(kind.name)}|%s|%d|{OPEN}|%s|{GENESIS}"

    def hashes(self, record_id: int, key: object, values: tuple[Any, ...]) -> tuple[str, str]:
        """The record hash and the link hash of a row's first link (seq 1 after the genesis)."""
        rec = hashlib.sha256((self.record % (*values, record_id)).encode()).hexdigest()
        return rec, hashlib.sha256((self.link % (key, record_id, rec)).encode()).hexdigest()


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
