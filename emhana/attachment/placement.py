"""Opening and ending attachments: transfer in one transaction (A-06), detachment (A-91..A-93),
redistribution of the people of an entity excluded or without a Fund contract (A-94, B-06: nobody is left
without a clinic), the district load and the row locks.

Locks are taken in one order everywhere, person rows before district rows, so concurrent
transactions queue instead of deadlocking. PostgreSQL gets SELECT ... FOR NO KEY UPDATE: it queues the
writers of a row as FOR UPDATE does, but not an insert elsewhere whose foreign key points at the row (an audit
event naming the person takes a KEY SHARE lock on the person's row; against FOR UPDATE, a logged read that had
locked the person's chain head waited for the decision while the decision waited for that head: a deadlock).
On SQLite every unit of work holds the write lock from its first statement (BEGIN IMMEDIATE, emhana/kernel/db.py).
History is added, never rewritten: a row gets its end date once it is in the past; only a planned
end in the future may be brought forward by a later decision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment.enums import BASIS_ADDRESS, Cause, EndReason, PlaceBasis, State
from emhana.attachment.facts import Period, periods
from emhana.attachment.load import lock_loads
from emhana.attachment.models import Application, Attachment
from emhana.attachment.notice import events as notify
from emhana.attachment.notice import supersede
from emhana.attachment.rules import Policy, age_on, check_profile, same_atu
from emhana.attachment.writes import Events, NewAttachment, close_attachment, open_attachment
from emhana.facilities.inclusion import is_participating
from emhana.facilities.models import District, Entity, Site
from emhana.facilities.rules import under_contract
from emhana.facilities.service import near
from emhana.identity.models import Person, PersonAddress
from emhana.kernel import clock
from emhana.kernel.errors import EntityStillParticipating, NotAttached, NotFound

ONE_DAY = dt.timedelta(days=1)


def lock_persons(session: Session, person_ids: Iterable[int]) -> None:
    """Lock person rows in id order (the first lock of every attachment transaction)."""
    ids = sorted(set(person_ids))
    if ids:
        session.execute(select(Person.id).where(Person.id.in_(ids)).order_by(Person.id).with_for_update(key_share=True))


def lock_district(session: Session, district_id: int) -> District:
    """Lock a district row so that its load is counted and changed by one transaction at a time."""
    district = session.scalar(
        select(District)
        .where(District.id == district_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if district is None or not district.active:
        raise NotFound()
    return district


def attached_count(session: Session, district_id: int) -> int:
    """Return the people holding a place in a district: its open attachments (A-80)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Attachment)
            .where(Attachment.district_id == district_id, Attachment.end_date.is_(None))
        )
        or 0
    )


def attached_counts(session: Session, district_ids: Iterable[int]) -> dict[int, int]:
    """Return the open attachments of several districts."""
    ids = list(district_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Attachment.district_id, func.count())
        .where(Attachment.district_id.in_(ids), Attachment.end_date.is_(None))
        .group_by(Attachment.district_id)
    )
    counts = dict.fromkeys(ids, 0)
    counts.update({int(d): int(n) for d, n in rows})
    return counts


class Dated(Protocol):
    """An address with its kind and validity (an ORM row or a Core read)."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def valid_from(self) -> dt.date | None: ...
    @property
    def valid_to(self) -> dt.date | None: ...


A = TypeVar("A", bound=Dated)


def basis_address(addresses: Iterable[A], basis: PlaceBasis, day: dt.date) -> A | None:
    """Return the current address of the kind that proves a place basis (A-20, A-21, A-23)."""
    kind = BASIS_ADDRESS[basis]
    current = [
        a
        for a in addresses
        if a.kind == kind
        and (a.valid_from is None or a.valid_from <= day)
        and (a.valid_to is None or a.valid_to >= day)
    ]
    return max(current, key=lambda a: (a.valid_from or dt.date.min, a.id)) if current else None


def address_of(person: Person, basis: PlaceBasis, day: dt.date) -> PersonAddress | None:
    """Return the person's current address of the kind that proves a place basis (A-20, A-21, A-23)."""
    return basis_address(person.addresses, basis, day)


def ending(period: Period, last_day: dt.date, reason: EndReason) -> tuple[dt.date, EndReason]:
    """Return the end of an attachment ended on a day; one that has not begun by then never takes effect."""
    if period.begin_date > last_day:
        return period.begin_date - ONE_DAY, EndReason.SUPERSEDED if reason is EndReason.TRANSFER else reason
    return last_day, reason


