"""What redistribution leaves for the Fund to see (A-94, A-80): the receiving organizations over capacity, and
where the people of an excluded organization (or one without a Fund contract) went.

Redistribution never leaves a person without a clinic (``placement.redistribute``): when no participating site
has a free place, the nearest one takes the person over its capacity. These reads show the Fund the result:

* ``overflow`` — per receiving organization, its districts holding more people than their capacity (open
  attachments, as every load in the registry is counted), with the people redistributed into them;
* ``redistribution_from`` — per receiving organization, the people moved there from one organization, and how
  many of them sit in a district over its capacity.

Reads only: they write nothing and log no read of personal data (ids, no names); a door that shows names logs it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.attachment.enums import Cause
from emhana.attachment.models import Attachment
from emhana.facilities.models import District, Entity, Site

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class DistrictOverflow:
    """A district holding more people than its capacity."""

    district_id: int
    site_id: int
    number: int
    profile: str
    capacity: int
    attached: int
    redistributed_person_ids: tuple[int, ...]  # people placed there by redistribution, still attached

    @property
    def over(self) -> int:
        """Return the people beyond the capacity."""
        return self.attached - self.capacity


@dataclass(frozen=True)
class EntityOverflow:
    """A receiving organization with its districts over capacity."""

    entity_id: int
    bin: str
    name_kk: str
    name_ru: str
    districts: tuple[DistrictOverflow, ...]

    @property
    def over(self) -> int:
        """Return the people beyond the capacity of all its districts."""
        return sum(d.over for d in self.districts)

    @property
    def redistributed(self) -> int:
        """Return the redistributed people attached in its districts over capacity."""
        return sum(len(d.redistributed_person_ids) for d in self.districts)


def overflow(*, session: Session, entity_id: int | None = None) -> list[EntityOverflow]:
    """Return the organizations whose districts hold more people than their capacity (A-80, A-94), most over
    first, each district with the people redistributed into it; one organization when ``entity_id`` is given."""
    load = (
        select(Attachment.district_id, func.count().label("attached"))
        .where(Attachment.end_date.is_(None))
        .group_by(Attachment.district_id)
        .subquery()
    )
    query = (
        select(District, Site.entity_id, load.c.attached)
        .join(load, load.c.district_id == District.id)
        .join(Site, Site.id == District.site_id)
        .where(load.c.attached > District.capacity)
    )
    if entity_id is not None:
        query = query.where(Site.entity_id == entity_id)
    rows = session.execute(query).all()
    if not rows:
        return []
    moved: dict[int, list[int]] = defaultdict(list)
    for district_id, person_id in session.execute(
        select(Attachment.district_id, Attachment.person_id)
        .where(
            Attachment.district_id.in_([d.id for d, _, _ in rows]),
            Attachment.end_date.is_(None),
            Attachment.cause == Cause.REDISTRIBUTION.value,
        )
        .order_by(Attachment.person_id)
    ):
        moved[int(district_id)].append(int(person_id))
    by_entity: dict[int, list[DistrictOverflow]] = defaultdict(list)
    for d, owner, attached in rows:
        by_entity[int(owner)].append(
            DistrictOverflow(
                district_id=d.id,
                site_id=d.site_id,
                number=d.number,
                profile=d.profile,
                capacity=d.capacity,
                attached=int(attached),
                redistributed_person_ids=tuple(moved.get(d.id, ())),
            )
        )
    entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(list(by_entity))))}
    found = [
        EntityOverflow(
            entity_id=e_id,
            bin=entities[e_id].bin,
            name_kk=entities[e_id].name_kk,
            name_ru=entities[e_id].name_ru,
            districts=tuple(sorted(ds, key=lambda x: (x.site_id, x.number))),
        )
        for e_id, ds in by_entity.items()
    ]
    return sorted(found, key=lambda e: (-e.over, e.entity_id))


@dataclass(frozen=True)
class Receiving:
    """Where the people of one organization went: one receiving organization."""

    entity_id: int
    bin: str
    name_kk: str
    name_ru: str
    person_ids: tuple[int, ...]
    over_capacity_person_ids: tuple[int, ...]  # of those, the people in a district now over its capacity

    @property
    def count(self) -> int:
        return len(self.person_ids)


def redistribution_from(*, session: Session, entity_id: int) -> list[Receiving]:
    """Return where the people of an organization were redistributed (A-94): per receiving organization, the
    people whose redistribution attachment follows one at ``entity_id`` (ended the day before it began, or
    replaced before it took effect), largest first."""
    left = {
        (a.person_id, a.end_date)
        for a in session.execute(
            select(Attachment.person_id, Attachment.end_date).where(
                Attachment.entity_id == entity_id, Attachment.end_date.is_not(None)
            )
        )
    }
    if not left:
        return []
    persons = sorted({p for p, _ in left})
    arrivals: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for start in range(0, len(persons), 1000):
        for person_id, entity, district_id, begin in session.execute(
            select(Attachment.person_id, Attachment.entity_id, Attachment.district_id, Attachment.begin_date).where(
                Attachment.person_id.in_(persons[start : start + 1000]),
                Attachment.cause == Cause.REDISTRIBUTION.value,
                Attachment.entity_id != entity_id,
            )
        ):
            if (person_id, begin - ONE_DAY) in left:
                arrivals[int(entity)].append((int(person_id), int(district_id)))
    if not arrivals:
        return []
    over = {d.district_id for e in overflow(session=session) if e.entity_id in arrivals for d in e.districts}
    entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(list(arrivals))))}
    found = [
        Receiving(
            entity_id=e_id,
            bin=entities[e_id].bin,
            name_kk=entities[e_id].name_kk,
            name_ru=entities[e_id].name_ru,
            person_ids=tuple(sorted(p for p, _ in moved)),
            over_capacity_person_ids=tuple(sorted(p for p, d in moved if d in over)),
        )
        for e_id, moved in arrivals.items()
    ]
    return sorted(found, key=lambda r: (-r.count, r.entity_id))
