"""The kinds of hash chain, their registry, and the two hashes every link is made of.

A kind names a table, the column whose value keys one chain, and the fields its links hash:

* append-only rows (the audit log, a book's journal) get one ``open`` link over their fields;
* rows whose end is set later (attachments, A-96) get an ``open`` link over the opening fields and an ``end``
  link at every change of ``end_fields``;
* ``mutable`` rows (a person's identity, a medical book's owner, employer and group, an application and its
  decision, a legal representation, an account's role, organization and state) get an ``open`` link when they
  are written and an ``update`` link, over all their fields, at every change the application writes. A row
  is intact when its current fields hash to its latest link. Their key column never changes (the row's own id,
  or the person an application or representation is about), so a changed owner shows as ``changed``.

``record_hash`` = SHA-256 of the canonical JSON ``{"event", "fields", "id", "table"}`` of the fields as read
back from the database (so SQLite and PostgreSQL types round-trip to the same text); ``link_hash`` = SHA-256
over kind, key, record id, event, record hash and the previous link's hash. Both are pinned per kind by
tests/trust/chain/test_kinds.py, so a field left out of a hash fails a test.

The tables of the layers below trust (accounts, audit, identity) are registered here, with the field lists their
own packages keep (``accounts/chained.py``, ``identity/chained.py``); the processes above register their own
(``attachment/models.py``, ``medbook/models.py``), so this layer never imports their tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Table

from emhana.accounts.chained import ACCOUNT_FIELDS, ACCOUNT_OPTIONAL_FIELDS
from emhana.accounts.models import Account
from emhana.audit.models import AuditEvent
from emhana.identity.chained import (
    PERSON_FIELDS,
    PERSON_OPTIONAL_FIELDS,
    REPRESENTATION_FIELDS,
    REPRESENTATION_OPTIONAL_FIELDS,
)
from emhana.identity.models import LegalRepresentation, Person

GENESIS = "0" * 64
OPEN, END, UPDATE = "open", "end", "update"
NO_SUBJECT = "-"


@dataclass(frozen=True)
class ChainKind:
    """A kind of chain: which table, which column is its key, which fields each event hashes."""

    name: str
    table: Table
    key_column: str
    open_fields: tuple[str, ...]
    end_fields: tuple[str, ...] = ()
    # Opening fields added to a table after its rows were first linked: hashed only when not NULL, so the
    # rows written before the column existed (NULL) keep the record hash they were linked with.
    optional_fields: tuple[str, ...] = ()
    # Every change of a hashed field appends an ``update`` link over all of them (see the module docstring).
    mutable: bool = False

    def key_of(self, row: Mapping[str, Any]) -> str:
        value = row[self.key_column]
        return NO_SUBJECT if value is None else str(value)

    @property
    def tracked(self) -> tuple[str, ...]:
        """The fields whose change must append a link."""
        if self.mutable:
            return (*self.open_fields, *self.optional_fields)
        return self.end_fields

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(("id", self.key_column, *self.open_fields, *self.optional_fields, *self.end_fields)))

    @property
    def columns(self) -> list[Column[Any]]:
        return [self.table.c[n] for n in self.names]


def table_of(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _plain(value: Any) -> Any:
    """One JSON value per stored value, the same whichever database returned it."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool:
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal | float):
        return str(value)
    return value


def canonical_json(kind: ChainKind, row: Mapping[str, Any], event_: str) -> str:
    """The canonical JSON that ``record_hash`` hashes: ``json.dumps`` of ``{"event", "fields", "id", "table"}`` with
    sorted keys, no spaces and no ASCII escaping (the reference form, kept for the tests that pin ``record_hash``)."""
    fields = kind.end_fields if event_ == END else kind.open_fields
    hashed = {f: _plain(row[f]) for f in fields}
    if event_ != END:
        hashed.update({f: _plain(row[f]) for f in kind.optional_fields if row.get(f) is not None})
    doc = {"table": kind.table.name, "id": int(row["id"]), "event": event_, "fields": hashed}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_string = json.encoder.encode_basestring  # json.dumps' own quoting of a str with ensure_ascii=False (C where built)


