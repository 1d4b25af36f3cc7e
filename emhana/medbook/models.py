"""Tables of personal medical books (docs/domain.md §3): decreed-group catalogue versions, responsible-therapist
appointments, books, the append-only journal, and employer accounts' BIN links."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from emhana.kernel.db import Base, BigId
from emhana.trust.chain import links as chain


class DecreedGroup(Base):
    """One version of a decreed group's examination scope (§3.7, C-22); versions are added, never edited."""

    __tablename__ = "decreed_group"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    periodicity_months: Mapped[int] = mapped_column(Integer)
    requirements: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    __table_args__ = (
        UniqueConstraint("code", "version", name="uq_decreed_group_code_version"),
        CheckConstraint("periodicity_months BETWEEN 1 AND 120", name="periodicity"),
    )


class ResponsibleAppointment(Base):
    """The head's appointment of an entity's responsible therapist (C-05); one open period per entity."""

    __tablename__ = "medbook_responsible"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    appointed_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    appointed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "uq_medbook_responsible_open",
            "entity_id",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
    )


class MedicalBook(Base):
    """A person's personal medical book (C-03) with owner data (C-11) and the chosen language (C-10)."""

    __tablename__ = "medical_book"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"), index=True)
    issued_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(2))
    profession: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    workplace: Mapped[str] = mapped_column(String(300))
    employer_bin: Mapped[str] = mapped_column(String(12), index=True)
    group_code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("language IN ('kk', 'ru')", name="language"),)


class JournalEntry(Base):
    """One append-only journal entry (C-13); a correction is a new row that supersedes an old one (C-41).

    ``canonical`` holds the exact bytes that the author's signature will cover (issue 5); until the trust
    component signs them, ``signature_state`` stays ``pending``.
    """

    __tablename__ = "medbook_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("medical_book.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    item_code: Mapped[str] = mapped_column(String(64), default="")
    performed_on: Mapped[dt.date] = mapped_column(Date)
    result: Mapped[str | None] = mapped_column(String(16))
    result_text: Mapped[str] = mapped_column(Text, default="")
    codes: Mapped[str] = mapped_column(String(400), default="")
    clearance: Mapped[str | None] = mapped_column(String(16))
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    referral_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entity.id"), index=True)
    caused_by_id: Mapped[int | None] = mapped_column(ForeignKey("medbook_entry.id"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"))
    author_account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    author_name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(8))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("medbook_entry.id"), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    canonical: Mapped[bytes] = mapped_column(LargeBinary)
    signature_state: Mapped[str] = mapped_column(String(16), default="pending")
    # a diagnosis (specialist_diagnosis, past_infection): "active" bars work when the rules say so, "resolved" is
    # history (C-30); None for every other kind
    clinical_status: Mapped[str | None] = mapped_column(String(16))
    # True on a retraction (issue 17: the MIS sent the resource as entered-in-error): the row supersedes the entry
    # it retracts, which then no longer counts (service.current_entries); None on every other entry (the hash
    # chain hashes it only when set, so the links of earlier entries stand)
    retracted: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('specialist_exam', 'lab_result', 'xray', 'vaccination', 'past_infection', "
            "'specialist_diagnosis', 'clearance', 'referral')",
            name="kind",
        ),
        CheckConstraint("source IN ('manual', 'mis')", name="source"),
        CheckConstraint("(kind = 'clearance') = (clearance IS NOT NULL)", name="clearance"),
        CheckConstraint("supersedes_id IS NULL OR reason IS NOT NULL", name="correction_reason"),
        CheckConstraint("clinical_status IS NULL OR clinical_status IN ('active', 'resolved')", name="clinical_status"),
        CheckConstraint("retracted IS NULL OR (retracted AND supersedes_id IS NOT NULL)", name="retraction"),
        Index("ix_medbook_entry_book_kind", "book_id", "kind"),
        Index("ix_medbook_entry_kind_valid_until", "kind", "valid_until"),  # reminders (medbook.standing.expiring)
        Index("ix_medbook_entry_entity_book", "entity_id", "book_id"),  # the books an organization recorded in
    )


