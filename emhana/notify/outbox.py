"""Writing to the outbox: a notification row joins the transaction of the decision that causes it.

If the decision rolls back, so does its message; if it commits, the message is there to be delivered
(the transactional outbox pattern). Nothing here talks to the network.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from emhana.kernel.fastsql import insert_ignoring
from emhana.notify.models import Notification, NotificationContact

OUTBOX = cast(Table, Notification.__table__)
DEFAULT_LANGUAGE = "ru"
NOTICE_LANGUAGES = ("kk", "ru")


class RecipientKind(StrEnum):
    """Who a message is for: a person, a healthcare entity, or an account (an employer's login without a person;
    accounts carry no e-mail, so its address is the one recorded in notification_contact for the account)."""

    PERSON = "person"
    ENTITY = "entity"
    ACCOUNT = "account"


class DeliveryState(StrEnum):
    """Where a message stands: waiting for its first attempt, sent, failed and waiting for its next attempt, or
    dead (a dead letter: it failed ``MAX_ATTEMPTS`` times, is kept with its last error and tried no more)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


# Retries: the waits after failed attempts double from BACKOFF_FIRST up to BACKOFF_MAX; after MAX_ATTEMPTS failed
# attempts the message is a dead letter (about 38 hours of retries: 1, 2, 4, ... 256 minutes, then 6 hours).
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=6)
MAX_ATTEMPTS = 15


def backoff(attempts: int) -> dt.timedelta:
    """Return the wait after a number of failed attempts: 1, 2, 4, ... minutes, at most 6 hours."""
    factor: int = 2 ** min(max(attempts - 1, 0), 20)
    return min(BACKOFF_FIRST * factor, BACKOFF_MAX)


def after_failure(attempts: int, now: dt.datetime) -> tuple[DeliveryState, dt.datetime]:
    """Return the state and the next attempt's time of a message that has just failed its ``attempts``-th attempt:
    failed and retried after its backoff, or dead once it has failed ``MAX_ATTEMPTS`` times."""
    if attempts >= MAX_ATTEMPTS:
        return DeliveryState.DEAD, now
    return DeliveryState.FAILED, now + backoff(attempts)


class ChannelHint(StrEnum):
    """Where a message should go: e-mail when the recipient gave an address; otherwise the log, which stands
    in for the eGov personal account (A-100) until that gateway exists."""

    EMAIL = "email"
    LOG = "log"


def mask_iin(iin: str) -> str:
    """Return an IIN with all but its last 4 digits hidden (notices and messages never carry it in full)."""
    return "•" * max(len(iin) - 4, 0) + iin[-4:]


class Unknown:
    """The type of UNKNOWN: a contact not read yet (None means read, and there is none)."""


UNKNOWN = Unknown()


def contact_of(session: Session, kind: RecipientKind, recipient_id: int) -> NotificationContact | None:
    """Return what a recipient told us about language and e-mail, or None."""
    return session.scalar(
        select(NotificationContact).where(
            NotificationContact.recipient_kind == kind.value, NotificationContact.recipient_id == recipient_id
        )
    )


def language_of(
    session: Session, kind: RecipientKind, recipient_id: int, contact: NotificationContact | None | Unknown = UNKNOWN
) -> str:
    """Return the recipient's language: their choice if known (kk or ru), else Russian."""
    if isinstance(contact, Unknown):
        contact = contact_of(session, kind, recipient_id)
    return contact.language if contact is not None and contact.language in NOTICE_LANGUAGES else DEFAULT_LANGUAGE


def set_contact(
    *, session: Session, kind: RecipientKind, recipient_id: int, language: str | None, email: str | None
) -> NotificationContact:
    """Record a recipient's language and e-mail (the latest choice wins)."""
    if language is not None and language not in NOTICE_LANGUAGES:
        raise ValueError("language must be kk or ru")
    row = contact_of(session, kind, recipient_id)
    if row is None:
        row = NotificationContact(recipient_kind=kind.value, recipient_id=recipient_id)
        session.add(row)
    row.language, row.email = language, email
    session.flush()
    return row


def row_values(
    *,
    kind: RecipientKind,
    recipient_id: int,
    language: str | None,
    email: str | None,
    template: str,
    params: dict[str, Any],
    dedupe_key: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Return the columns of one pending outbox row, from the recipient's recorded language and e-mail (None when
    not recorded): the one shape of a message, for ``enqueue`` and ``enqueue_many``."""
    return {
        "recipient_kind": kind.value,
        "recipient_id": recipient_id,
        "channel": ChannelHint.EMAIL.value if email else ChannelHint.LOG.value,
        "address": email,
        "language": language if language in NOTICE_LANGUAGES else DEFAULT_LANGUAGE,
        "template": template,
        "params": json.dumps(params, ensure_ascii=False, sort_keys=True, default=str),
        "state": DeliveryState.PENDING.value,
        "attempts": 0,
        "last_error": None,
        "created_at": now,
        "next_attempt_at": now,
        "sent_at": None,
        "dedupe_key": dedupe_key,
    }


def enqueue(
    session: Session,
    *,
    kind: RecipientKind,
    recipient_id: int,
    template: str,
    params: dict[str, Any],
    dedupe_key: str,
    now: dt.datetime,
    contact: NotificationContact | None | Unknown = UNKNOWN,
) -> Notification | None:
    """Queue one message in the caller's transaction; return None when the same key is already queued.

    A caller that has already read the recipient's contact passes it, so it is not read twice."""
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)) is not None:
        return None
    if isinstance(contact, Unknown):
        contact = contact_of(session, kind, recipient_id)
    row = Notification(
        **row_values(
            kind=kind,
            recipient_id=recipient_id,
            language=contact.language if contact is not None else None,
            email=contact.email if contact is not None else None,
            template=template,
            params=params,
            dedupe_key=dedupe_key,
            now=now,
        )
    )
    session.add(row)
    return row


def enqueue_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue messages given as ``row_values`` in the caller's transaction with one statement (the hot path's
    writer, ``INSERT … ON CONFLICT (dedupe_key) DO NOTHING``): a message whose key is already queued is skipped."""
    if rows:
        conn = session.connection()
        # Sent in the connection's open pipeline, if any (emhana.kernel.fastsql.pipeline), with the decision's writes.
        insert_ignoring(conn, OUTBOX, ["dedupe_key"]).many_later(conn, rows)
