"""Tables of the healthcare-entity database (docs/domain.md §2, B-01..B-06)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from emhana.kernel.db import Base, BigId


class Entity(Base):
    """A healthcare entity (legal person) that applies to provide GOBMP and/or OSMS care (B-01)."""

    __tablename__ = "entity"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    legal_form: Mapped[str] = mapped_column(String(32))
    ownership: Mapped[str] = mapped_column(String(16))
    program_gobmp: Mapped[bool] = mapped_column(Boolean, default=True)
    program_osms: Mapped[bool] = mapped_column(Boolean, default=True)
    contract_from: Mapped[dt.date | None] = mapped_column(Date)
    contract_to: Mapped[dt.date | None] = mapped_column(Date)
    region_kato: Mapped[str | None] = mapped_column(String(9), ForeignKey("kato_unit.code"), index=True)
    # registration in the Resource Management System (СУР), which with a licence lets an entity issue books (C-04)
    sur_registered_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    licences: Mapped[list[Licence]] = relationship(
        back_populates="entity", cascade="all, delete-orphan", order_by="Licence.id"
    )
    inclusions: Mapped[list[Inclusion]] = relationship(
        back_populates="entity", cascade="all, delete-orphan", order_by="Inclusion.effective_from"
    )
    sites: Mapped[list[Site]] = relationship(back_populates="entity", order_by="Site.id")


class Licence(Base):
    """A licence for medical activity with its licensed subtypes (B-04)."""

    __tablename__ = "licence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    subtypes: Mapped[str] = mapped_column(Text, default="")

    entity: Mapped[Entity] = relationship(back_populates="licences")


class Inclusion(Base):
    """One period of an entity's status in the database: included or excluded, with a reason (B-05)."""

    __tablename__ = "inclusion"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    entity: Mapped[Entity] = relationship(back_populates="inclusions")


class Site(Base):
    """A place where an entity serves people, with its KATO code and coordinates."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    address_kk: Mapped[str] = mapped_column(Text, default="")
    address_ru: Mapped[str] = mapped_column(Text, default="")
    kato_code: Mapped[str] = mapped_column(String(9), ForeignKey("kato_unit.code"), index=True)
    kato_version: Mapped[str] = mapped_column(String(32))
    lat: Mapped[float] = mapped_column(Float, index=True)
    lon: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    entity: Mapped[Entity] = relationship(back_populates="sites")
    districts: Mapped[list[District]] = relationship(back_populates="site", order_by="District.number")

    __table_args__ = (UniqueConstraint("entity_id", "code", name="uq_site_entity_code"),)


# PostgreSQL only: a GiST index on point(lon, lat) for nearest-first (KNN) search in near().
Index("ix_site_point", func.point(Site.__table__.c.lon, Site.__table__.c.lat), postgresql_using="gist").ddl_if(
    dialect="postgresql"
)

# Degrees of longitude times about the cosine of 48 degrees, the middle of Kazakhstan's latitudes: a planar distance
# on (lon * SQUEEZE, lat) stays within about 15 % of the great-circle one over the country (docs/near-search.md).
SQUEEZE = 0.67


def squeezed_point(lon: ColumnElement[float], lat: ColumnElement[float]) -> ColumnElement[Any]:
    """Return the SQL point(lon * SQUEEZE, lat), the factor written as a constant so that the expression is the
    index's own (ix_site_point_squeezed)."""
    return func.point(lon * literal_column(repr(SQUEEZE), Float), lat)


# PostgreSQL only (migration 0041): a GiST index on the squeezed point, for the near search's KNN candidates
# (emhana/attachment/nearby.py): about half as many as plain degrees need to prove the answer.
Index(
    "ix_site_point_squeezed", squeezed_point(Site.__table__.c.lon, Site.__table__.c.lat), postgresql_using="gist"
).ddl_if(dialect="postgresql")


class Practitioner(Base):
    """A doctor or nurse known to the database, with specialties (B-04)."""

    __tablename__ = "practitioner"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True)
    surname: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100))
    specialties: Mapped[str] = mapped_column(Text, default="")


class Post(Base):
    """A practitioner's post at an entity (and optionally a site) over a period."""

    __tablename__ = "post"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    title: Mapped[str] = mapped_column(String(100))
    rate: Mapped[float] = mapped_column(Float, default=1.0)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class District(Base):
    """A catchment district (участок) of a site: profile, number, capacity and doctor (A-80..A-84)."""

    __tablename__ = "district"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    profile: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int] = mapped_column(Integer)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    site: Mapped[Site] = relationship(back_populates="districts")

    __table_args__ = (UniqueConstraint("site_id", "number", name="uq_district_site_number"),)
