"""Tables of the seal service: the scheme CA and the facilities' document signers (keys encrypted at rest),
the register of issued seals with their revocation status, and the published signed lists (docs/credentials.md §6)."""

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


class SchemeAuthority(Base):
    """The seal scheme's CA (the CSCA of §6.1): issues the DSCs and signs the lists. One is active at a time."""

    __tablename__ = "trust_scheme_ca"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kid: Mapped[str] = mapped_column(String(16), unique=True)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    key_wrap: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="active")
    # 1 while active, NULL after: the unique constraint allows one active CA even under concurrent creation.
    active_slot: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("status IN ('active', 'retired')", name="status"),)


class DocumentSigner(Base):
    """A facility's document-signer key and certificate (DSC, ES256, §6.1), rotated by issuing a new one.

    ``active`` signs new seals; ``retired`` signs none but stays in the trust list until it expires so that
    the seals it made still verify; ``revoked`` is published as revoked (its seals become UNKNOWN_ISSUER).
    """

    __tablename__ = "trust_dsc"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(BigId, ForeignKey("entity.id"), index=True)
    scheme_ca_id: Mapped[int] = mapped_column(BigId, ForeignKey("trust_scheme_ca.id"))
    bin: Mapped[str] = mapped_column(String(12))
    number: Mapped[int] = mapped_column(Integer)
    kid: Mapped[str] = mapped_column(String(16), index=True)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    key_wrap: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="active")
    # The entity id while active, NULL after: one active DSC per entity, even under concurrent rotation.
    active_entity_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    not_before: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("entity_id", "number", name="uq_trust_dsc_entity_number"),
        CheckConstraint("status IN ('active', 'retired', 'revoked')", name="status"),
    )


class IssuedSeal(Base):
    """One issued seal version, by hashes only (§6.5): its status decides whether the revocation list names it."""

    __tablename__ = "trust_seal"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dsc_id: Mapped[int] = mapped_column(BigId, ForeignKey("trust_dsc.id"), index=True)
    kid: Mapped[str] = mapped_column(String(16))
    cti_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    signature_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    record_type: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="valid")
    status_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status_by: Mapped[int | None] = mapped_column(BigId)
    superseded_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("trust_seal.id"))

    __table_args__ = (
        UniqueConstraint("kid", "cti_hash", name="uq_trust_seal_kid_cti"),
        Index("ix_trust_seal_listed", "status", "expires_at"),
        Index("ix_trust_seal_reference", "record_type", "reference"),
        CheckConstraint("status IN ('valid', 'revoked', 'superseded', 'issued-in-error', 'suspended')", name="status"),
    )


class PublishedList(Base):
    """The signed trust list or revocation list as last published, with its sequence number and content digest."""

    __tablename__ = "trust_published_list"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)

    __table_args__ = (CheckConstraint("name IN ('trust', 'revocation')", name="name"),)
