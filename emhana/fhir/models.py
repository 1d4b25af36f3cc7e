"""Tables of the FHIR door: the code map (data, editable), received bundles, the idempotency ledger of
ingested resources, and the dead-letter queue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from emhana.kernel.db import Base, BigId


class CodeMap(Base):
    """Maps a code (LOINC, ICD-10, CVX or local) of a resource type to a journal entry kind and item (C-12)."""

    __tablename__ = "fhir_code_map"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    item_code: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    __table_args__ = (UniqueConstraint("system", "code", "resource_type", name="uq_fhir_code_map_key"),)


class InboundBundle(Base):
    """A transaction Bundle as an MIS sent it (the exact bytes), its state and its signature evidence."""

    __tablename__ = "fhir_inbound_bundle"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entity.id"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    resources: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    signed_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    signer: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
        CheckConstraint("state IN ('accepted', 'rejected')", name="state"),
        Index("ix_fhir_inbound_bundle_state", "state", "received_at"),
    )


class InboundResource(Base):
    """One ingested resource version: the idempotency key (source, type, id, version) and its journal entry."""

    __tablename__ = "fhir_inbound_resource"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(100))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    bundle_id: Mapped[int] = mapped_column(ForeignKey("fhir_inbound_bundle.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("medbook_entry.id"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The resource as received (RFC 8785 canonical JSON) and its SHA-256: a resent version with other content
    # is a conflict, and what was ingested can be read back (issue 17). Empty for rows received before 0026.
    content_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    body: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        UniqueConstraint("source", "resource_type", "resource_id", "version", name="uq_fhir_inbound_resource_key"),
    )


class DeadLetter(Base):
    """One failed item of a bundle (or the whole bundle, position NULL), kept with its reason until replayed."""

    __tablename__ = "fhir_dead_letter"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("fhir_inbound_bundle.id"), index=True)
    position: Mapped[int | None] = mapped_column(Integer)
    resource_type: Mapped[str] = mapped_column(String(32), default="")
    resource_id: Mapped[str] = mapped_column(String(64), default="")
    code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    expression: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint("resolution IS NULL OR resolution IN ('replayed', 'discarded')", name="resolution"),
        Index("ix_fhir_dead_letter_open", "resolved_at", "created_at"),
    )
