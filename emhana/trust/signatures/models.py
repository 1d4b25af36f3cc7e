"""The table of record signatures: one verified CMS per record, with the evidence of its verification."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from emhana.kernel.db import Base, BigId


class RecordSignature(Base):
    """A record's accepted signature (C-06, C-40, A-54): the CMS, the signer and the evidence, append-only.

    ``record_kind``/``record_id`` name the record (``medbook_entry`` or ``attachment_notice``);
    ``canonical_sha256`` is the hash of the exact bytes signed (``emhana.trust.signatures.canonical``);
    ``evidence`` holds the chain subjects, the CRLs used (issuer, number, update times) and the outcome.
    """

    __tablename__ = "record_signature"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(BigId)
    canonical_sha256: Mapped[str] = mapped_column(String(64))
    cms: Mapped[bytes] = mapped_column(LargeBinary)
    signer_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    signer_iin: Mapped[str | None] = mapped_column(String(12))
    signer_bin: Mapped[str | None] = mapped_column(String(12))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    verifier: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    attached_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    __table_args__ = (
        UniqueConstraint("record_kind", "record_id", name="uq_record_signature_record"),
        CheckConstraint(
            "record_kind IN ('medbook_entry', 'attachment_notice', 'attachment_application')", name="record_kind"
        ),
    )
