"""The storage side of the hash chains: reading rows and links, locking and moving heads, inserting links.

Used by the writer (``links.py``); kept apart so each module stays small.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from emhana.audit.models import ChainHead, ChainLink
from emhana.kernel.fastsql import Fast, Later, pipelined, sql_later
from emhana.trust.chain.kinds import END, GENESIS, OPEN, UPDATE, ChainKind, is_open, record_hash, table_of

CHUNK = 500
INSERT_LINK = Fast(table_of(ChainLink).insert())


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


def _has_columns(conn: Connection, kind: ChainKind) -> bool:
    """Whether the database's table has every field the kind hashes (not yet, in an older migration)."""
    present = {c["name"] for c in inspect(conn).get_columns(kind.table.name)}
    return set(kind.names) <= present


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


def _lock_heads_later(conn: Connection, keys: Sequence[tuple[str, str]]) -> Later[tuple[Any, ...]]:
    """``_lock_heads``, sent in the connection's open pipeline if there is one (``emhana.kernel.fastsql.pipeline``):
    its rows are (kind, key, seq, hash)."""
    return _head_statements(conn)[0].many_later(
        conn,
        [{"kind": k, "chain_key": c, "seq": 0, "head_hash": GENESIS} for k, c in keys],
        returning=True,
        ordered=False,
    )


def _latest_links(conn: Connection, kind: ChainKind, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Return, per record id already linked, the event and record hash of its latest link (of an end link
    for kinds with ends: their open link is never superseded)."""
    links = table_of(ChainLink)
    out: dict[int, tuple[str, str]] = {}
    for part in _chunks(ids):
        for r in conn.execute(
            select(links.c.record_id, links.c.event, links.c.record_hash)
            .where(links.c.kind == kind.name, links.c.record_id.in_(part))
            .order_by(links.c.seq)
        ):
            rid = int(r.record_id)
            if r.event == OPEN and kind.end_fields:
                out.setdefault(rid, (OPEN, r.record_hash))
            else:
                out[rid] = (r.event, r.record_hash)
    return out


def _events_wanted(
    kind: ChainKind, r: Mapping[str, Any], fresh: bool, latest: tuple[str, str] | None
) -> list[tuple[str, str]]:
    """Return the (event, record hash) links a row needs: an open link if it has none, then an end link
    when its end changed, or an update link when a mutable row no longer hashes to its latest link."""
    if fresh or latest is None:
        out = [(OPEN, record_hash(kind, r, OPEN))]
        if kind.end_fields and not is_open(kind, r):
            out.append((END, record_hash(kind, r, END)))
        return out
    event_, last = latest
    if kind.mutable:
        return [] if record_hash(kind, r, event_) == last else [(UPDATE, record_hash(kind, r, UPDATE))]
    if kind.end_fields:
        end_hash = record_hash(kind, r, END)
        last_end = None if event_ == OPEN else last
        if (last_end is None and not is_open(kind, r)) or (last_end is not None and last_end != end_hash):
            return [(END, end_hash)]
    return []


def _move_heads(conn: Connection, moved: Sequence[tuple[str, str, int, str]]) -> None:
    """Write the new seq and hash of the (already locked) heads."""
    _head_statements(conn)[1].many_later(
        conn, [{"kind": k, "chain_key": c, "seq": s, "head_hash": h} for k, c, s, h in moved]
    )


_LINK_COLUMNS = ("kind", "chain_key", "seq", "record_id", "event", "record_hash", "prev_hash", "link_hash", "linked_at")
_LINK_TYPES = ("varchar", "varchar", "bigint", "bigint", "varchar", "varchar", "varchar", "varchar", "timestamptz")
# On PostgreSQL: the links and their heads' new (seq, hash) in one statement, each column one array parameter, so the
# statement's text is the same for any number of links (prepared once per connection). The heads are locked already
# (``_lock_heads``); the upsert keeps them right even if one was not.
LINK_AND_MOVE = (
    "WITH moved AS (INSERT INTO {head} (kind, chain_key, seq, head_hash) "
    "SELECT * FROM unnest(%(h_kind)s::varchar[], %(h_key)s::varchar[], %(h_seq)s::bigint[], %(h_hash)s::varchar[]) "
    "ON CONFLICT (kind, chain_key) DO UPDATE SET seq = excluded.seq, head_hash = excluded.head_hash) "
    "INSERT INTO {link} ({columns}) SELECT * FROM unnest({arrays})".format(
        head=table_of(ChainHead).name,
        link=table_of(ChainLink).name,
        columns=", ".join(_LINK_COLUMNS),
        arrays=", ".join(f"%({c})s::{t}[]" for c, t in zip(_LINK_COLUMNS, _LINK_TYPES, strict=True)),
    )
)


def write_links(
    conn: Connection, links: Sequence[Mapping[str, Any]], moved: Sequence[tuple[str, str, int, str]]
) -> None:
    """Insert the links and move their chains' (locked) heads to (seq, hash): in the connection's open pipeline if any
    (``emhana.kernel.fastsql.pipeline``), one statement on PostgreSQL."""
    if not pipelined(conn):
        INSERT_LINK.many_later(conn, links)
        _move_heads(conn, moved)
        return
    params: dict[str, Any] = {c: _array([link[c] for link in links]) for c in _LINK_COLUMNS}
    params["h_kind"], params["h_key"], params["h_seq"], params["h_hash"] = (
        _array(list(x)) for x in zip(*moved, strict=True)
    )
    sql_later(conn, LINK_AND_MOVE, params)


def _array(values: Sequence[Any]) -> str:
    """Return PostgreSQL's text form of a one-dimensional array of values of one kind (str, int or datetime), each
    quoted: the statement casts it to its type. Cheaper for the client than psycopg's adapter of Python lists."""
    first = values[0]
    texts: Sequence[str]
    if isinstance(first, dt.datetime):  # a naive one is read in the session's time zone, as psycopg's would be
        texts = [v.isoformat() for v in values]
    elif isinstance(first, str):
        texts = values
    elif isinstance(first, int) and not isinstance(first, bool):
        return "{" + ",".join(str(int(v)) for v in values) + "}"
    else:
        raise TypeError(f"no array form for {type(first).__name__}")
    joined = '","'.join(texts)
    if "\\" in joined or joined.count('"') != 2 * (len(texts) - 1):  # a value with a quote or a backslash
        joined = '","'.join(t.replace("\\", "\\\\").replace('"', '\\"') for t in texts)
    return '{"' + joined + '"}'
