"""The table of attachment notices: the notification or reasoned refusal of each decided application (A-54, A-100)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emhana.kernel.db import Base, BigId


class AttachmentNotice(Base):
    """The attachment notification or reasoned refusal of one application as an e-document (A-54, A-100).

    Issued once and never rewritten: ``content`` holds the canonical facts (no full IIN), ``pdf`` the
    document, ``signature`` the detached signature over the PDF bytes (JSON, see emhana.attachment.notice.signer).
    """

    __tablename__ = "attachment_notice"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("attachment_application.id"), unique=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(2))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    content: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)
    signature_status: Mapped[str] = mapped_column(String(12))
    # The organization's QR seal printed on the PDF (printed again on the signed copy: attachment.notice.issue).
    seal: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("kind IN ('attachment', 'refusal')", name="kind"),
        CheckConstraint("language IN ('kk', 'ru')", name="language"),
    )