def end_from(
    session: Session, person_id: int, begin: dt.date, reason: EndReason, history: Sequence[Period] | None = None
) -> list[Period]:
    """End every attachment of a person that would still run on ``begin`` (the day before it); return them
    as ended.

    ``history``, when given, is every attachment of the person as read after the person's lock; it
    saves reading them again."""
    rows = periods(session.connection(), person_id, begin) if history is None else history
    ended = []
    for period in sorted(
        (a for a in rows if a.person_id == person_id and (a.end_date is None or a.end_date >= begin)),
        key=lambda a: a.begin_date,
    ):
        last_day, why = ending(period, begin - ONE_DAY, reason)
        close_attachment(
            session, attachment_id=period.id, person_id=person_id, last_day=last_day, reason=why, linked=period.linked
        )
        ended.append(dataclasses.replace(period, end_date=last_day, end_reason=why.value))
    return ended


def place(
    session: Session,
    events: Events,
    new: NewAttachment,
    history: Sequence[Period] | None = None,
    *,
    now: dt.datetime | None = None,
    sealed_notices: bool = True,
) -> tuple[int, list[Period]]:
    """Close the person's running attachment and open the new one in the same transaction (A-06, A-90);
    return the new attachment's id and the ended ones. The audit events join ``events``.

    ``sealed_notices``: False when the caller has read, under the person's lock, that no attachment notice of the
    person has a valid seal (facts.lock_person): there is then nothing to supersede."""
    ended = end_from(session, new.person_id, new.begin, EndReason.TRANSFER, history)
    new_id = open_attachment(session, events.actor, new)
    if sealed_notices:
        # The person's earlier attachment notices no longer say where they are attached (A-54, §6.5).
        supersede.earlier(session, person_id=new.person_id, keep_application=new.application_id, now=now or clock.now())
    for old in ended:
        events.add("attachment.end", "attachment", old.id, new.person_id, old.end_reason or "")
    events.add("attachment.open", "attachment", new_id, new.person_id, new.cause.value)
    return new_id, ended


def detach(
    *, session: Session, actor: Actor | None, person_id: int, reason: EndReason, on: dt.date, today: dt.date
) -> list[Attachment]:
    """End a person's attachment for death, emigration or the end of insurance (A-91..A-93).

    The last attached day is ``on``, but never before today: days already passed stay as they were.
    """
    lock_persons(session, [person_id])
    if session.get(Person, person_id) is None:
        raise NotFound()
    begin = max(on, today) + ONE_DAY
    ended = end_from(session, person_id, begin, reason)
    if not ended:
        raise NotAttached()
    events = Events(actor)
    rows = []
    for period in ended:
        events.add("attachment.end", "attachment", period.id, person_id, reason.value)
        att = session.get(Attachment, period.id)
        if att is not None:
            notify.detached(session, att=att, now=clock.now())
            rows.append(att)
    events.write(session)
    return rows


