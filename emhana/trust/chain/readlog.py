"""The access log's group writer: a batch of read events inserted with one statement and linked into the
audit chains of their persons, in the caller's transaction (``emhana.audit.readlog`` commits it).

The links are computed from the rows as inserted (no read-back); the heads of the persons in the batch are
locked in sorted order, like every other writer of links, so a batch and a request writing the same person's
chain take turns and never deadlock on them (docs/access-log.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from emhana.audit import readlog
from emhana.audit.service import insert_events
from emhana.trust.chain.kinds import AUDIT
from emhana.trust.chain.links import _link


def write_linked(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert read events and append their chain links in the connection's transaction."""
    written = insert_events(conn, rows)
    _link(conn, {AUDIT.name: [r["id"] for r in written]}, {}, known={AUDIT.name: {r["id"]: r for r in written}})


readlog.set_writer(write_linked)
