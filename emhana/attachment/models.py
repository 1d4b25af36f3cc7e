"""Tables of the attachment campaign: policies, applications with documents, attachments, capitation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emhana.kernel.db import Base, BigId
from emhana.trust.chain import links as chain


class CampaignPolicy(Base):
    """The policy of one campaign year, versioned data rather than code (A-30..A-34, A-41)."""

    __tablename__ = "campaign_policy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    effective_date: Mapped[dt.date | None] = mapped_column(Date)
    year_round: Mapped[bool] = mapped_column(Boolean, default=False)
    max_voluntary_changes_per_year: Mapped[int] = mapped_column(Integer, default=1)
    allow_work_basis: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_study_basis_18plus: Mapped[bool] = mapped_column(Boolean, default=True)
    border_exception: Mapped[bool] = mapped_column(Boolean, default=True)
    children_under_5_actual_residence: Mapped[bool] = mapped_column(Boolean, default=True)
    pregnant_actual_residence: Mapped[bool] = mapped_column(Boolean, default=True)  # A-23 (M)
    care_at_home_by_applicant: Mapped[bool] = mapped_column(Boolean, default=False)  # A-26 (M)
    capacity_check: Mapped[bool] = mapped_column(Boolean, default=True)
    first_attachment_any_time: Mapped[bool] = mapped_column(Boolean, default=True)
    atu_level: Mapped[str] = mapped_column(String(16), default="district")
    source: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    __table_args__ = (
        CheckConstraint("max_voluntary_changes_per_year IN (1, 2)", name="changes"),
        CheckConstraint("window_end >= window_start", name="window"),
        CheckConstraint("atu_level IN ('district', 'oblast')", name="atu_level"),
    )


class Application(Base):
    """An application to attach: who for, who by, by which channel, where to, and its decision (A-50..A-54)."""

    __tablename__ = "attachment_application"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    applicant_person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    place_basis: Mapped[str] = mapped_column(String(24))
    border_claim: Mapped[bool] = mapped_column(Boolean, default=False)
    pregnant: Mapped[bool] = mapped_column(Boolean, default=False)  # A-23 (M): declared
    care_at_home: Mapped[bool | None] = mapped_column(Boolean)  # the applicant's choice
    change_reason: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    review: Mapped[str] = mapped_column(String(100), default="")
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason_note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    filed_on: Mapped[dt.date] = mapped_column(Date)
    deadline: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    documents: Mapped[list[ApplicationDocument]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ApplicationDocument.id"
    )

    __table_args__ = (
        Index("ix_attachment_application_entity_state", "entity_id", "state"),
        CheckConstraint("state IN ('submitted', 'approved', 'refused', 'in_effect')", name="state"),
        CheckConstraint("channel IN ('egov', 'in_person', 'written')", name="channel"),
        # the valid reasons for a change outside the campaign (migration 0025).
        CheckConstraint("change_reason IS NULL OR change_reason IN ('relocation', 'closure')", name="change_reason"),
    )


class ApplicationDocument(Base):
    """A document presented with an application, with the scanned file of a written one (A-60..A-66)."""

    __tablename__ = "attachment_document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("attachment_application.id", ondelete="CASCADE"), index=True)
    holder: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(60))
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    file_name: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str | None] = mapped_column(String(64))

    application: Mapped[Application] = relationship(back_populates="documents")


class Attachment(Base):
    """One period of a person's attachment; rows are added, and end_date is set once (A-01, A-96, A-110)."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    place_basis: Mapped[str] = mapped_column(String(24))
    cause: Mapped[str] = mapped_column(String(24))
    begin_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(24))
    insured_until: Mapped[dt.date | None] = mapped_column(Date)
    # home visits agreed for a person living outside the service zone; None inside the zone.
    care_at_home: Mapped[bool | None] = mapped_column(Boolean)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("attachment_application.id"))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    # The person's sex and birth date, copied by the database itself and kept equal to the person's (triggers of
    # migration 0037: set from the person on every insert, whatever a writer gives, and again when the person's
    # change), so that capitation counts one table (docs/architecture.md, "Capitation"). Writers need not give
    # them. Not hashed in the attachment chain: they are the person's, hashed in the person's chain.
    person_sex: Mapped[str | None] = mapped_column(String(6))
    person_birth_date: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        # at most one open attachment per person, enforced by the database itself.
        Index(
            "uq_attachment_person_open",
            "person_id",
            unique=True,
            sqlite_where=text("end_date IS NULL"),
            postgresql_where=text("end_date IS NULL"),
        ),
        Index(
            "ix_attachment_district_open",
            "district_id",
            sqlite_where=text("end_date IS NULL"),
            postgresql_where=text("end_date IS NULL"),
        ),
        # The attachment an application opened (attachment_of; migration 0038): only those rows have one.
        Index(
            "ix_attachment_application",
            "application_id",
            sqlite_where=text("application_id IS NOT NULL"),
            postgresql_where=text("application_id IS NOT NULL"),
        ),
        CheckConstraint("(end_date IS NULL) = (end_reason IS NULL)", name="end_reason"),
    )


