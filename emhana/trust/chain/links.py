"""Hash chains over history and over the rows that say who owns what: the writer of their links.

Each kind of chain (``emhana.trust.chain.kinds``) is made of links in the ``chain_link`` table, one chain per key:

* ``medbook``    — the journal of one medical book (key: ``medbook_entry.book_id``; C-13, C-41 append-only);
  one ``open`` link per entry. ``signature_state`` is left out of the hash: it changes when the entry is
  signed, and the signature itself is evidence of its own.
* ``attachment`` — the attachment history of one person (key: ``attachment.person_id``). An attachment row is
  written once and later UPDATEd when it ends (A-96), and an end may move earlier (a superseded future
  attachment). So each row gets an ``open`` link over its opening fields, which never change, and every
  change of its end (``end_date``, ``end_reason``) appends an ``end`` link over those two fields.
* ``audit``      — the audit log (key: ``audit_event.subject_person_id``, or ``-`` for events about no person).
  Keying by person rather than one global chain keeps writers of different people from waiting on each
  other; each person's chain is also exactly the access log that person can see.
* ``person``, ``book``, ``application``, ``representation``, ``account`` — rows that change (identity fields,
  a book's owner, employer and group, an application's decision, a representation, an account's role,
  organization and state): an ``open`` link when written, an ``update`` link over all their fields at every
  change, so a change made in SQL, behind the application, is named.

A link holds ``record_hash`` (see kinds.py), ``prev_hash`` = the ``link_hash`` of the link before it (64 zeros
for the first), and ``link_hash``. ``seq`` numbers the links 1..n; it is not hashed: order is carried by
``prev_hash``, so swapped positions show up as ``reordered``.

Links are appended in the same transaction as the rows, so a crash leaves either both or neither. The
``chain_head`` row of a chain holds its last seq and hash; a writer locks it (``INSERT .. ON CONFLICT DO
UPDATE .. RETURNING``, heads in sorted order so writers never deadlock) before reading or appending, and
the unique (kind, chain_key, seq) constraint refuses any fork that slipped past the lock.

Rows written through the ORM are linked automatically: ``after_flush`` notes new rows of every chained table
and changed ends or fields, and ``before_commit`` links them all at once (short lock hold). Code writing with
SQLAlchemy Core through a session calls :func:`note_new` / :func:`note_changed` (linked at that session's
commit, with the rest); code with only a connection calls :func:`link_new_rows` / :func:`link_changed_rows` on
it before committing; bulk loads write the first links of their new chains in the same load
(``emhana.trust.chain.bulk``, used by the generator). :func:`seal_unlinked` links rows that have none (rows
written before a table was chained, by a migration; ``emhana audit seal``).

What a chain cannot show on its own: someone with full write access to the database can drop the last links
of a chain together with their head and records, leaving a shorter chain that is still consistent. Signed
checkpoints of every head, kept outside the database, close that (``emhana.trust.chain.checkpoint``).
``chain_link``, ``audit_event`` and ``chain_checkpoint`` are guarded by triggers (``emhana/audit/guard.py``)
against UPDATE and DELETE.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from emhana.audit.models import ChainLink
from emhana.kernel import clock
from emhana.kernel.errors import RecordTampered
from emhana.kernel.fastsql import pipeline
from emhana.trust.chain.kinds import (
    AUDIT,
    END,
    GENESIS,
    KINDS,
    MODELS,
    NO_SUBJECT,
    OPEN,
    UPDATE,
    ChainKind,
    _plain,
    is_open,
    link_hash,
    record_hash,
    register,
    table_of,
)
from emhana.trust.chain.store import (
    _chunks,
    _events_wanted,
    _has_columns,
    _latest_links,
    _lock_heads,
    _lock_heads_later,
    read_rows,
    write_links,
)

__all__ = [
    "AUDIT",
    "END",
    "GENESIS",
    "KINDS",
    "MODELS",
    "NO_SUBJECT",
    "TamperedRow",
    "_plain",
    "OPEN",
    "UPDATE",
    "ChainKind",
    "is_open",
    "link_hash",
    "link_changed_rows",
    "link_new_rows",
    "lock_heads",
    "note_changed",
    "note_new",
    "read_rows",
    "record_hash",
    "register",
    "seal_unlinked",
    "table_of",
]


Known = Mapping[str, Mapping[int, Mapping[str, Any]]]
Linked = Mapping[str, Mapping[int, str | None]]


class TamperedRow(RecordTampered):
    """The application changed a chained row that had been changed behind its back: its fields before the
    change no longer hash to its latest link. Linking the change would hide the earlier one, so the whole
    transaction is refused; `emhana audit verify` names the row."""

    def __init__(self, table: str, record_id: int) -> None:
        super().__init__()  # the user's message names no table or id; the log and `audit verify` do
        self.table, self.record_id = table, record_id

    def __str__(self) -> str:
        return f"{self.table} id={self.record_id} was changed outside the application; see `emhana audit verify`"


def _rows_of(
    conn: Connection,
    kind: ChainKind,
    ids: set[int],
    fresh: set[int],
    known: Mapping[int, Mapping[str, Any]],
    linked: Mapping[int, str | None],
) -> list[dict[str, Any]]:
    """Return the hashed fields of rows: those the writer handed over (a new row, or a changed one whose link
    state it also knows) when they carry every hashed field, the rest read back from the database."""
    whole, ends = kind.names, ("id", kind.key_column, *kind.end_fields)
    usable = {
        i: dict(known[i])
        for i in ids
        if i in known
        and (i in fresh or i in linked)
        and all(n in known[i] for n in (whole if i in fresh or kind.mutable else ends))
    }
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
    before: Mapping[str, Mapping[int, Mapping[str, Any] | None]] | None = None,
    locked: Mapping[tuple[str, str], tuple[int, str]] | None = None,
) -> int:
    """Append the links that rows need: ``new`` rows were inserted in this transaction; ``changed`` rows may
    or may not be linked already. Returns the number of links appended.

    ``known`` holds rows by kind and id exactly as their writer stored them, so they are not read back;
    ``linked`` the record hash of the latest end link (None: only an open link) of changed rows known to be
    linked already, so their links are not looked up; ``before`` the old values of the fields the application
    changed in mutable rows: such a row must have hashed to its latest link before (else TamperedRow);
    ``locked`` the (seq, hash) of heads this transaction has locked already (``lock_heads``), not locked again."""
    known, linked, before = known or {}, linked or {}, before or {}
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
    locked = locked or {}
    heads = {k: locked[k] for k in keys if k in locked}
    missing = [k for k in keys if k not in locked]
    if missing:
        heads.update(_lock_heads(conn, missing))
    wanted: list[tuple[ChainKind, dict[str, Any], str, str]] = []  # kind, row, event, record hash
    for name, rs in rows.items():
        kind = KINDS[name]
        fresh = is_new[name]
        told = {i: ((OPEN, "") if h is None else (END, h)) for i, h in linked.get(name, {}).items() if i not in fresh}
        unsure = [int(r["id"]) for r in rs if int(r["id"]) not in fresh and int(r["id"]) not in told]
        latest = {**(_latest_links(conn, kind, unsure) if unsure else {}), **told}
        for r in rs:
            rid = int(r["id"])
            was = before.get(name, {}).get(rid)
            last = latest.get(rid)
            if kind.mutable and was is not None and last is not None and rid not in fresh:
                if record_hash(kind, {**r, **was}, last[0]) != last[1]:
                    raise TamperedRow(kind.table.name, rid)
            for ev, rec in _events_wanted(kind, r, rid in fresh, last):
                wanted.append((kind, r, ev, rec))
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
    with pipeline(conn):  # one round trip on PostgreSQL
        write_links(
            conn, links, [(k, c, *heads[(k, c)]) for k, c in sorted({(x["kind"], x["chain_key"]) for x in links})]
        )
    return len(links)


def link_new_rows(conn: Connection, kind: str, ids: Iterable[int]) -> int:
    """Link rows inserted in the current transaction (Core writers call this before committing)."""
    return _link(conn, {kind: ids}, {})


def link_changed_rows(conn: Connection, kind: str, ids: Iterable[int]) -> int:
    """Link rows updated in the current transaction (e.g. attachments just ended); idempotent."""
    return _link(conn, {}, {kind: ids})


def seal_unlinked(conn: Connection, kind: str | None = None, kinds: Iterable[str] | None = None) -> int:
    """Link every row that has no link yet, in id order; returns links appended.

    For rows written before their table was chained (a migration) or loaded by hand; it never re-links a
    row that has links, so a row changed in SQL stays ``changed``. A kind whose table lacks a hashed column
    (an older migration than the kind) is skipped: the migration that adds the column seals it."""
    total = 0
    links = table_of(ChainLink)
    names = [kind] if kind else list(kinds) if kinds is not None else list(KINDS)
    for k in (KINDS[n] for n in names):
        if not _has_columns(conn, k):
            continue
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
    # The values a mutable row's changed fields had before this transaction (None: not known), to check that
    # the row still hashed to its latest link before the application changed it.
    before: dict[str, dict[int, dict[str, Any] | None]] = field(default_factory=lambda: defaultdict(dict))
    # Heads locked ahead of the commit (``lock_heads``): (seq, hash) by (kind, key), as read under the lock.
    heads: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)


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


def lock_heads(session: Session, keys: Iterable[tuple[str, str]]) -> None:
    """Lock now the heads of chains (kind, key) the session's commit will append to, in sorted order, so that the
    commit does not wait for them in a round trip of its own: sent in the connection's open pipeline, if any
    (``emhana.kernel.fastsql.pipeline``), with the transaction's last writes.

    For a writer that knows every chain its transaction appends to (the campaign's decision): the heads stay locked
    to the commit, which appends to them from the (seq, hash) read here. A head the commit needs that is not among
    them is locked then (after these: a writer that cannot name all its heads should not call this)."""
    pending = _pending(session)
    wanted = sorted(set(keys))
    if not wanted:
        return
    conn = session.connection()
    _lock_heads_later(conn, wanted).then(
        lambda rows: pending.heads.update({(k, c): (int(seq), h) for k, c, seq, h in rows})
    )


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
        if kind is None or not kind.tracked:
            continue
        state = inspect(obj)  # the attribute history is still there in after_flush
        histories = {f: state.attrs[f].history for f in kind.tracked}
        if any(h.has_changes() for h in histories.values()):
            changed[kind.name].add(obj.id)
            pending.known[kind.name].pop(obj.id, None)  # changed through the ORM: read it back
            if kind.mutable and obj.id not in new[kind.name]:
                _note_before(pending, kind, obj.id, histories)


def _note_before(pending: Pending, kind: ChainKind, record_id: int, histories: Mapping[str, Any]) -> None:
    """Keep the first known old value of each changed field of a mutable row (its value before the transaction)."""
    noted = pending.before[kind.name]
    if record_id in noted and noted[record_id] is None:
        return
    before = noted.setdefault(record_id, {})
    assert before is not None
    for name, history in histories.items():
        if history.has_changes():
            if not history.deleted:  # the old value was never loaded: it cannot be checked
                noted[record_id] = None
                return
            before.setdefault(name, history.deleted[0])


@event.listens_for(Session, "before_commit")
def _link_pending(session: Session) -> None:
    session.flush()  # the flush commit() is about to do, so its rows are noted too
    if not session.info.get(PENDING):
        return
    pending: Pending = session.info.pop(PENDING)
    if pending.new or pending.changed:
        _link(
            session.connection(),
            pending.new,
            pending.changed,
            known=pending.known,
            linked=pending.linked,
            before=pending.before,
            locked=pending.heads,
        )


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed (linked) or rolled back
        session.info.pop(PENDING, None)
