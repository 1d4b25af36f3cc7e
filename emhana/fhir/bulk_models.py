"""Tables of FHIR Bulk Data ``$export`` (docs/bulk-export.md): one row per export asked for, and its NDJSON files.

The files are kept in the database (one row per file, at most ``emhana.fhir.bulk.FILE_SIZE`` resources each), so
an export needs no folder of its own and is backed up, purged and protected with the rest; they expire a day after
the export is done (``emhana.fhir.bulk.KEEP``) and the export job deletes them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
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

STATES = ("queued", "running", "done", "failed", "cancelled")


class BulkExport(Base):
    """An export asked for by one account: the level (``system`` or ``group``), the group (an organization's
    population), the resource types, ``_since``, the purpose of the read, the request as sent, its state and
    progress, the transaction time (the instant the run began), the error of a failed run and when its files
    expire."""

    __tablename__ = "fhir_bulk_export"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entity.id"))  # the account's organization, if any
    level: Mapped[str] = mapped_column(String(8))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("entity.id"))
    types: Mapped[str] = mapped_column(String(200))
    since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    purpose: Mapped[str] = mapped_column(String(200), default="")
    request: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    transaction_time: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    progress: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_fhir_bulk_export_state", "state", "requested_at"),
        CheckConstraint("level IN ('system', 'group')", name="level"),
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed', 'cancelled')", name="state"),
    )


class BulkExportFile(Base):
    """One NDJSON file of an export: its resource type, its number among the files of that type, how many
    resources it holds and its bytes."""

    __tablename__ = "fhir_bulk_export_file"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("fhir_bulk_export.id"), index=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (UniqueConstraint("export_id", "resource_type", "seq", name="uq_fhir_bulk_export_file_seq"),)
