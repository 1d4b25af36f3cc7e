"""Tables of persons, their addresses, phones, identity documents and legal representation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, Float, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emhana.audit.models import AuditEvent
from emhana.kernel.db import Base, BigId

# The account's audit events by time: the day's read volume of an account (service.flag_read_volume) is a range of
# this index, whatever the account read before (migration 0040; docs/access-log.md, "Read volume").
Index("ix_audit_event_account_at", AuditEvent.account_id, AuditEvent.at)


class Person(Base):
    """A resident known to the registry, keyed by IIN (A-02, D-01)."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True)
    surname: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(6))
    category: Mapped[str] = mapped_column(String(32))
    death_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    addresses: Mapped[list[PersonAddress]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="PersonAddress.id"
    )
    phones: Mapped[list[PersonPhone]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="PersonPhone.id"
    )
    documents: Mapped[list[IdentityDocument]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="IdentityDocument.id"
    )

    __table_args__ = (CheckConstraint("sex IN ('male', 'female')", name="sex"),)


class PersonAddress(Base):
    """An address of a person with its KATO code, classifier version and coordinates."""

    __tablename__ = "person_address"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    text_kk: Mapped[str | None] = mapped_column(Text)
    text_ru: Mapped[str | None] = mapped_column(Text)
    kato_code: Mapped[str] = mapped_column(String(9), ForeignKey("kato_unit.code"), index=True)
    kato_version: Mapped[str] = mapped_column(String(32))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="addresses")


class PersonPhone(Base):
    """A phone number of a person."""

    __tablename__ = "person_phone"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16), default="mobile")

    person: Mapped[Person] = relationship(back_populates="phones")


class IdentityDocument(Base):
    """An identity document of a person (A-60)."""

    __tablename__ = "identity_document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(40))
    issuer: Mapped[str | None] = mapped_column(String(200))
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="documents")


class LegalRepresentation(Base):
    """A representative acting for a represented person on a basis document for a period (A-24, A-65)."""

    __tablename__ = "legal_representation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    representative_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    represented_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    basis: Mapped[str] = mapped_column(String(32))
    # The document it rests on (identity.rules.BasisDocument) and its number; basis_document: issuer and date.
    document_kind: Mapped[str] = mapped_column(String(32))
    document_number: Mapped[str] = mapped_column(String(60))
    basis_document: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (CheckConstraint("representative_id <> represented_id", name="not_self"),)
