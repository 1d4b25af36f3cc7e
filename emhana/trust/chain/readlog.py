"""The access log's group writer: a batch of read events inserted and linked into the audit chains of their
persons (``emhana.audit.readlog`` runs it, docs/access-log.md).

On PostgreSQL a batch is **one statement**, sent in one round trip and committed on its own (the log's connections
are in autocommit there): it draws the events' ids from their sequence, inserts the events, locks the heads of the
persons' chains in sorted order (``SELECT .. ORDER BY chain_key FOR UPDATE``, the order every writer of links
locks them in), appends one link per event after each head and moves the heads. The record hash of each event is
SHA-256 of the canonical JSON ``record_hash`` hashes (``emhana.trust.chain.kinds``): Python writes that text around
the id, which the database fills in, and the database hashes it and the links (``sha256``), so a batch costs no
read-back and no second round trip. ``emhana audit verify`` recomputes every hash in Python from the rows stored
(tests/trust/chain/test_readlog_statement.py pins that both agree, whatever the text holds).

A person's chain that has no head yet is created by the statement's last upsert; two batches (or a batch and a
request) that write the first links of the same chain at once both start it at seq 1: the unique (kind, chain_key,
seq) refuses the later statement when the earlier commits. It wrote nothing (one statement, one transaction), so it
is run again and then finds that head: no chain forked, nothing written twice, no read failed for it.

Elsewhere (SQLite) the batch is written as before, in the caller's transaction: one multi-row INSERT of the events
and their links computed from the rows as inserted (no read-back), heads locked in sorted order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from emhana.audit import readlog, readlog_async
from emhana.audit.service import EVENT_FIELDS, insert_events
from emhana.kernel import clock
from emhana.trust.chain.kinds import AUDIT, GENESIS, NO_SUBJECT, OPEN, _plain
from emhana.trust.chain.links import _link

# The audit kind hashes its opening fields only, all of them always (what the statement below relies on).
assert not AUDIT.end_fields and not AUDIT.optional_fields and not AUDIT.mutable
assert tuple(AUDIT.open_fields) == EVENT_FIELDS and AUDIT.key_column == "subject_person_id"

_MARK = 0  # the id written in the text, then cut out of it (``_around_id``)
_AT_ID = f'"id":{_MARK},"table":'  # cannot occur inside a JSON string, whose quotes are escaped

# One statement: the events with ids drawn here (so each row keeps its record text), their record hashes, the
# heads locked in sorted order (code-point order, as Python sorts the keys every other writer locks), the links
# chained per person in id order (a recursive walk from each head), the links inserted and the heads moved.
WRITE = f"""
WITH RECURSIVE seq AS (SELECT pg_get_serial_sequence('audit_event', 'id')::regclass AS s),
given AS MATERIALIZED (
    SELECT nextval(seq.s) AS id, g.*
    FROM seq, unnest(
        %(at)b::timestamptz[], %(account_id)b::text[]::bigint[], %(action)b::text[],
        %(subject_person_id)b::text[]::bigint[], %(object_type)b::text[], %(object_id)b::text[], %(purpose)b::text[],
        %(before_id)b::text[], %(after_id)b::text[]
    ) AS g(at, account_id, action, subject_person_id, object_type, object_id, purpose, before_id, after_id)
),
events AS (
    INSERT INTO audit_event (id, at, account_id, action, subject_person_id, object_type, object_id, purpose)
    SELECT id, at, account_id, action, subject_person_id, object_type, object_id, purpose FROM given
),
keyed AS MATERIALIZED (
    SELECT id, coalesce(subject_person_id::text, '{NO_SUBJECT}') AS chain_key,
           encode(sha256(convert_to(before_id || id::text || after_id, 'UTF8')), 'hex') AS rec,
           row_number() OVER (PARTITION BY subject_person_id ORDER BY id) AS rn
    FROM given
),
heads AS MATERIALIZED (
    SELECT h.chain_key::text AS chain_key, h.seq, h.head_hash::text AS head_hash
    FROM chain_head AS h
    WHERE h.kind = '{AUDIT.name}' AND h.chain_key = ANY(%(keys)b::text[])
    ORDER BY h.chain_key COLLATE "C"
    FOR UPDATE OF h
),
chain(chain_key, rn, seq, id, rec, prev, hash) AS (
    SELECT k.chain_key, 0::bigint, coalesce(h.seq, 0)::bigint, NULL::bigint, NULL::text, NULL::text,
           coalesce(h.head_hash, '{GENESIS}')
    FROM (SELECT DISTINCT chain_key FROM keyed) AS k LEFT JOIN heads AS h ON h.chain_key = k.chain_key
    UNION ALL
    SELECT c.chain_key, c.rn + 1, c.seq + 1, k.id, k.rec, c.hash,
           encode(sha256(convert_to(
               concat_ws('|', '{AUDIT.name}', c.chain_key, k.id::text, '{OPEN}', k.rec, c.hash), 'UTF8'
           )), 'hex')
    FROM chain AS c JOIN keyed AS k ON k.chain_key = c.chain_key AND k.rn = c.rn + 1
),
links AS (
    INSERT INTO chain_link (kind, chain_key, seq, record_id, event, record_hash, prev_hash, link_hash, linked_at)
    SELECT '{AUDIT.name}', chain_key, seq, id, '{OPEN}', rec, prev, hash, %(linked_at)b::timestamptz
    FROM chain WHERE rn > 0 ORDER BY id
)
INSERT INTO chain_head (kind, chain_key, seq, head_hash)
SELECT DISTINCT ON (chain_key) '{AUDIT.name}', chain_key, seq, hash FROM chain WHERE rn > 0 ORDER BY chain_key, rn DESC
ON CONFLICT (kind, chain_key) DO UPDATE SET seq = excluded.seq, head_hash = excluded.head_hash
"""


RETRIES = 3
STARTED_AT_ONCE = frozenset({"uq_chain_link_position", "pk_chain_head"})
IDLE = 0  # psycopg.pq.TransactionStatus.IDLE: no transaction open on the connection (autocommit, between statements)


def _around_id(row: Mapping[str, Any]) -> tuple[str, str]:
    """Return the text ``record_hash`` hashes for an event of the audit chain, cut where its id goes: the
    database joins them around the id it draws (the same text exactly, id written in decimal)."""
    fields = {f: _plain(row[f]) for f in AUDIT.open_fields}
    doc = {"table": AUDIT.table.name, "id": _MARK, "event": OPEN, "fields": fields}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    before, found, after = text.rpartition(_AT_ID)
    if not found:
        raise RuntimeError("the audit chain's record text changed: see emhana/trust/chain/readlog.py")
    return before + '"id":', "," + '"table":' + after


def statement_params(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return the parameters of ``WRITE`` for the rows (``emhana.audit.service.event_row``), one array per column."""
    columns: dict[str, list[Any]] = {f: [] for f in (*EVENT_FIELDS, "before_id", "after_id")}
    at, account, action, subject, otype, oid, purpose, before, after = columns.values()
    for r in rows:
        at.append(r["at"])
        account.append(None if r["account_id"] is None else str(r["account_id"]))
        action.append(r["action"])
        subject.append(None if r["subject_person_id"] is None else str(r["subject_person_id"]))
        otype.append(r["object_type"])
        oid.append(r["object_id"])
        purpose.append(r["purpose"])
        b, a = _around_id(r)
        before.append(b)
        after.append(a)
    keys = sorted({NO_SUBJECT if s is None else s for s in subject})
    return {**columns, "keys": keys, "linked_at": clock.now()}


