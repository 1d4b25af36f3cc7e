"""Delivering the outbox: send due messages through their channels, record every outcome, retry with backoff.

At-least-once: a row is marked sent only after its channel accepted it, in the caller's transaction.
If that transaction is lost after a send, the message goes again with the same Message-ID; a row
once sent is never sent again. Failures keep the row (state failed, attempts, last error) and set
the next attempt later and later; nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.kernel.config import Settings
from emhana.notify import templates
from emhana.notify.channels import Channel, LogChannel, Message, SmtpChannel, message_id
from emhana.notify.models import Notification
from emhana.notify.outbox import ChannelHint, DeliveryState

BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=6)
MAX_ERROR = 500


def backoff(attempts: int) -> dt.timedelta:
    """Return the wait after a number of failed attempts: 1, 2, 4, ... minutes, at most 6 hours."""
    factor: int = 2 ** min(max(attempts - 1, 0), 20)
    return min(BACKOFF_FIRST * factor, BACKOFF_MAX)


def channels_from(
    settings: Settings, *, smtp_host: str | None = None, smtp_port: int | None = None
) -> dict[str, Channel]:
    """Return the configured channels: the log always, e-mail when an SMTP host is set."""
    channels: dict[str, Channel] = {ChannelHint.LOG.value: LogChannel()}
    host = smtp_host or settings.smtp_host
    if host:
        channels[ChannelHint.EMAIL.value] = SmtpChannel(host, smtp_port or settings.smtp_port, settings.smtp_from)
    return channels


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery run did."""

    sent: int
    failed: int
    skipped: int


def _message(session: Session, row: Notification, signer: object | None, now: dt.datetime) -> Message:
    """Render a row in its language by its registered template, with what the template encloses when a signer
    is given (the attachment notice of a decision, A-54); without a signer nothing is enclosed."""
    params = json.loads(row.params)
    subject, body = templates.render(row.template, row.language, params)
    enclosures = (
        templates.enclosures(session, row.template, params, signer=signer, now=now) if signer is not None else ()
    )
    return Message(
        notification_id=row.id,
        recipient_kind=row.recipient_kind,
        recipient_id=row.recipient_id,
        address=row.address,
        language=row.language,
        template=row.template,
        subject=subject,
        body=body,
        message_id=message_id(row.dedupe_key),
        enclosures=enclosures,
    )


def due(session: Session, *, now: dt.datetime, limit: int) -> list[Notification]:
    """Return the rows due for an attempt, oldest first, locked (skipping rows another worker holds)."""
    return list(
        session.scalars(
            select(Notification)
            .where(
                Notification.state.in_([DeliveryState.PENDING.value, DeliveryState.FAILED.value]),
                Notification.next_attempt_at <= now,
            )
            .order_by(Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def deliver_pending(
    session: Session,
    *,
    channels: Mapping[str, Channel],
    now: dt.datetime,
    limit: int = 100,
    signer: object | None = None,
) -> DeliveryReport:
    """Send the due messages through their channels and record each outcome; the caller commits.

    ``signer`` signs the documents that messages enclose (for the attachment notice, an
    emhana.attachment.notice.signer.NotificationSigner); without one, messages go without enclosures."""
    sent = failed = skipped = 0
    for row in due(session, now=now, limit=limit):
        channel = channels.get(row.channel)
        if channel is None:  # not configured here: the row waits for a deliverer that has it
            skipped += 1
            continue
        row.attempts += 1
        try:
            channel.send(_message(session, row, signer, now))
        # Any failure of a channel (network, relay refusal, rendering) is recorded on the row, never raised.
        except Exception as exc:
            row.state = DeliveryState.FAILED.value
            row.last_error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            row.next_attempt_at = now + backoff(row.attempts)
            failed += 1
        else:
            row.state, row.sent_at, row.last_error = DeliveryState.SENT.value, now, None
            sent += 1
        session.flush()
    return DeliveryReport(sent=sent, failed=failed, skipped=skipped)


def list_outbox(session: Session, *, state: str | None = None, limit: int = 100) -> list[Notification]:
    """Return outbox rows, newest first, optionally of one state."""
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Notification.state == state)
    return list(session.scalars(query))


def counts(session: Session) -> dict[str, int]:
    """Return the number of outbox rows per state."""
    rows = session.execute(select(Notification.state, func.count()).group_by(Notification.state))
    return {str(s): int(n) for s, n in rows}