class DistrictLoad(Base):
    """The open attachments of a district (A-80), kept by the database itself: triggers on ``attachment`` add and
    take away one for every row opened, ended or removed, whoever writes it, and one on ``district`` gives a new
    district its row (migration 0031; docs/architecture.md, "District load"). ``emhana.attachment.load.recount``
    sets it again from the rows. Read under the district row's lock for the capacity check, and by the near
    search without one."""

    __tablename__ = "district_load"

    district_id: Mapped[int] = mapped_column(BigId, ForeignKey("district.id"), primary_key=True, autoincrement=False)
    attached: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CapitationSnapshot(Base):
    """A dated, immutable count of the attached population (A-120, A-121)."""

    __tablename__ = "capitation_snapshot"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    as_of: Mapped[dt.date] = mapped_column(Date, unique=True)
    bands: Mapped[str] = mapped_column(String(200))
    total: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    taken_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


# The attachments behind a count, as ids: bigint[] on PostgreSQL, a JSON list on SQLite.
IdList = ARRAY(BigInteger).with_variant(JSON(), "sqlite")


class CapitationCount(Base):
    """The count of one entity x sex x age band in a snapshot, with the attachments counted (traceability to the
    person, A-121): each names its person (``attachment.person_id``, never changed, hashed in its chain).

    The trace sits in the count's row (migration 0006) rather than one row per person: a national
    snapshot writes a few thousand rows instead of 20 million, and the count and its attachments come
    from the same GROUP BY, so they cannot disagree. The persons' ids beside them (until migration 0037) repeated
    what the attachment rows say at twice the cost (capitation.persons_of reads them through the attachments)."""

    __tablename__ = "capitation_count"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("capitation_snapshot.id"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"))
    sex: Mapped[str] = mapped_column(String(6))
    band: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer)
    attachment_ids: Mapped[list[int]] = mapped_column(IdList, deferred=True)

    __table_args__ = (UniqueConstraint("snapshot_id", "entity_id", "sex", "band", name="uq_capitation_count_cell"),)


class RefusalCount(Base):
    """Automatic refusals per campaign year, day, reason code and channel (the Fund's dashboard).

    A refused request leaves the domain tables as they were; this counter is written afterwards in a
    transaction of its own (emhana.attachment.application.refusals)."""

    __tablename__ = "attachment_refusal_count"

    campaign_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reason_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


# The attachment history of one person is a hash chain (emhana.trust.chain): each row's opening fields once,
# and every change of its end as an ``end`` link.
ATTACHMENT_CHAIN = chain.register(
    chain.ChainKind(
        "attachment",
        chain.table_of(Attachment),
        "person_id",
        (
            "person_id",
            "entity_id",
            "site_id",
            "district_id",
            "doctor_id",
            "place_basis",
            "cause",
            "begin_date",
            "insured_until",
            "application_id",
            "decided_on",
            "created_at",
            "created_by",
        ),
        end_fields=("end_date", "end_reason"),
        optional_fields=("care_at_home",),  # A-26, migration 0013
    ),
    Attachment,
)

# A person's applications, one chain per person: what was asked, by whom, and the decision (A-50..A-54, A-70).
# The decision fields change once decided: each change written through the application appends an ``update``
# link, so a decision flipped in SQL is named by `audit verify`.
APPLICATION_CHAIN = chain.register(
    chain.ChainKind(
        "application",
        chain.table_of(Application),
        "person_id",
        (
            "person_id",
            "applicant_person_id",
            "channel",
            "entity_id",
            "site_id",
            "district_id",
            "place_basis",
            "border_claim",
            "pregnant",
            "care_at_home",
            "change_reason",
            "state",
            "review",
            "reason_code",
            "reason_note",
            "submitted_at",
            "filed_on",
            "deadline",
            "decided_at",
            "decided_by",
            "recorded_by",
            "version",
        ),
        mutable=True,
    ),
    Application,
)
