"""Hash chains over append-only history: tamper evidence for journals, attachment histories and the audit log.

Three kinds of chain, each made of links in the ``chain_link`` table, one chain per key:

* ``medbook``    — the journal of one medical book (key: ``medbook_entry.book_id``; C-13, C-41 append-only);
  one ``open`` link per entry.
  ``signature_state`` is left out of the hash: it changes when the entry is signed, and the signature itself
  is evidence of its own.
* ``attachment`` — the attachment history of one person (key: ``attachment.person_id``). An attachment row is
  written once and later UPDATEd when it ends (A-96), and an end may move earlier (a superseded future
  attachment). So each row gets an ``open`` link over its opening fields, which never change, and every
  change of its end (``end_date``, ``end_reason``) appends an ``end`` link over those two fields. A row is
  intact when its opening fields match its ``open`` link and its current end matches its latest ``end``
  link (or it has none and is still open).
* ``audit``      — the audit log (key: ``audit_event.subject_person_id``, or ``-`` for events about no person).
  Keying by person rather than one global chain keeps writers of different people from waiting on each
  other; each person's chain is also exactly the access log that person can see.

A link holds ``record_hash`` = SHA-256 of the canonical JSON of the record's fields as read back from the
database (so SQLite and PostgreSQL types round-trip to the same text), ``prev_hash`` = the ``link_hash`` of
the link before it (64 zeros for the first), and ``link_hash`` = SHA-256 over kind, key, record id, event,
record hash and prev hash. ``seq`` numbers the links 1..n; it is not hashed: order is carried by
``prev_hash``, so swapped positions show up as ``reordered``.

Links are appended in the same transaction as the rows, so a crash leaves either both or neither. The
``chain_head`` row of a chain holds its last seq and hash; a writer locks it (``INSERT .. ON CONFLICT DO
UPDATE .. RETURNING``, heads in sorted order so writers never deadlock) before reading or appending, and
the unique (kind, chain_key, seq) constraint refuses any fork that slipped past the lock.

Rows written through the ORM are linked automatically: ``after_flush`` notes new journal entries,
attachments and audit events and changed attachment ends, and ``before_commit`` links them all at once
(short lock hold). Code writing with SQLAlchemy Core through a session calls :func:`note_new` /
:func:`note_changed` (linked at that session's commit, with the rest); code with only a connection calls
:func:`link_new_rows` / :func:`link_changed_rows` on it before committing; bulk loads (the generator's COPY) call
:func:`seal_unlinked` once at the end.

What a chain cannot show on its own: someone with full write access to the database can rebuild every
chain from scratch, and dropping the last links of a chain together with their head and records leaves a
shorter chain that is still consistent. ``chain_link`` and ``audit_event`` are guarded by triggers
(``emhana/audit/guard.py``) against UPDATE and DELETE; anchoring the heads outside the database closes the
rest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Connection, Table, event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from emhana.audit.models import AuditEvent, ChainHead, ChainLink
from emhana.kernel import clock
from emhana.kernel.fastsql import Fast

GENESIS = "0" * 64
OPEN, END = "open", "end"
NO_SUBJECT = "-"
CHUNK = 500


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

    def key_of(self, row: Mapping[str, Any]) -> str:
        value = row[self.key_column]
        return NO_SUBJECT if value is None else str(value)

    @property
    def columns(self) -> list[Column[Any]]:
        names = ("id", self.key_column, *self.open_fields, *self.optional_fields, *self.end_fields)
        return [self.table.c[n] for n in dict.fromkeys(names)]


def table_of(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


AUDIT = ChainKind(
    "audit",
    table_of(AuditEvent),
    "subject_person_id",
    ("at", "account_id", "action", "subject_person_id", "object_type", "object_id", "purpose"),
)
# The registry of chained tables. The audit log is chained here; the processes above register their own
# histories (attachment/models.py, medbook/models.py), so this layer never imports their tables.
KINDS: dict[str, ChainKind] = {AUDIT.name: AUDIT}
MODELS: dict[type, ChainKind] = {AuditEvent: AUDIT}


def register(kind: ChainKind, model: type) -> ChainKind:
    """Chain the rows of ``model`` as ``kind``: linked at commit, checked by ``audit verify``."""
    known = KINDS.get(kind.name)
    if known is not None and known is not kind:
        raise ValueError(f"chain kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    MODELS[model] = kind
    return kind


INSERT_LINK = Fast(table_of(ChainLink).insert())


def _plain(value: Any) -> Any:
    """One JSON value per stored value, the same whichever database returned it."""
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


def record_hash(kind: ChainKind, row: Mapping[str, Any], event_: str) -> str:
    """SHA-256 of the canonical JSON of one event of one record."""
    fields = kind.open_fields if event_ == OPEN else kind.end_fields
    hashed = {f: _plain(row[f]) for f in fields}
    if event_ == OPEN:
        hashed.update({f: _plain(row[f]) for f in kind.optional_fields if row[f] is not None})
    doc = {"table": kind.table.name, "id": int(row["id"]), "event": event_, "fields": hashed}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def link_hash(*, kind: str, key: str, record_id: int, event_: str, rec_hash: str, prev_hash: str) -> str:
    """SHA-256 binding a record's hash to its chain and to the link before it."""
    text = "|".join((kind, key, str(record_id), event_, rec_hash, prev_hash))
    return hashlib.sha256(text.encode()).hexdigest()


