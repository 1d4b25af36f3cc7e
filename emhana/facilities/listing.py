"""The Fund's view of the whole database of healthcare entities: every entity, included or not, with its status on a
day (B-05), for the page where the Fund includes and excludes them. The public directory lists only the entities
taking part (facilities.service.list_participating)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from emhana.facilities.models import Entity, Inclusion
from emhana.facilities.rules import period_on


@dataclass(frozen=True)
class EntityLine:
    """An entity with the inclusion period in force on the day (None: never included by then)."""

    entity: Entity
    period: Inclusion | None


def list_entities(
    *, session: Session, day: dt.date, q: str = "", limit: int = 20, offset: int = 0
) -> tuple[int, list[EntityLine]]:
    """Return the count and a page of every entity of the database, by name, filtered by name or BIN."""
    query = select(Entity)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(func.lower(Entity.name_ru).like(like), func.lower(Entity.name_kk).like(like), Entity.bin.like(f"{q}%"))
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Entity.name_ru, Entity.id).limit(limit).offset(offset).options(selectinload(Entity.inclusions))
    )
    return total, [EntityLine(e, period_on(e.inclusions, day)) for e in rows]
