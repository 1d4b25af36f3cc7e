"""Read models of the attachment pages: the attached population of an entity with filters, the Fund's
campaign figures (applications per day, flows between organizations, refusals by reason) and the
names behind the ids of attachments and applications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, aliased

from emhana.accounts.roles import Can, may
from emhana.accounts.service import Actor
from emhana.attachment.application import refusals as refusal_counts
from emhana.attachment.capitation import Band, active_on, parse_bands
from emhana.attachment.enums import DEFAULT_BANDS, State
from emhana.attachment.models import Application, Attachment
from emhana.attachment.rules import years_before
from emhana.audit.service import event_row, record_event, write_events
from emhana.facilities.models import District, Entity, Practitioner, Site
from emhana.identity.models import Person
from emhana.kernel.errors import Forbidden

AGE_BANDS: tuple[Band, ...] = parse_bands(DEFAULT_BANDS)


@dataclass(frozen=True)
class PopulationFilter:
    """Filters of the attached population; None means any."""

    site_id: int | None = None
    district_id: int | None = None
    profile: str | None = None
    sex: str | None = None
    band: str | None = None


@dataclass(frozen=True)
class PopulationRow:
    person: Person
    attachment: Attachment
    site: Site
    district: District


def _band_condition(band: str, day: dt.date) -> list[ColumnElement[bool]]:
    """Return the birth-date conditions of an age band on a day (A-121 bands)."""
    found = next((b for b in AGE_BANDS if b.label == band), None)
    if found is None:
        return []
    conds: list[ColumnElement[bool]] = [Person.birth_date <= years_before(day, found.low)]
    if found.high is not None:
        conds.append(Person.birth_date > years_before(day, found.high + 1))
    return conds


def _population_query(entity_id: int, day: dt.date, f: PopulationFilter) -> Select[Attachment, Person]:
    """Return the SELECT of the attachments in effect at an entity on a day, filtered."""
    query = (
        select(Attachment, Person)
        .join(Person, Person.id == Attachment.person_id)
        .join(District, District.id == Attachment.district_id)
        .where(Attachment.entity_id == entity_id, active_on(day))
    )
    if f.site_id is not None:
        query = query.where(Attachment.site_id == f.site_id)
    if f.district_id is not None:
        query = query.where(Attachment.district_id == f.district_id)
    if f.profile:
        query = query.where(District.profile == f.profile)
    if f.sex:
        query = query.where(Person.sex == f.sex)
    if f.band:
        query = query.where(*_band_condition(f.band, day))
    return query


def population(
    *, session: Session, actor: Actor, day: dt.date, filters: PopulationFilter, limit: int, offset: int
) -> tuple[int, list[PopulationRow]]:
    """Return (total, one page) of the people attached to the registrar's entity on a day."""
    if not may(actor.role, Can.SEE_ENTITY_POPULATION) or actor.entity_id is None:
        raise Forbidden()
    query = _population_query(actor.entity_id, day, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Person.surname, Person.given_name, Person.id).limit(limit).offset(offset))
    pairs: list[tuple[Attachment, Person]] = [(r[0], r[1]) for r in rows]
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_({a.site_id for a, _ in pairs})))}
    districts = {
        d.id: d for d in session.scalars(select(District).where(District.id.in_({a.district_id for a, _ in pairs})))
    }
    record_event(
        session=session,
        actor=actor,
        action="population.read",
        object_type="entity",
        object_id=str(actor.entity_id),
        purpose=f"{len(pairs)} of {total}",
    )
    # Each person shown in the list reads it in "who read my data" (issue 16): the lines of a list count.
    write_events(
        session,
        [
            event_row(
                actor=actor,
                action="population.read",
                object_type="attachment",
                object_id=a.id,
                subject_person_id=p.id,
                purpose="attached population",
            )
            for a, p in pairs
        ],
    )
    return total, [
        PopulationRow(person=p, attachment=a, site=sites[a.site_id], district=districts[a.district_id])
        for a, p in pairs
    ]


def entity_sites(*, session: Session, entity_id: int) -> list[Site]:
    """Return the active sites of an entity with their districts."""
    return list(
        session.scalars(select(Site).where(Site.entity_id == entity_id, Site.active.is_(True)).order_by(Site.id))
    )


