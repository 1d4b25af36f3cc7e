"""Which messages of a person's account each reader has seen (issue 16: read and unread in the inbox). One row per
account and message, written when the inbox shows the message; a mother and a father who both represent a child
each have their own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from emhana.kernel.db import Base, BigId


class NotificationSeen(Base):
    """A message of the outbox seen by an account in its inbox."""

    __tablename__ = "notification_seen"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification_outbox.id"))
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("account_id", "notification_id", name="uq_notification_seen_account"),)