def redistribute(
    *,
    session: Session,
    actor: Actor | None,
    entity_id: int,
    on: dt.date,
    today: dt.date,
    policy: Policy,
    candidates: int = 20,
) -> tuple[int, list[int]]:
    """Move the people of an entity that left the database or lost its Fund contract (A-94, B-06) to the
    nearest participating site; return (moved, unplaced person ids).

    Redistribution never leaves a person without a clinic: the nearest participating site of the person's ATU
    with a free place of a fitting profile takes them; when none has one, the nearest participating site of a
    fitting profile takes them over its capacity (the Fund sees it: ``attachment.overflow``); beyond the ATU
    only when it has no such site. Nobody is detached: ``unplaced`` lists only people for whom no participating
    site of a fitting profile exists within the candidates searched; they stay where they were and the Fund
    sees them in the answer and the audit event.

    People with an approved change to the entity that has not taken effect (an attachment from 1 January, A-05)
    are redistributed too, from the day that change would have taken effect, and told (they keep their current
    organization until then). People leaving the entity for a change not yet in effect are not left with it
    after its first day out: the organization they chose takes them from that day (when it takes part then).
    Call it after the exclusion or the end of the contract is recorded.
    """
    if session.get(Entity, entity_id) is None:
        raise NotFound()
    if is_participating(session=session, entity_id=entity_id, day=on):
        raise EntityStillParticipating()
    rows = list(
        session.scalars(select(Attachment).where(Attachment.entity_id == entity_id, Attachment.end_date.is_(None)))
    )
    ending = list(session.scalars(select(Attachment.person_id).where(*_ending_after(entity_id, on))))
    lock_persons(session, [a.person_id for a in rows] + ending)  # one batch, in id order
    lock_loads(session.connection(), {a.district_id for a in rows})  # the districts they leave, in id order
    leaving = _leaving_early(session, entity_id, on)  # read before the moves below end more of its rows
    events = Events(actor)
    moved, over, unplaced = 0, 0, []
    for att in sorted(rows, key=lambda a: a.person_id):
        person = session.get(Person, att.person_id)
        if person is None:
            continue
        # A pending attachment (an approved change from 1 January) is replaced from its own first day.
        begin = max(on, today + ONE_DAY, att.begin_date)
        basis = PlaceBasis(att.place_basis)
        address = address_of(person, basis, begin)
        here = session.get(Site, att.site_id)
        if address is not None and address.lat is not None and address.lon is not None:
            point, kato = (address.lat, address.lon), address.kato_code
        elif here is not None:
            point, kato = (here.lat, here.lon), address.kato_code if address else here.kato_code
        else:
            point, kato = None, None
        target = (
            None
            if point is None
            else nearest_place(
                session,
                lat=point[0],
                lon=point[1],
                day=begin,
                exclude=entity_id,
                age=age_on(person.birth_date, begin),
                policy=policy,
                limit=candidates,
                kato=kato,
            )
        )
        if target is None:
            unplaced.append(att.person_id)  # kept attached, never detached; the Fund sees them
            continue
        district, site, full = target
        over += full
        new_id, _ = place(
            session,
            events,
            NewAttachment(
                person_id=att.person_id,
                entity_id=site.entity_id,
                site_id=site.id,
                district_id=district.id,
                doctor_id=district.doctor_id,
                basis=basis,
                cause=Cause.REDISTRIBUTION,
                begin=begin,
                decided_on=today,
                insured_until=att.insured_until,
            ),
        )
        new = session.get(Attachment, new_id)
        if new is not None:
            notify.redistributed(session, old=att, new=new, now=clock.now())
        moved += 1
    for att, successor in leaving:
        begin = max(on, today + ONE_DAY)
        if begin > (att.end_date or begin):
            continue
        if not is_participating(session=session, entity_id=successor.entity_id, day=begin):
            unplaced.append(att.person_id)
            continue
        # Their chosen organization takes them from the first day out instead of from 1 January.
        new_id, _ = place(
            session,
            events,
            NewAttachment(
                person_id=att.person_id,
                entity_id=successor.entity_id,
                site_id=successor.site_id,
                district_id=successor.district_id,
                doctor_id=successor.doctor_id,
                basis=PlaceBasis(successor.place_basis),
                cause=Cause.REDISTRIBUTION,
                begin=begin,
                decided_on=today,
                insured_until=successor.insured_until,
            ),
        )
        new = session.get(Attachment, new_id)
        if new is not None:
            notify.redistributed(session, old=att, new=new, now=clock.now())
        moved += 1
    events.add(
        "entity.redistribute",
        "entity",
        entity_id,
        None,
        f"moved {moved}, over capacity {over}, unplaced {len(unplaced)}",
    )
    events.write(session)
    return moved, unplaced


def _ending_after(entity_id: int, on: dt.date) -> tuple[ColumnElement[bool], ...]:
    """Return the conditions of the attachments at an entity that run past its first day out to a planned end."""
    return (
        Attachment.entity_id == entity_id,
        Attachment.end_date.is_not(None),
        Attachment.end_date >= on,
        Attachment.end_date >= Attachment.begin_date,  # one replaced before it took effect never runs
    )


def _leaving_early(session: Session, entity_id: int, on: dt.date) -> list[tuple[Attachment, Attachment]]:
    """Return the attachments at an entity with a planned end on or after its first day out (``on``), each with
    the person's change that follows it (an approved change to another organization from the next day, A-05).
    The caller holds the persons' locks."""
    ending = list(session.scalars(select(Attachment).where(*_ending_after(entity_id, on))))
    found = []
    for att in sorted(ending, key=lambda a: a.person_id):
        successor = session.scalar(
            select(Attachment).where(
                Attachment.person_id == att.person_id,
                Attachment.end_date.is_(None),
                Attachment.entity_id != entity_id,
                Attachment.begin_date > on,
            )
        )
        if successor is not None and att.end_date is not None and successor.begin_date == att.end_date + ONE_DAY:
            found.append((att, successor))
    return found