class Employment(Base):
    """One job of a book's owner (issue 15): profession, workplace, employer and decreed group, from/to.

    A worker may hold several at once (a second decreed activity); the book's own profession, workplace,
    employer and group mirror the current main one. ``employer_number`` is a legal entity's BIN or an
    individual entrepreneur's IIN. Rows are closed (``valid_to``), never deleted.
    """

    __tablename__ = "medbook_employment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("medical_book.id"), index=True)
    profession: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    workplace: Mapped[str] = mapped_column(String(300))
    employer_number: Mapped[str] = mapped_column(String(12), index=True)
    group_code: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entity.id"))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="dates"),)


class Examination(Base):
    """An organization examining a book's owner now (issue 15): opened with a purpose, it lets the
    organization's staff read and record in the book until ``open_until``."""

    __tablename__ = "medbook_examination"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("medical_book.id"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # at_hiring, periodic, indication
    purpose: Mapped[str] = mapped_column(String(200))
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    open_until: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("kind IN ('at_hiring', 'periodic', 'indication')", name="kind"),)


class InfectionRule(Base):
    """One diagnosis (ICD-10 category) or carrier state that bars work in decreed groups while active (C-30).

    An editable list: a rule is ended (``valid_to``) and a new one added, never edited in place. ``groups``
    lists the decreed group codes it bars; empty means every decreed group.
    """

    __tablename__ = "medbook_infection_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # diagnosis, carrier
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("code", "valid_from", name="uq_medbook_infection_rule_code_from"),
        CheckConstraint("kind IN ('diagnosis', 'carrier')", name="kind"),
    )


class ReferralReceipt(Base):
    """The receiving clinic's acknowledgement of a referral entry (C-30); the entry itself stays append-only."""

    __tablename__ = "medbook_referral_receipt"

    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("medbook_entry.id"), primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"), index=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")


class EmployerLink(Base):
    """Ties an employer account to the BIN whose workers' clearance it may see (never clinical content)."""

    __tablename__ = "medbook_employer"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), index=True)
    linked_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ClearanceSeal(Base):
    """The QR seal issued for one clearance entry, reused on every page and PDF while it stands (C-41, §6.5).

    ``summary_sha256`` names what the seal says; a seal is issued anew when that changes, when it expires, or
    when the register (emhana.trust.scheme.issue) no longer lists it as valid (superseded by a correction, revoked).
    """

    __tablename__ = "medbook_seal"

    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("medbook_entry.id"), primary_key=True)
    seal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("trust_seal.id"))
    summary_sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# The journal of one medical book is a hash chain (emhana.trust.chain), one ``open`` link per entry (C-13, C-41).
MEDBOOK_CHAIN = chain.register(
    chain.ChainKind(
        "medbook",
        chain.table_of(JournalEntry),
        "book_id",
        (
            "book_id",
            "kind",
            "item_code",
            "performed_on",
            "result",
            "result_text",
            "codes",
            "clearance",
            "valid_until",
            "referral_entity_id",
            "caused_by_id",
            "entity_id",
            "author_account_id",
            "author_name",
            "source",
            "supersedes_id",
            "reason",
            "recorded_at",
            "canonical",
        ),
        # issue 15, migration 0018: a diagnosis is active or resolved; issue 17, migration 0030: a retraction
        optional_fields=("clinical_status", "retracted"),
    ),
    JournalEntry,
)

# The book itself, one chain per book: its owner (C-11), issuer, language, work and employer, and decreed group.
# Every change written through the application appends an ``update`` link; a change in SQL (a book moved to
# another person, another employer or group) is named by `audit verify`.
BOOK_CHAIN = chain.register(
    chain.ChainKind(
        "book",
        chain.table_of(MedicalBook),
        "id",
        (
            "person_id",
            "entity_id",
            "issued_by",
            "issued_on",
            "language",
            "profession",
            "position",
            "workplace",
            "employer_bin",
            "group_code",
        ),
        mutable=True,
    ),
    MedicalBook,
)
