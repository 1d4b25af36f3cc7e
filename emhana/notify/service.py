"""Delivering the outbox: send due messages through their channels, record every outcome, retry with backoff.

At-least-once: a row is marked sent only after its channel accepted it, in the caller's transaction.
If that transaction is lost after a send, the message goes again with the same Message-ID; a row
once sent is never sent again. Failures keep the row (state failed, attempts, last error) and set
the next attempt later and later; after ``outbox.MAX_ATTEMPTS`` failures the row is a dead letter (state
dead, kept with its last error, shown to the Fund), never dropped.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from emhana.kernel.config import Settings
from emhana.notify import templates
from emhana.notify.channels import Channel, LogChannel, Message, SmtpChannel, message_id
from emhana.notify.models import Notification
from emhana.notify.outbox import ChannelHint, DeliveryState, after_failure
from emhana.notify.outbox import backoff as backoff  # the retry policy lives in outbox.py

MAX_ERROR = 500


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


def _due_where(now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Notification.state.in_([DeliveryState.PENDING.value, DeliveryState.FAILED.value]),
        Notification.next_attempt_at <= now,
    )


def due(
    session: Session, *, now: dt.datetime, limit: int, channels: Collection[str] | None = None
) -> list[Notification]:
    """Return the rows due for an attempt, oldest first, locked (skipping rows another worker holds); with
    ``channels``, only the rows for those channels (the others wait for a deliverer that has theirs, and do not
    hold up the rest of the queue)."""
    query = select(Notification).where(*_due_where(now))
    if channels is not None:
        query = query.where(Notification.channel.in_(list(channels)))
    return list(session.scalars(query.order_by(Notification.id).limit(limit).with_for_update(skip_locked=True)))


def waiting_for_channel(session: Session, *, now: dt.datetime, channels: Collection[str]) -> int:
    """Count the due rows whose channel is not among the given ones."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(*_due_where(now), Notification.channel.not_in(list(channels)))
        )
        or 0
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
    sent = failed = 0
    skipped = waiting_for_channel(session, now=now, channels=channels)  # they wait for a deliverer that has it
    for row in due(session, now=now, limit=limit, channels=channels):
        channel = channels[row.channel]
        row.attempts += 1
        try:
            channel.send(_message(session, row, signer, now))
        # Any failure of a channel (network, relay refusal, rendering) is recorded on the row, never raised.
        except Exception as exc:
            state, row.next_attempt_at = after_failure(row.attempts, now)  # a dead letter after MAX_ATTEMPTS
            row.state = state.value
            row.last_error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
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
