"""Tables of notifications: the outbox written with each decision, and recipients' contacts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from emhana.kernel.db import Base, BigId


class Notification(Base):
    """One message to one recipient, written in the transaction of the decision that causes it (outbox).

    A delivery job sends pending rows later; a failure is recorded and retried with backoff, never lost: after
    the last attempt the row is a dead letter (state ``dead``), kept with its last error.
    ``dedupe_key`` makes the write idempotent: the same decision never queues the same message twice.
    """

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recipient_kind: Mapped[str] = mapped_column(String(8))
    recipient_id: Mapped[int] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)

    __table_args__ = (
        Index("ix_notification_outbox_due", "state", "next_attempt_at"),
        Index("ix_notification_outbox_recipient", "recipient_kind", "recipient_id"),
        CheckConstraint("state IN ('pending', 'sent', 'failed', 'dead')", name="state"),
        CheckConstraint("recipient_kind IN ('person', 'entity', 'account')", name="recipient_kind"),
        CheckConstraint("language IN ('kk', 'ru')", name="language"),
    )


class NotificationContact(Base):
    """How a person, an organization or an account wants to be told: language (kk or ru) and e-mail, when known.

    An account (an employer's login without a person) has no e-mail of its own in emhana.accounts: its
    address is the one recorded here under recipient kind ``account``."""

    __tablename__ = "notification_contact"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recipient_kind: Mapped[str] = mapped_column(String(8))
    recipient_id: Mapped[int] = mapped_column(BigId)
    language: Mapped[str | None] = mapped_column(String(2))
    email: Mapped[str | None] = mapped_column(String(254))

    __table_args__ = (
        UniqueConstraint("recipient_kind", "recipient_id", name="uq_notification_contact_recipient"),
        CheckConstraint("language IN ('kk', 'ru')", name="language"),
    )