def _json(value: Any) -> str:
    """One value as ``json.dumps`` writes it in ``canonical_json``: the common types directly, any other by it."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Per kind and event: the hashed fields in the order json.dumps sorts them, each with its quoted name and whether it
# is optional (left out when None), and the document's text around the fields.
_Layout = tuple["ChainKind", tuple[tuple[str, str, bool], ...], str, str]
_LAYOUTS: dict[tuple[int, str], _Layout] = {}


def _layout(kind: ChainKind, event_: str) -> _Layout:
    found = _LAYOUTS.get((id(kind), event_))
    if found is not None and found[0] is kind:
        return found
    if event_ == END:
        named = dict.fromkeys(kind.end_fields, False)
    else:
        named = {**dict.fromkeys(kind.optional_fields, True), **dict.fromkeys(kind.open_fields, False)}
    fields = tuple((name, _string(name) + ":", named[name]) for name in sorted(named))
    head = '{"event":' + _string(event_) + ',"fields":{'
    tail = '"table":' + _string(kind.table.name) + "}"
    found = _LAYOUTS[(id(kind), event_)] = (kind, fields, head, tail)
    return found


def record_hash(kind: ChainKind, row: Mapping[str, Any], event_: str) -> str:
    """SHA-256 of the canonical JSON of one event of one record (``canonical_json``, written here without building
    the document: the same text, pinned by tests/trust/chain/test_kinds.py)."""
    _, fields, head, tail = _layout(kind, event_)
    parts = []
    for name, quoted, optional in fields:
        value = row.get(name) if optional else row[name]
        if optional and value is None:
            continue
        parts.append(quoted + _json(_plain(value)))
    text = head + ",".join(parts) + '},"id":' + int.__repr__(int(row["id"])) + "," + tail
    return hashlib.sha256(text.encode()).hexdigest()


def link_hash(*, kind: str, key: str, record_id: int, event_: str, rec_hash: str, prev_hash: str) -> str:
    """SHA-256 binding a record's hash to its chain and to the link before it."""
    text = "|".join((kind, key, str(record_id), event_, rec_hash, prev_hash))
    return hashlib.sha256(text.encode()).hexdigest()


def is_open(kind: ChainKind, row: Mapping[str, Any]) -> bool:
    """Tell whether a row has no end recorded (so needs no end link)."""
    return all(row[f] is None for f in kind.end_fields)


AUDIT = ChainKind(
    "audit",
    table_of(AuditEvent),
    "subject_person_id",
    ("at", "account_id", "action", "subject_person_id", "object_type", "object_id", "purpose"),
)
# A person's identity (identity/chained.py): IIN, names, birth date, sex, category, death.
PERSON = ChainKind(
    "person", table_of(Person), "id", PERSON_FIELDS, optional_fields=PERSON_OPTIONAL_FIELDS, mutable=True
)
# Who represents whom, on what basis, for which period, chained per represented person.
REPRESENTATION = ChainKind(
    "representation",
    table_of(LegalRepresentation),
    "represented_id",
    REPRESENTATION_FIELDS,
    optional_fields=REPRESENTATION_OPTIONAL_FIELDS,
    mutable=True,
)
# An account's name, role, organization, person and state (accounts/chained.py).
ACCOUNT = ChainKind(
    "account", table_of(Account), "id", ACCOUNT_FIELDS, optional_fields=ACCOUNT_OPTIONAL_FIELDS, mutable=True
)

# The registry of chained tables; the processes above register their own histories.
KINDS: dict[str, ChainKind] = {}
MODELS: dict[type, ChainKind] = {}


def register(kind: ChainKind, model: type) -> ChainKind:
    """Chain the rows of ``model`` as ``kind``: linked at commit, checked by ``audit verify``."""
    known = KINDS.get(kind.name)
    if known is not None and known is not kind:
        raise ValueError(f"chain kind {kind.name!r} is registered twice")
    if len(kind.name) > 16:
        raise ValueError(f"chain kind {kind.name!r} is longer than chain_link.kind (16)")
    KINDS[kind.name] = kind
    MODELS[model] = kind
    return kind


register(AUDIT, AuditEvent)
register(PERSON, Person)
register(REPRESENTATION, LegalRepresentation)
register(ACCOUNT, Account)
