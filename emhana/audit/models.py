"""Tables of the audit log, of idempotency keys, of the hash chains and of their signed checkpoints."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from emhana.kernel.db import Base, BigId


class AuditEvent(Base):
    """One read or change of personal data: who, whose, what, when and why."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(200), default="")


class IdempotencyRecord(Base):
    """The stored answer to a write request, replayed when the same key comes again."""

    __tablename__ = "idempotency_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),)


class ChainLink(Base):
    """One link of a hash chain (see emhana/trust/chain/links.py): append-only, guarded by triggers."""

    __tablename__ = "chain_link"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    chain_key: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(BigInteger)
    record_id: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(8))
    record_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    link_hash: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("kind", "chain_key", "seq", name="uq_chain_link_position"),
        Index("ix_chain_link_record", "kind", "record_id"),
        # Ids never reused, on SQLite too (migration 0016): a checkpoint pins the links up to an id.
        {"sqlite_autoincrement": True},
    )


class ChainHead(Base):
    """The last link of each chain; its row is locked while a transaction appends to the chain."""

    __tablename__ = "chain_head"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    chain_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))


class ChainCheckpoint(Base):
    """A signed checkpoint of every chain head (emhana/trust/chain/checkpoint.py): append-only, guarded by
    triggers; a copy kept outside the database is what `audit verify --checkpoint` trusts."""

    __tablename__ = "chain_checkpoint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    boundary: Mapped[int] = mapped_column(BigInteger)
    kid: Mapped[str] = mapped_column(String(16))
    document: Mapped[str] = mapped_column(Text)
