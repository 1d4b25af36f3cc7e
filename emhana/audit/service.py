"""The one writer of audit events, in the same transaction as the change or read they describe.

Two forms: ``record_event`` adds one event to the ORM session (linked into the audit hash chain at commit by
the chain's flush listener); ``Events`` gathers the events of a hot path and ``write_events`` inserts them
with one Core statement, returning the rows as written for the caller to hand to the chain
(``emhana.trust.chain.links.note_new``), which sits above this layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Connection, Table, insert
from sqlalchemy.orm import Session

from emhana.accounts.admin import AccountChange
from emhana.accounts.admin import on_change as on_account_change
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.kernel import clock
from emhana.kernel.fastsql import Fast, Later, pipelined

AUDIT = cast(Table, AuditEvent.__table__)
INSERT_EVENTS = Fast(insert(AUDIT).returning(AUDIT.c.id, sort_by_parameter_order=True))
EVENT_FIELDS = ("at", "account_id", "action", "subject_person_id", "object_type", "object_id", "purpose")  # event_row
_EVENT_KEY = itemgetter(*EVENT_FIELDS)  # an event row's fields as a tuple, in EVENT_FIELDS' order
INSERT_EVENTS_ANY_ORDER = Fast(insert(AUDIT).returning(AUDIT.c.id, *(AUDIT.c[k] for k in EVENT_FIELDS)))


def record_event(
    *,
    session: Session,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: str,
    subject_person_id: int | None = None,
    purpose: str = "",
    now: dt.datetime | None = None,
) -> None:
    """Append an audit event (who, whose, what, when, why)."""
    session.add(
        AuditEvent(
            at=now or clock.now(),
            account_id=actor.account_id if actor else None,
            action=action,
            subject_person_id=subject_person_id,
            object_type=object_type,
            object_id=object_id,
            purpose=purpose,
        )
    )


def event_row(
    *,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: object,
    subject_person_id: int | None = None,
    purpose: str = "",
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Return one audit row for ``write_events`` (who, whose, what, when, why); the moment is stored as UTC
    on both databases."""
    return {
        "at": (at or clock.now()).astimezone(dt.UTC),
        "account_id": actor.account_id if actor else None,
        "action": action,
        "subject_person_id": subject_person_id,
        "object_type": object_type,
        "object_id": str(object_id),
        "purpose": purpose,
    }


def write_events(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Insert audit rows with one statement on the session's connection and return them as written, each
    with its id (the fields the audit hash chain hashes, so the chain needs no read-back); none: no statement."""
    return insert_events(session.connection(), rows)


def insert_events(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``write_events`` on a connection in its transaction (the access log's group writer,
    ``emhana.trust.chain.readlog``)."""
    if not rows:
        return []
    ids = [r[0] for r in INSERT_EVENTS.many(conn, list(rows), returning=True)]
    return [{**r, "id": int(i)} for r, i in zip(rows, ids, strict=True)]


def send_events(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> Later[dict[str, Any]]:
    """``insert_events``, sent in the connection's open pipeline if there is one (``emhana.kernel.fastsql.pipeline``,
    read at its end); the result's rows are the rows as written, each with its id, in the order given."""
    given = [dict(r) for r in rows]
    out: Later[dict[str, Any]] = Later()
    if not pipelined(conn) or any(tuple(r) != EVENT_FIELDS for r in given):
        INSERT_EVENTS.many_later(conn, given, returning=True).then(
            lambda ids: out.resolve([{**r, "id": int(i[0])} for r, i in zip(given, ids, strict=True)])
        )
    else:  # one multi-row INSERT, its returned rows matched to the given ones by their fields
        INSERT_EVENTS_ANY_ORDER.many_later(conn, given, returning=True, ordered=False).then(
            lambda written: out.resolve(_match(given, written))
        )
    return out


def _match(given: Sequence[dict[str, Any]], written: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Give each row its id from the rows an INSERT returned as (id, *EVENT_FIELDS), in any order. Rows alike in
    every field may take each other's id: the same rows with the same ids result (and so the same chain links)."""
    ids: dict[tuple[Any, ...], list[int]] = {}
    for w in written:
        ids.setdefault(tuple(w[1:]), []).append(int(w[0]))
    for found in ids.values():
        found.reverse()
    try:
        return [{**r, "id": ids[_EVENT_KEY(r)].pop()} for r in given]
    except (KeyError, IndexError) as exc:  # the database stored something else than what was given
        raise RuntimeError("audit events written differ from those given") from exc


@dataclass
class Events:
    """Audit events of one transaction, written together with one statement by ``write``."""

    actor: Actor | None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        action: str,
        object_type: str,
        object_id: object,
        subject_person_id: int | None = None,
        purpose: str = "",
        actor: Actor | None = None,
        at: dt.datetime | None = None,
    ) -> None:
        """Gather one event, by ``actor`` or else the batch's actor."""
        self.rows.append(
            event_row(
                actor=actor or self.actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                subject_person_id=subject_person_id,
                purpose=purpose,
                at=at,
            )
        )

    def write(self, session: Session) -> list[dict[str, Any]]:
        """Write the gathered events (``write_events``), empty the batch and return the rows as written."""
        written = write_events(session, self.rows)
        self.rows = []
        return written


def _record_account_change(session: Session, change: AccountChange) -> None:
    """Audit every change of an account's role, organization, state or password: ``emhana.accounts.admin``
    writes accounts through one writer that calls this in the same transaction (and refuses to write without)."""
    record_event(
        session=session,
        actor=change.actor,
        action=change.action,
        object_type="account",
        object_id=str(change.account_id),
        purpose=change.detail,
    )


on_account_change(_record_account_change)