def write_linked(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert read events and append their chain links: on PostgreSQL with one statement (a transaction of its
    own on an autocommit connection, else part of the connection's), elsewhere in the connection's transaction."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        params = statement_params(rows)
        driver: Any = conn.connection.driver_connection
        for attempt in range(1, RETRIES + 1):
            alone = driver.autocommit and driver.info.transaction_status == IDLE  # the statement is the transaction
            try:
                conn.exec_driver_sql(WRITE, params)
                return
            except IntegrityError as exc:
                # A chain started at once by another writer (see the module's docstring): the statement was the
                # whole transaction and wrote nothing, so it runs again and finds that chain's head committed.
                started = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) in STARTED_AT_ONCE
                if not (alone and started and attempt < RETRIES):
                    raise
    written = insert_events(conn, rows)
    _link(conn, {AUDIT.name: [r["id"] for r in written]}, {}, known={AUDIT.name: {r["id"]: r for r in written}})


async def write_async(conn: psycopg.AsyncConnection[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    """``write_linked`` on an autocommit async connection (``emhana.audit.readlog_async``): one statement, the
    batch's whole transaction, run again when a chain it starts was started at once by another writer."""
    if not rows:
        return
    params = statement_params(rows)
    for attempt in range(1, RETRIES + 1):
        try:
            await conn.execute(WRITE, params)
            return
        except psycopg.IntegrityError as exc:
            if not (exc.diag.constraint_name in STARTED_AT_ONCE and attempt < RETRIES):
                raise


def register() -> None:
    """Have the access log write its batches with ``write_linked`` (and ``write_async`` on the event loop); done on
    import; tests that replace the writer call it to put it back."""
    readlog.set_writer(write_linked, one_statement=True)
    readlog_async.set_writer(write_async)


register()
