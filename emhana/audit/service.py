"""Write audit events in the same transaction as the change or read they describe."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent


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
            at=now or dt.datetime.now(dt.UTC),
            account_id=actor.account_id if actor else None,
            action=action,
            subject_person_id=subject_person_id,
            object_type=object_type,
            object_id=object_id,
            purpose=purpose,
        )
    )