@dataclass
class Names:
    """The entities, sites, districts, doctors and persons behind the ids on a page."""

    entities: dict[int, Entity] = field(default_factory=dict)
    sites: dict[int, Site] = field(default_factory=dict)
    districts: dict[int, District] = field(default_factory=dict)
    doctors: dict[int, Practitioner] = field(default_factory=dict)
    persons: dict[int, Person] = field(default_factory=dict)


def names_for(session: Session, rows: Iterable[Attachment | Application], person_ids: Iterable[int] = ()) -> Names:
    """Load the named objects that attachments and applications refer to, in one query per kind."""
    items = list(rows)
    names = Names()
    entity_ids = {r.entity_id for r in items}
    site_ids = {r.site_id for r in items}
    district_ids = {r.district_id for r in items}
    doctor_ids = {r.doctor_id for r in items if isinstance(r, Attachment) and r.doctor_id is not None}
    people = set(person_ids) | {r.person_id for r in items}
    if entity_ids:
        names.entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(entity_ids)))}
    if site_ids:
        names.sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))}
    if district_ids:
        names.districts = {d.id: d for d in session.scalars(select(District).where(District.id.in_(district_ids)))}
    doctor_ids |= {d.doctor_id for d in names.districts.values() if d.doctor_id is not None}
    if doctor_ids:
        names.doctors = {d.id: d for d in session.scalars(select(Practitioner).where(Practitioner.id.in_(doctor_ids)))}
    if people:
        names.persons = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(people)))}
    return names


@dataclass(frozen=True)
class CampaignFigures:
    """What the Fund's dashboard shows for one campaign year (journey 10)."""

    year: int
    per_day: list[tuple[dt.date, int]]
    flows: list[tuple[int | None, int, int]]
    refusals: list[tuple[str, int]]  # every refusal by reason, largest first
    states: dict[str, int]
    entities: dict[int, Entity]
    refused_by_registrar: dict[str, int] = field(default_factory=dict)
    refused_automatically: dict[str, int] = field(default_factory=dict)


def campaign_figures(*, session: Session, actor: Actor, year: int, top: int = 10) -> CampaignFigures:
    """Count a year's applications per day and by state, the top flows between organizations (from the
    previous attachment's entity to the new one) and the refusals by reason: those a registrar decided
    (stored with the application) and the automatic ones (which store no application, only a count)."""
    if not may(actor.role, Can.SEE_CAMPAIGN_FIGURES):
        raise Forbidden()
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    in_year = Application.filed_on.between(first, last)
    per_day = [
        (d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)), int(n))
        for d, n in session.execute(
            select(Application.filed_on, func.count())
            .where(in_year)
            .group_by(Application.filed_on)
            .order_by(Application.filed_on)
        )
    ]
    states = {
        str(s): int(n)
        for s, n in session.execute(select(Application.state, func.count()).where(in_year).group_by(Application.state))
    }
    by_registrar = {
        str(c): int(n)
        for c, n in session.execute(
            select(Application.reason_code, func.count())
            .where(in_year, Application.state == State.REFUSED.value, Application.reason_code.is_not(None))
            .group_by(Application.reason_code)
        )
    }
    automatic = refusal_counts.by_reason(session, year)
    refusals = sorted(
        ((c, by_registrar.get(c, 0) + automatic.get(c, 0)) for c in set(by_registrar) | set(automatic)),
        key=lambda cn: (-cn[1], cn[0]),
    )
    new, old = aliased(Attachment), aliased(Attachment)
    previous = (
        select(func.max(old.id)).where(old.person_id == new.person_id, old.id < new.id).correlate(new).scalar_subquery()
    )
    prev = aliased(Attachment)
    flow_rows = session.execute(
        select(prev.entity_id, new.entity_id, func.count())
        .select_from(new)
        .outerjoin(prev, prev.id == previous)
        .where(new.decided_on.between(first, last), new.application_id.is_not(None))
        .group_by(prev.entity_id, new.entity_id)
        .order_by(func.count().desc(), prev.entity_id, new.entity_id)
        .limit(top)
    )
    flows: list[tuple[int | None, int, int]] = [
        (int(a) if a is not None else None, int(b), int(n)) for a, b, n in flow_rows
    ]
    ids = {b for _, b, _ in flows} | {a for a, _, _ in flows if a is not None}
    entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(ids)))} if ids else {}
    return CampaignFigures(
        year=year,
        per_day=per_day,
        flows=flows,
        refusals=refusals,
        states=states,
        entities=entities,
        refused_by_registrar=by_registrar,
        refused_automatically=automatic,
    )
