"""Entity included in the Fund's database on a day, in SQL: the one query form of facilities.rules.in_force.

Every reader asks here: the registry's lists and near search, the attachment campaign (its Core hot path
too), FHIR, medical books and the generator. ``day`` is a date or a bound parameter of a prepared statement.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, ColumnExpressionArgument, and_, exists, or_, select
from sqlalchemy.orm import Session

from emhana.facilities.models import Entity, Inclusion
from emhana.facilities.rules import InclusionStatus

Day = dt.date | ColumnElement[dt.date]


def included_on(day: Day, entity_id: ColumnExpressionArgument[int] | None = None) -> ColumnElement[bool]:
    """Return the SQL condition: the entity row of the statement (or the entity of ``entity_id``, a column such as
    ``site.entity_id``, with no entity row joined) is included in the database on the day (A-04, B-02): an
    included period has begun on or before it and ends (``effective_to``, excluded) after it."""
    return exists().where(
        Inclusion.entity_id == (Entity.id if entity_id is None else entity_id),
        Inclusion.status == InclusionStatus.INCLUDED.value,
        Inclusion.effective_from <= day,
        or_(Inclusion.effective_to.is_(None), Inclusion.effective_to > day),
    )


def under_contract_on(day: Day) -> ColumnElement[bool]:
    """Return the SQL condition: the entity's Fund contract has not ended on the day (rules.under_contract)."""
    return or_(Entity.contract_to.is_(None), Entity.contract_to >= day)


def participating_on(day: Day) -> ColumnElement[bool]:
    """Return the SQL condition: the entity takes people on the day, included with a Fund contract not yet
    ended (A-04, B-06)."""
    return and_(included_on(day), under_contract_on(day))


def is_included(*, session: Session, entity_id: int, day: dt.date) -> bool:
    """Tell whether an entity is included in the database on a day."""
    return session.scalar(select(Entity.id).where(Entity.id == entity_id, included_on(day))) is not None


def is_participating(*, session: Session, entity_id: int, day: dt.date) -> bool:
    """Tell whether an entity is included on a day with a Fund contract not yet ended (A-04, B-06)."""
    return session.scalar(select(Entity.id).where(Entity.id == entity_id, participating_on(day))) is not None


def included_until(*, session: Session, entity_id: int, day: dt.date) -> dt.date | None:
    """Return the first day an entity included on a day is no longer included (the end of the inclusion period in
    force that day, A-05, B-05), or None when that period has no end or the entity is not included then."""
    return session.scalar(
        select(Inclusion.effective_to)
        .where(
            Inclusion.entity_id == entity_id,
            Inclusion.status == InclusionStatus.INCLUDED.value,
            Inclusion.effective_from <= day,
            or_(Inclusion.effective_to.is_(None), Inclusion.effective_to > day),
        )
        .order_by(Inclusion.effective_from.desc())
        .limit(1)
    )
