"""The writers of attachment rows as Core statements, and the hot path's batch of audit events.

``open_attachment`` and ``close_attachment`` are the only places where an attachment row is inserted
or gets its end (A-01, A-06, A-96: history is added, never rewritten); anything that must follow each
change of a person's history (a hash chain, say) belongs there. Audit events are gathered in an
``Events`` batch, written with one statement by the audit package's writer (``emhana.audit.service``) and
handed to the audit hash chain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from emhana.accounts.service import Actor
from emhana.attachment.enums import Cause, EndReason, PlaceBasis
from emhana.attachment.facts import ATTACHMENT
from emhana.attachment.models import Attachment
from emhana.audit.service import Events as AuditEvents
from emhana.audit.service import send_events
from emhana.kernel import clock
from emhana.kernel.errors import AlreadyAttached
from emhana.kernel.fastsql import Fast
from emhana.trust.chain import links as chain


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
    id: int | None = None  # the row's id when the caller has taken it from the table's sequence already


OPEN = Fast(insert(ATTACHMENT).returning(ATTACHMENT.c.id))
CLOSE = Fast(
    update(ATTACHMENT)
    .where(ATTACHMENT.c.id == bindparam("b_id"), ATTACHMENT.c.person_id == bindparam("b_person"))
    .values(end_date=bindparam("b_end"), end_reason=bindparam("b_reason"))
)


def open_attachment(session: Session, actor: Actor | None, new: NewAttachment) -> int:
    """Insert a person's new attachment row and return its id (A-01: the database's partial unique index
    refuses a second open one, which becomes AlreadyAttached).

    With ``new.id`` given, the INSERT joins the connection's open pipeline, if any (``fastsql.pipeline``): the
    caller then turns an IntegrityError of the attachment table at the pipeline's end into AlreadyAttached
    (``already_attached``)."""
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
        "created_at": clock.now(),
    }
    try:
        if new.id is not None:
            new_id = row["id"] = new.id
            OPEN.later(session.connection(), row)
        else:
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
    CLOSE.later(
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


def already_attached(exc: IntegrityError) -> bool:
    """Tell whether a database error is the refusal of a second open attachment of a person (A-01): a unique
    violation on the attachment table."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(exc.orig, "sqlstate", None) == "23505" and getattr(diag, "table_name", None) == ATTACHMENT.name


class Events(AuditEvents):
    """The audit events of an attachment transaction: written by the audit package's one writer with one
    statement (in the connection's open pipeline, if any), then handed as written to the audit hash chain
    (linked at commit, no read-back)."""

    def write(self, session: Session) -> list[dict[str, Any]]:
        rows, self.rows = self.rows, []
        if not rows:
            return []
        written = send_events(session.connection(), rows)
        written.then(lambda done: chain.note_new(session, "audit", [r["id"] for r in done], rows=done))
        return written.rows if written.done else []
