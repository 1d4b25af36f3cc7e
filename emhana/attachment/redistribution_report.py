"""What the redistribution of an excluded entity's people did (A-94, B-06), read back from the attachment history.

An exclusion (facilities.service.change_inclusion) moves the entity's people in the same transaction
(attachment.subscriptions → placement.redistribute). This read model shows the Fund the result of the latest
exclusion: how many people left the entity, to which organizations, sites and districts they went, who was
placed beyond a district's capacity (the overflow the Fund must resolve) and who was left without a clinic. It
reads the tables only, so it reports any redistribution however it was run (the page, the API or the CLI).

A person was moved when an attachment of theirs at the entity ended from the day before the exclusion on, and the
next attachment opened for them is one of cause ``redistribution``. A receiving district overflows when, on the
day the moved people begin there, more people are attached to it than its capacity; the overflow is the people
moved in last, as many as the excess (never more than were moved in).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment.enums import Cause, EndReason
from emhana.attachment.models import Attachment
from emhana.audit.service import event_row, record_event, write_events
from emhana.facilities.models import District, Entity, Inclusion, Site
from emhana.facilities.rules import InclusionStatus
from emhana.identity.models import Person
from emhana.identity.rules import ReadPurpose
from emhana.kernel.errors import NotFound

ONE_DAY = dt.timedelta(days=1)
LEFT = (EndReason.TRANSFER.value, EndReason.SUPERSEDED.value, EndReason.ENTITY_EXCLUDED.value)


@dataclass(frozen=True)
class Destination:
    """A district that received people, with its load on the day they began there."""

    entity: Entity
    site: Site
    district: District
    begin: dt.date
    moved: int
    attached: int
    overflow: int


@dataclass(frozen=True)
class PersonLine:
    """A person the Fund must see by name: placed beyond capacity, or left without a clinic."""

    person: Person
    destination: Destination | None


@dataclass
class Report:
    """The result of an entity's latest exclusion, or of the end of its Fund contract when that came later
    (``left_on``: its first day out; None when it never left)."""

    entity: Entity
    exclusion: Inclusion | None
    left_on: dt.date | None = None
    contract_ended: bool = False
    moved: int = 0
    still_attached: int = 0
    destinations: list[Destination] = field(default_factory=list)
    overflow: list[PersonLine] = field(default_factory=list)
    unplaced: list[PersonLine] = field(default_factory=list)

    @property
    def by_entity(self) -> list[tuple[Entity, int, int]]:
        """Return (organization, people moved there, of them beyond capacity), most people first."""
        totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        entities: dict[int, Entity] = {}
        for d in self.destinations:
            entities[d.entity.id] = d.entity
            totals[d.entity.id][0] += d.moved
            totals[d.entity.id][1] += d.overflow
        return sorted(
            ((entities[i], n, o) for i, (n, o) in totals.items()), key=lambda t: (-t[1], t[0].name_ru, t[0].id)
        )


def latest_exclusion(session: Session, entity_id: int) -> Inclusion | None:
    """Return the entity's latest exclusion period, or None if it was never excluded."""
    return session.scalar(
        select(Inclusion)
        .where(Inclusion.entity_id == entity_id, Inclusion.status == InclusionStatus.EXCLUDED.value)
        .order_by(Inclusion.effective_from.desc(), Inclusion.id.desc())
        .limit(1)
    )