def is_open(kind: ChainKind, row: Mapping[str, Any]) -> bool:
    """Tell whether a row has no end recorded (so needs no end link)."""
    return all(row[f] is None for f in kind.end_fields)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def read_rows(conn: Connection, kind: ChainKind, ids: Iterable[int]) -> list[dict[str, Any]]:
    """Read the hashed fields of rows by id (rows gone, e.g. in a rolled-back savepoint, are skipped)."""
    out: list[dict[str, Any]] = []
    for part in _chunks(sorted(set(ids))):
        out.extend(
            dict(r._mapping)
            for r in conn.execute(select(*kind.columns).where(kind.table.c.id.in_(part)).order_by(kind.table.c.id))
        )
    return out


_HEAD_STATEMENTS: dict[str, tuple[Fast, Fast]] = {}


def _head_statements(conn: Connection) -> tuple[Fast, Fast]:
    """Return (lock, move) for the heads, built once per dialect."""
    name = conn.dialect.name
    found = _HEAD_STATEMENTS.get(name)
    if found is None:
        table = table_of(ChainHead)
        dialect = postgresql if name == "postgresql" else sqlite
        # The no-op update (seq = its stored value) takes the row lock of an existing head; rows are given in
        # sorted order and locked in that order (one multi-row statement, or an executemany for many).
        lock = dialect.insert(table).on_conflict_do_update(
            index_elements=["kind", "chain_key"], set_={"seq": table.c.seq}
        )
        lock = lock.returning(table.c.kind, table.c.chain_key, table.c.seq, table.c.head_hash)
        move = dialect.insert(table)
        move = move.on_conflict_do_update(
            index_elements=["kind", "chain_key"], set_={"seq": move.excluded.seq, "head_hash": move.excluded.head_hash}
        )
        found = _HEAD_STATEMENTS[name] = (Fast(lock), Fast(move))
    return found


