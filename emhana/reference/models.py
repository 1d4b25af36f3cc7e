"""Tables of the KATO classifier and the regions."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from emhana.kernel.db import Base


class KatoUnit(Base):
    """One administrative-territorial object of KATO (НК РК 11-2025)."""

    __tablename__ = "kato_unit"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    type_code: Mapped[int] = mapped_column(Integer)
    name_ru: Mapped[str] = mapped_column(String(200))
    name_kk: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(String(9), ForeignKey("kato_unit.code"), index=True)


class Region(Base):
    """An oblast or city of republican significance with its population (BNS, 1 Jan 2023)."""

    __tablename__ = "region"

    kato: Mapped[str] = mapped_column(String(9), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_ru: Mapped[str] = mapped_column(String(100))
    name_kk: Mapped[str] = mapped_column(String(100))
    population: Mapped[int] = mapped_column(Integer)
    males: Mapped[int] = mapped_column(Integer)
    females: Mapped[int] = mapped_column(Integer)
    hospitals: Mapped[int | None] = mapped_column(Integer)
