"""A person's notifications in her account (A-100: the eGov personal account): the messages the outbox holds for
her and for the people she legally represents today, newest first, each rendered in the language she reads the
page in by the renderer its process registered (notify.templates). A message the reader's account has not seen
before is marked new, and seen from then on (notify.seen)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.identity.service import represented_ids
from emhana.notify.models import Notification
from emhana.notify.outbox import RecipientKind
from emhana.notify.seen import NotificationSeen
from emhana.notify.templates import UnknownTemplate, render

INBOX_LIMIT = 200


@dataclass(frozen=True)
class Message:
    """One message in a person's account."""

    id: int
    person_id: int  # whom it is for: the reader or a person she represents
    at: dt.datetime
    subject: str
    body: str
    by_email: bool  # also sent to her e-mail address
    delivered: bool
    new: bool  # not seen by this account before this reading


def inbox(
    *, session: Session, actor: Actor, language: str, day: dt.date, now: dt.datetime, limit: int = INBOX_LIMIT
) -> list[Message]:
    """Return the messages for the actor's person and the persons she represents on ``day``, newest first, and
    mark them seen by the actor's account (those not seen before come back as new).

    An account linked to no person has none. A message whose template no process registers is left out
    (it cannot be shown in words)."""
    if actor.person_id is None:
        return []
    ids = {actor.person_id, *represented_ids(session=session, representative_id=actor.person_id, day=day)}
    rows = session.scalars(
        select(Notification)
        .where(Notification.recipient_kind == RecipientKind.PERSON.value, Notification.recipient_id.in_(ids))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    ).all()
    seen = set(
        session.scalars(
            select(NotificationSeen.notification_id).where(
                NotificationSeen.account_id == actor.account_id,
                NotificationSeen.notification_id.in_([r.id for r in rows]),
            )
        )
    )
    out = []
    for row in rows:
        try:
            subject, body = render(row.template, language, json.loads(row.params or "{}"))
        except (UnknownTemplate, KeyError, ValueError):
            continue
        at = row.created_at if row.created_at.tzinfo is not None else row.created_at.replace(tzinfo=dt.UTC)
        out.append(
            Message(
                id=row.id,
                person_id=row.recipient_id,
                at=at,
                subject=subject,
                body=body,
                by_email=row.channel == "email",
                delivered=row.state == "sent",
                new=row.id not in seen,
            )
        )
    fresh = [{"account_id": actor.account_id, "notification_id": m.id, "seen_at": now} for m in out if m.new]
    if fresh:
        session.execute(insert(NotificationSeen), fresh)
    return out
