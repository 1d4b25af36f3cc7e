"""The writers of attachment rows, audit events and outbox rows, as Core statements.

``open_attachment`` and ``close_attachment`` are the only places where an attachment row is inserted
or gets its end (A-01, A-06, A-96: history is added, never rewritten); anything that must follow each
change of a person's history (a hash chain, say) belongs there. Audit events are gathered in an
``Events`` batch and written with one statement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from emhana.accounts.service import Actor
from emhana.attachment.enums import Cause, EndReason, PlaceBasis
from emhana.attachment.facts import ATTACHMENT
from emhana.attachment.models import Attachment
from emhana.audit.models import AuditEvent
from emhana.kernel.errors import AlreadyAttached
from emhana.kernel.fastsql import Fast
from emhana.trust.chain import links as chain

AUDIT = cast(Table, AuditEvent.__table__)


@dataclass(frozen=True)
class NewAttachment:
    """The row of an attachment to open."""

    person_id: int
    entity_id: int
    site_id: int
    district_id: int
    doctor_id: int | None
    basis: PlaceBasis
    cause: Cause
    begin: dt.date
    decided_on: dt.date
    insured_until: dt.date | None = None
    application_id: int | None = None
    care_at_home: bool | None = None  # home visits agreed outside the service zone (None inside it)


OPEN = Fast(insert(ATTACHMENT).returning(ATTACHMENT.c.id))
CLOSE = Fast(
    update(ATTACHMENT)
    .where(ATTACHMENT.c.id == bindparam("b_id"), ATTACHMENT.c.person_id == bindparam("b_person"))
    .values(end_date=bindparam("b_end"), end_reason=bindparam("b_reason"))
)
AUDIT_INSERT = Fast(insert(AUDIT).returning(AUDIT.c.id, sort_by_parameter_order=True))


def open_attachment(session: Session, actor: Actor | None, new: NewAttachment) -> int:
    """Insert a person's new attachment row and return its id (A-01: the database's partial unique index
    refuses a second open one, which becomes AlreadyAttached)."""
    row: dict[str, Any] = {
        "person_id": new.person_id,
        "entity_id": new.entity_id,
        "site_id": new.site_id,
        "district_id": new.district_id,
        "doctor_id": new.doctor_id,
        "place_basis": new.basis.value,
        "cause": new.cause.value,
        "begin_date": new.begin,
        "end_date": None,
        "end_reason": None,
        "insured_until": new.insured_until,
        "care_at_home": new.care_at_home,
        "application_id": new.application_id,
        "decided_on": new.decided_on,
        "created_by": actor.account_id if actor else None,
        "created_at": dt.datetime.now(dt.UTC),
    }
    try:
        new_id = int(OPEN.rows(session.connection(), row)[0][0])
    except IntegrityError as exc:
        raise AlreadyAttached() from exc
    # The person's history chain (tamper evidence), hashed from the row as written: no read-back.
    chain.note_new(session, "attachment", [new_id], rows=[{**row, "id": new_id}])
    return new_id


def close_attachment(
    session: Session,
    *,
    attachment_id: int,
    person_id: int,
    last_day: dt.date,
    reason: EndReason,
    linked: tuple[bool, str | None] = (False, None),
) -> None:
    """Give an attachment row its end date and reason (set once; A-96). A loaded ORM copy is updated too.

    ``linked``: whether the row is in its chain already, with the record hash of its latest end link, as
    read with the person's history (facts.periods); an unlinked row is read back at commit."""
    CLOSE.rows(
        session.connection(),
        {"b_id": attachment_id, "b_person": person_id, "b_end": last_day, "b_reason": reason.value},
    )
    chain.note_changed(
        session,
        "attachment",
        [attachment_id],
        rows=[{"id": attachment_id, "person_id": person_id, "end_date": last_day, "end_reason": reason.value}],
        linked={attachment_id: linked[1]} if linked[0] else None,
    )
    loaded = session.identity_map.get(session.identity_key(Attachment, attachment_id))
    if isinstance(loaded, Attachment):
        set_committed_value(loaded, "end_date", last_day)
        set_committed_value(loaded, "end_reason", reason.value)


@dataclass
class Events:
    """Audit events of one transaction, written together (who, whose, what, when, why)."""

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
        who = actor or self.actor
        moment = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)  # stored as UTC on both databases
        self.rows.append(
            {
                "at": moment,
                "account_id": who.account_id if who else None,
                "action": action,
                "subject_person_id": subject_person_id,
                "object_type": object_type,
                "object_id": str(object_id),
                "purpose": purpose,
            }
        )

    def write(self, session: Session) -> None:
        if self.rows:
            ids = [r[0] for r in AUDIT_INSERT.many(session.connection(), self.rows, returning=True)]
            chain.note_new(
                session, "audit", ids, rows=[{**r, "id": int(i)} for r, i in zip(self.rows, ids, strict=True)]
            )
            self.rows = []


_IGNORING: dict[tuple[str, str, tuple[str, ...]], Fast] = {}


def insert_ignoring(session: Session, table: Table, conflict: list[str]) -> Fast:
    """Return an INSERT that skips rows whose conflict columns are already taken (PostgreSQL and SQLite);
    built once per dialect and table."""
    dialect = session.connection().dialect.name
    key = (dialect, table.name, tuple(conflict))
    stmt = _IGNORING.get(key)
    if stmt is None:
        module = postgresql if dialect == "postgresql" else sqlite
        stmt = _IGNORING[key] = Fast(module.insert(table).on_conflict_do_nothing(index_elements=conflict))
    return stmt
