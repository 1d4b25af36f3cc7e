"""Routes of the reference data: KATO units and regions with kk/ru names."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, or_, select

from emhana.kernel.errors import NotFound
from emhana.reference.models import KatoUnit, Region
from emhana.web.deps import SessionDep, public

router = APIRouter(prefix="/reference", tags=["reference"], dependencies=[public()])


class KatoOut(BaseModel):
    code: str
    version: str
    level: str
    type_code: int
    name_kk: str
    name_ru: str
    parent_code: str | None


class RegionOut(BaseModel):
    kato: str
    name_en: str
    name_kk: str
    name_ru: str
    population: int


def kato_out(u: KatoUnit) -> KatoOut:
    return KatoOut(
        code=u.code,
        version=u.version,
        level=u.level,
        type_code=u.type_code,
        name_kk=u.name_kk,
        name_ru=u.name_ru,
        parent_code=u.parent_code,
    )


@router.get("/regions", response_model=list[RegionOut])
def regions(session: SessionDep) -> list[RegionOut]:
    """List the 17 oblasts and 3 cities of republican significance with their population (1 Jan 2023)."""
    return [
        RegionOut(kato=r.kato, name_en=r.name_en, name_kk=r.name_kk, name_ru=r.name_ru, population=r.population)
        for r in session.scalars(select(Region).order_by(Region.kato))
    ]


@router.get("/kato", response_model=list[KatoOut])
def search_kato(
    session: SessionDep,
    q: Annotated[str, Query(min_length=2, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[KatoOut]:
    """Search KATO units by code prefix or by kk/ru name."""
    like = f"%{q.lower()}%"
    rows = session.scalars(
        select(KatoUnit)
        .where(
            or_(
                KatoUnit.code.like(f"{q}%"),
                func.lower(KatoUnit.name_ru).like(like),
                func.lower(KatoUnit.name_kk).like(like),
            )
        )
        .order_by(KatoUnit.code)
        .limit(limit)
    )
    return [kato_out(u) for u in rows]


@router.get("/kato/{code}", response_model=KatoOut)
def read_kato(code: str, session: SessionDep) -> KatoOut:
    """Return one KATO unit with its derived parent."""
    unit = session.get(KatoUnit, code)
    if unit is None:
        raise NotFound()
    return kato_out(unit)