def _lock_heads(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    """Create missing heads and lock all of them, in sorted order; return (seq, hash) by (kind, key)."""
    result = _head_statements(conn)[0].many(
        conn,
        [{"kind": k, "chain_key": c, "seq": 0, "head_hash": GENESIS} for k, c in keys],
        returning=True,
        ordered=False,
    )  # each returned row names its head
    return {(kind, key): (int(seq), head) for kind, key, seq, head in result}


def _last_end_hashes(conn: Connection, kind: ChainKind, ids: Sequence[int]) -> dict[int, str | None]:
    """Return, per record id already linked, the record hash of its latest end link (None if it has none)."""
    links = table_of(ChainLink)
    out: dict[int, str | None] = {}
    for part in _chunks(ids):
        for r in conn.execute(
            select(links.c.record_id, links.c.event, links.c.record_hash)
            .where(links.c.kind == kind.name, links.c.record_id.in_(part))
            .order_by(links.c.seq)
        ):
            rid = int(r.record_id)
            if r.event == OPEN:
                out.setdefault(rid, None)
            else:
                out[rid] = r.record_hash
    return out


Known = Mapping[str, Mapping[int, Mapping[str, Any]]]
Linked = Mapping[str, Mapping[int, str | None]]


def _rows_of(
    conn: Connection,
    kind: ChainKind,
    ids: set[int],
    fresh: set[int],
    known: Mapping[int, Mapping[str, Any]],
    linked: Mapping[int, str | None],
) -> list[dict[str, Any]]:
    """Return the hashed fields of rows: those the writer handed over (a new row, or a changed one whose link
    state it also knows), the rest read back from the database."""
    usable = {i: dict(known[i]) for i in ids if i in known and (i in fresh or i in linked)}
    rest = ids - usable.keys()
    out = list(usable.values()) + (read_rows(conn, kind, rest) if rest else [])
    return sorted(out, key=lambda r: int(r["id"]))


def _link(
    conn: Connection,
    new: Mapping[str, Iterable[int]],
    changed: Mapping[str, Iterable[int]],
    now: dt.datetime | None = None,
    known: Known | None = None,
    linked: Linked | None = None,
) -> int:
    """Append the links that rows need: ``new`` rows were inserted in this transaction; ``changed`` rows may
    or may not be linked already. Returns the number of links appended.

    ``known`` holds rows by kind and id exactly as their writer stored them, so they are not read back;
    ``linked`` the record hash of the latest end link (None: only an open link) of changed rows known to be
    linked already, so their links are not looked up."""
    known, linked = known or {}, linked or {}
    rows: dict[str, list[dict[str, Any]]] = {}
    is_new: dict[str, set[int]] = {}
    for name in sorted(set(new) | set(changed)):
        fresh = set(new.get(name, ()))
        ids = fresh | set(changed.get(name, ()))
        if ids:
            rows[name] = _rows_of(conn, KINDS[name], ids, fresh, known.get(name, {}), linked.get(name, {}))
            is_new[name] = fresh
    keys = sorted({(name, KINDS[name].key_of(r)) for name, rs in rows.items() for r in rs})
    if not keys:
        return 0
    heads = _lock_heads(conn, keys)
    wanted: list[tuple[ChainKind, dict[str, Any], str, str]] = []  # kind, row, event, record hash
    for name, rs in rows.items():
        kind = KINDS[name]
        told = linked.get(name, {})
        unsure = [int(r["id"]) for r in rs if int(r["id"]) not in is_new[name] and int(r["id"]) not in told]
        ends = {
            **(_last_end_hashes(conn, kind, unsure) if unsure else {}),
            **{i: h for i, h in told.items() if i not in is_new[name]},
        }
        for r in rs:
            rid = int(r["id"])
            if rid not in ends:
                wanted.append((kind, r, OPEN, record_hash(kind, r, OPEN)))
            if kind.end_fields:
                end_hash = record_hash(kind, r, END)
                last = ends.get(rid)
                if (last is None and not is_open(kind, r)) or (last is not None and last != end_hash):
                    wanted.append((kind, r, END, end_hash))
    if not wanted:
        return 0
    at = now or clock.now()
    links: list[dict[str, Any]] = []
    for kind, r, ev, rec in wanted:
        key = kind.key_of(r)
        seq, prev = heads[(kind.name, key)]
        lh = link_hash(kind=kind.name, key=key, record_id=int(r["id"]), event_=ev, rec_hash=rec, prev_hash=prev)
        links.append(
            {
                "kind": kind.name,
                "chain_key": key,
                "seq": seq + 1,
                "record_id": int(r["id"]),
                "event": ev,
                "record_hash": rec,
                "prev_hash": prev,
                "link_hash": lh,
                "linked_at": at,
            }
        )
        heads[(kind.name, key)] = (seq + 1, lh)
    INSERT_LINK.many(conn, links)
    _move_heads(conn, [(k, c, *heads[(k, c)]) for k, c in sorted({(x["kind"], x["chain_key"]) for x in links})])
    return len(links)


def _move_heads(conn: Connection, moved: Sequence[tuple[str, str, int, str]]) -> None:
    """Write the new seq and hash of the (already locked) heads."""
    _head_statements(conn)[1].many(
        conn, [{"kind": k, "chain_key": c, "seq": s, "head_hash": h} for k, c, s, h in moved]
    )


def link_new_rows(conn: Connection, kind: str, ids: Iterable[int]) -> int:
    """Link rows inserted in the current transaction (Core writers call this before committing)."""
    return _link(conn, {kind: ids}, {})


def link_changed_rows(conn: Connection, kind: str, ids: Iterable[int]) -> int:
    """Link rows updated in the current transaction (e.g. attachments just ended); idempotent."""
    return _link(conn, {}, {kind: ids})


def seal_unlinked(conn: Connection, kind: str | None = None) -> int:
    """Link every row that has no link yet, in id order (after a bulk load); returns links appended."""
    total = 0
    links = table_of(ChainLink)
    for k in [KINDS[kind]] if kind else list(KINDS.values()):
        linked = select(links.c.record_id).where(links.c.kind == k.name)
        ids = [
            int(i) for i in conn.scalars(select(k.table.c.id).where(k.table.c.id.not_in(linked)).order_by(k.table.c.id))
        ]
        for part in _chunks(ids):
            total += _link(conn, {k.name: part}, {})
    return total


# --- automatic linking of ORM writes -------------------------------------------------------------------------

PENDING = "emhana.chain.pending"


@dataclass
class Pending:
    """What a session's commit must link: new and changed ids by kind, and what their writers already know."""

    new: dict[str, set[int]]
    changed: dict[str, set[int]]
    known: dict[str, dict[int, dict[str, Any]]]
    linked: dict[str, dict[int, str | None]]


def _pending(session: Session) -> Pending:
    found: Pending | None = session.info.get(PENDING)
    if found is None:
        found = Pending(defaultdict(set), defaultdict(set), defaultdict(dict), defaultdict(dict))
        session.info[PENDING] = found
    return found


def note_new(session: Session, kind: str, ids: Iterable[int], rows: Iterable[Mapping[str, Any]] = ()) -> None:
    """Have rows that Core code inserted through the session's connection linked when the session commits.

    ``rows``: the inserted rows with every hashed field (``ChainKind.columns``) as the database stores them,
    saving the read-back at commit; ids without a row here are read back."""
    pending = _pending(session)
    pending.new[kind].update(int(i) for i in ids)
    pending.known[kind].update({int(r["id"]): dict(r) for r in rows})


def note_changed(
    session: Session,
    kind: str,
    ids: Iterable[int],
    rows: Iterable[Mapping[str, Any]] = (),
    linked: Mapping[int, str | None] | None = None,
) -> None:
    """Have rows that Core code updated (an attachment's end) linked when the session commits.

    ``rows``: the changed fields (with ``id`` and the chain's key) as stored now, for ids whose links
    ``linked`` states (the record hash of the latest end link, None for none); the rest are read back."""
    pending = _pending(session)
    ids = [int(i) for i in ids]
    pending.changed[kind].update(ids)
    given = {int(r["id"]): r for r in rows}
    for i in ids:
        if i in given:
            pending.known[kind].setdefault(i, {}).update(given[i])
        else:
            pending.known[kind].pop(i, None)  # what changed is not told: read it back
    for i, h in (linked or {}).items():
        if i in given:
            pending.linked[kind][int(i)] = h


@event.listens_for(Session, "after_flush")
def _note_rows(session: Session, _flush: UOWTransaction) -> None:
    pending = _pending(session)
    new, changed = pending.new, pending.changed
    for obj in session.new:
        kind = MODELS.get(type(obj))
        if kind is not None:
            new[kind.name].add(obj.id)
    for obj in session.dirty:
        kind = MODELS.get(type(obj))
        if kind is None or not kind.end_fields:
            continue
        state = inspect(obj)  # the attribute history is still there in after_flush
        if any(state.attrs[f].history.has_changes() for f in kind.end_fields):
            changed[kind.name].add(obj.id)
            pending.known[kind.name].pop(obj.id, None)  # changed through the ORM: read it back


@event.listens_for(Session, "before_commit")
def _link_pending(session: Session) -> None:
    session.flush()  # the flush commit() is about to do, so its rows are noted too
    if not session.info.get(PENDING):
        return
    pending: Pending = session.info.pop(PENDING)
    if pending.new or pending.changed:
        _link(session.connection(), pending.new, pending.changed, known=pending.known, linked=pending.linked)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed (linked) or rolled back
        session.info.pop(PENDING, None)