def nearest_place(
    session: Session,
    *,
    lat: float,
    lon: float,
    day: dt.date,
    exclude: int,
    age: int,
    policy: Policy,
    limit: int,
    kato: str | None,
) -> tuple[District, Site, bool] | None:
    """Return the district that takes a redistributed person (A-94), locked, and whether it takes them over its
    capacity; None when no participating site of a fitting profile is among the ``limit`` nearest.

    In this order: the nearest site of the person's ATU with a free place of a fitting profile; the nearest
    site of the ATU with a district of a fitting profile, over its capacity (its least loaded such district);
    then the same two beyond the ATU. The receiving entity must take part on ``day``, the day the attachment
    takes effect (A-05, B-06).
    """
    fitting: list[tuple[bool, District, Site]] = []  # (in the ATU, district, site), nearest site first
    for found in near(session=session, lat=lat, lon=lon, day=day, limit=limit):
        if found.entity.id == exclude or not under_contract(found.entity.contract_to, day):
            continue
        in_atu = kato is None or same_atu(kato, found.site.kato_code, policy.atu_level)
        for d in sorted(found.site.districts, key=lambda x: x.number):
            if d.active and check_profile(d.profile, age) is None:
                fitting.append((in_atu, d, found.site))
    for in_atu in (True, False):
        here = [(d, s) for a, d, s in fitting if a is in_atu]
        for d, site in here:
            district = lock_district(session, d.id)
            if attached_count(session, district.id) < district.capacity:
                return district, site, False
        if here:
            nearest_site = here[0][1].id
            loads = [
                (attached_count(session, d.id) / max(d.capacity, 1), d.number, d, s)
                for d, s in here
                if s.id == nearest_site
            ]
            _, _, d, site = min(loads, key=lambda t: (t[0], t[1]))
            return lock_district(session, d.id), site, True
    return None


def run_daily(*, session: Session, actor: Actor | None, day: dt.date) -> tuple[int, int, int]:
    """Put due attachments in effect, detach the dead (A-92) and the uninsured (A-91): (in effect, dead, uninsured)."""
    due = list(
        session.scalars(
            select(Application)
            .join(Attachment, Attachment.application_id == Application.id)
            .where(
                Application.state == State.APPROVED.value,
                Attachment.begin_date <= day,
                # one replaced before it took effect (a later change, a redistribution, A-94) never does
                or_(Attachment.end_date.is_(None), Attachment.end_date >= Attachment.begin_date),
            )
        )
    )
    for app in due:
        app.state = State.IN_EFFECT.value
        app.version += 1
        notify.in_effect(
            session,
            app=app,
            now=clock.now(),
            attachment=session.scalar(select(Attachment).where(Attachment.application_id == app.id)),
        )
    # The persons whose attachment ends today, then the districts they leave, each in id order, before any row is
    # ended: the order of the campaign's locks (docs/architecture.md, "District load").
    leaving = session.execute(
        select(Attachment.person_id, Attachment.district_id)
        .join(Person, Person.id == Attachment.person_id)
        .where(Attachment.end_date.is_(None), or_(Person.death_date <= day, Attachment.insured_until < day))
    ).all()
    lock_persons(session, [p for p, _ in leaving])
    lock_loads(session.connection(), [d for _, d in leaving])
    dead = list(
        session.scalars(
            select(Attachment.person_id)
            .join(Person, Person.id == Attachment.person_id)
            .where(Attachment.end_date.is_(None), Person.death_date <= day)
        )
    )
    for person_id in dead:
        detach(session=session, actor=actor, person_id=person_id, reason=EndReason.DEATH, on=day, today=day)
    uninsured = list(
        session.scalars(select(Attachment).where(Attachment.end_date.is_(None), Attachment.insured_until < day))
    )
    lock_persons(session, [a.person_id for a in uninsured])
    events = Events(actor)
    for att in uninsured:
        # the insured term is part of the attachment from the start, so ending it on that
        # day changes no count already taken (snapshots honour insured_until).
        last_day = att.insured_until or day
        if att.begin_date > last_day:
            last_day = att.begin_date - ONE_DAY
        close_attachment(
            session, attachment_id=att.id, person_id=att.person_id, last_day=last_day, reason=EndReason.INSURANCE_ENDED
        )
        events.add("attachment.end", "attachment", att.id, att.person_id, "insurance_ended")
        notify.detached(session, att=att, now=clock.now())
    events.write(session)
    session.flush()
    return len(due), len(dead), len(uninsured)