def report(*, session: Session, actor: Actor | None, entity_id: int, today: dt.date) -> Report:
    """Return what the redistribution after the entity's latest exclusion (or the end of its Fund contract, if
    later and already past, B-06) did (A-94); the read of the named people is logged, one event per person."""
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFound()
    exclusion = latest_exclusion(session, entity_id)
    result = Report(entity=entity, exclusion=exclusion, left_on=exclusion.effective_from if exclusion else None)
    if entity.contract_to is not None and entity.contract_to < today:
        out = entity.contract_to + ONE_DAY
        if result.left_on is None or out > result.left_on:
            result.left_on, result.contract_ended = out, True
    if result.left_on is None:
        return result
    start = result.left_on
    result.still_attached = (
        session.scalar(select(func.count()).where(Attachment.entity_id == entity_id, Attachment.end_date.is_(None)))
        or 0
    )
    left = list(
        session.scalars(
            select(Attachment)
            .where(
                Attachment.entity_id == entity_id,
                Attachment.end_date >= start - ONE_DAY,
                Attachment.end_reason.in_(LEFT),
            )
            .order_by(Attachment.id)
        )
    )
    if not left:
        return result
    first_left: dict[int, Attachment] = {}
    for old in left:
        first_left.setdefault(old.person_id, old)
    persons = select(Attachment.person_id).where(
        Attachment.entity_id == entity_id,
        Attachment.end_date >= start - ONE_DAY,
        Attachment.end_reason.in_(LEFT),
    )
    new_rows = session.scalars(
        select(Attachment)
        .where(
            Attachment.person_id.in_(persons),
            Attachment.cause == Cause.REDISTRIBUTION.value,
            Attachment.entity_id != entity_id,
            Attachment.begin_date >= start,
        )
        .order_by(Attachment.id)
    )
    moved: dict[int, Attachment] = {}
    for new in new_rows:
        if new.id > first_left[new.person_id].id:
            moved.setdefault(new.person_id, new)
    result.moved = len(moved)
    result.destinations, overflow_ids = _destinations(session, list(moved.values()))
    unplaced_ids = [
        p for p, old in first_left.items() if p not in moved and old.end_reason == EndReason.ENTITY_EXCLUDED.value
    ]
    named = set(overflow_ids) | set(unplaced_ids)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(named)))} if named else {}
    result.overflow = [PersonLine(people[p], d) for p, d in overflow_ids.items() if p in people]
    result.unplaced = [PersonLine(people[p], None) for p in unplaced_ids if p in people]
    result.overflow.sort(key=lambda line: (line.person.surname, line.person.given_name, line.person.id))
    result.unplaced.sort(key=lambda line: (line.person.surname, line.person.given_name, line.person.id))
    summary = f"moved {result.moved}, overflow {len(result.overflow)}, unplaced {len(result.unplaced)}"
    record_event(
        session=session,
        actor=actor,
        action="redistribution.read",
        object_type="entity",
        object_id=str(entity_id),
        purpose=summary,
    )
    # Each person named on the page sees in their own access log that the Fund read their attachment, for its
    # control (an action and a purpose code that /me/reads words in the reader's language).
    write_events(
        session,
        [
            event_row(
                actor=actor,
                action="attachment.read",
                object_type="entity",
                object_id=entity_id,
                subject_person_id=line.person.id,
                purpose=ReadPurpose.OVERSIGHT.value,
            )
            for line in (*result.overflow, *result.unplaced)
        ],
    )
    return result


def _destinations(session: Session, moved: list[Attachment]) -> tuple[list[Destination], dict[int, Destination]]:
    """Return the receiving districts with their load, and the people beyond capacity with their district."""
    groups: dict[tuple[int, dt.date], list[Attachment]] = defaultdict(list)
    for new in moved:
        groups[(new.district_id, new.begin_date)].append(new)
    if not groups:
        return [], {}
    district_ids = {d for d, _ in groups}
    districts = {d.id: d for d in session.scalars(select(District).where(District.id.in_(district_ids)))}
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_({d.site_id for d in districts.values()})))}
    entities = {
        e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_({s.entity_id for s in sites.values()})))
    }
    found: list[Destination] = []
    overflow: dict[int, Destination] = {}
    for (district_id, begin), rows in groups.items():
        district = districts[district_id]
        site = sites[district.site_id]
        attached = (
            session.scalar(
                select(func.count()).where(
                    Attachment.district_id == district_id,
                    Attachment.begin_date <= begin,
                    or_(Attachment.end_date.is_(None), and_(Attachment.end_date >= begin)),
                )
            )
            or 0
        )
        excess = min(len(rows), max(0, attached - district.capacity))
        dest = Destination(
            entity=entities[site.entity_id],
            site=site,
            district=district,
            begin=begin,
            moved=len(rows),
            attached=attached,
            overflow=excess,
        )
        found.append(dest)
        for new in sorted(rows, key=lambda a: a.id)[len(rows) - excess :] if excess else []:
            overflow[new.person_id] = dest
    found.sort(key=lambda d: (d.entity.name_ru, d.site.id, d.district.number, d.begin))
    return found, overflow
