"""Attach the generated persons as the campaign would (issue 3, item 10).

Each person is attached to the nearest participating site of the administrative-territorial unit
(ATU) of their permanent address that has a district of a fitting profile with a free place; a share
of them (``GeneratorParams.choice_share``) choose one of the next few sites of the unit instead
(by choice, a little further away). The ATU is the attachment rules' own (``rules.atu_of`` at the
level of the policy in force), the profile fit is ``rules.check_profile``, the capacity is the
district's configured capacity less the open attachments already in the database.

The generator has no families (no legal representation rows), so a child attaches near its own
address like an adult, to a pediatric or GP district. If no site of the unit has a free place of a
fitting profile, the person goes to the nearest free place of the whole country (counted in
``AttachStats.outside_unit``); if there is none at all the person stays unattached (counted too).

The index is in memory: a few thousand sites as unit vectors (numpy), grouped by ATU; distances of a
chunk of persons to the sites of their unit are one matrix product, so the great-circle order is
exact. Everything is deterministic: the draws come from a stream of their own, and persons are
attached in the order they are generated.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from emhana.attachment.campaign.policy import policy_for
from emhana.attachment.enums import Cause, PlaceBasis
from emhana.attachment.models import Attachment
from emhana.attachment.rules import ADULT_AGE, INSURED_CATEGORIES, atu_of, check_profile, years_before
from emhana.devtools.generator.people import AddressRow, PersonRow
from emhana.facilities.inclusion import participating_on
from emhana.facilities.models import District, Entity, Inclusion, Site
from emhana.facilities.rules import InclusionStatus

# id, person_id, entity_id, site_id, district_id, doctor_id, place_basis, cause, begin_date, end_date,
# end_reason, insured_until, application_id, decided_on, created_by
AttachmentRow = tuple[int, int, int, int, int, int | None, str, str, str, None, None, str | None, None, str, None]
ATTACHMENT_COLUMNS = (
    "id",
    "person_id",
    "entity_id",
    "site_id",
    "district_id",
    "doctor_id",
    "place_basis",
    "cause",
    "begin_date",
    "end_date",
    "end_reason",
    "insured_until",
    "application_id",
    "decided_on",
    "created_by",
)
RESIDENCE, FIRST = PlaceBasis.RESIDENCE_PERMANENT.value, Cause.FIRST_ATTACHMENT.value  # read once
NEAREST = 32  # sites of a unit ranked per person before falling back to the whole unit
ADULT, CHILD = 0, 1  # the two profile classes of A-81


@dataclass
class AttachStats:
    attached: int = 0
    by_choice: int = 0
    outside_unit: int = 0
    unattached: int = 0


@dataclass
class _Unit:
    """The participating sites of one ATU: indexes into the network's site arrays and their unit vectors."""

    sites: list[int]
    xyz: Any = None  # numpy (n, 3)


def unit_vectors(lat: Any, lon: Any) -> Any:
    """Points on the unit sphere: the chord between two of them orders pairs like great-circle distance."""
    la, lo = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


@dataclass
class Network:
    """Participating sites with their districts' free places, grouped by ATU, loaded from the database."""

    level: Any
    site_ids: list[int] = field(default_factory=list)
    site_entity: list[int] = field(default_factory=list)
    site_since: list[int] = field(default_factory=list)  # date ordinal the entity was included from
    slots: list[tuple[list[int], list[int]]] = field(default_factory=list)  # (adult, child) district indexes
    district_ids: list[int] = field(default_factory=list)
    district_doctor: list[int | None] = field(default_factory=list)
    free: list[int] = field(default_factory=list)
    units: dict[str, _Unit] = field(default_factory=dict)
    everywhere: _Unit | None = None

    @classmethod
    def load(cls, conn: Connection, day: dt.date) -> Network:
        """Read the sites of entities included on ``day``, their active districts and open attachments."""
        session = Session(bind=conn)
        try:
            level = policy_for(session, day).atu_level
            since = dict(
                session.execute(
                    select(Inclusion.entity_id, func.min(Inclusion.effective_from))
                    .where(Inclusion.status == InclusionStatus.INCLUDED.value, Inclusion.effective_from <= day)
                    .group_by(Inclusion.entity_id)
                ).all()
            )
            sites = session.execute(
                select(Site.id, Site.entity_id, Site.kato_code, Site.lat, Site.lon)
                .join(Entity, Entity.id == Site.entity_id)
                .where(
                    Site.active.is_(True),
                    participating_on(day),
                )
                .order_by(Site.id)
            ).all()
            districts = session.execute(
                select(District.id, District.site_id, District.profile, District.capacity, District.doctor_id)
                .where(District.active.is_(True))
                .order_by(District.site_id, District.number, District.id)
            ).all()
            load = dict(
                session.execute(
                    select(Attachment.district_id, func.count())
                    .where(Attachment.end_date.is_(None))
                    .group_by(Attachment.district_id)
                ).all()
            )
        finally:
            session.close()
        net = cls(level=level)
        index: dict[int, int] = {}
        lat, lon = [], []
        for site_id, entity_id, kato, s_lat, s_lon in sites:
            index[site_id] = len(net.site_ids)
            net.site_ids.append(site_id)
            net.site_entity.append(entity_id)
            start = since.get(entity_id)
            net.site_since.append(start.toordinal() if start else dt.date.min.toordinal())
            net.slots.append(([], []))
            net.units.setdefault(atu_of(kato, level), _Unit([])).sites.append(index[site_id])
            lat.append(s_lat)
            lon.append(s_lon)
        for district_id, site_id, profile, capacity, doctor in districts:
            i = index.get(site_id)
            if i is None:
                continue
            d = len(net.district_ids)
            net.district_ids.append(district_id)
            net.district_doctor.append(doctor)
            net.free.append(max(0, capacity - load.get(district_id, 0)))
            for cls_, age in ((ADULT, ADULT_AGE), (CHILD, 0)):
                if check_profile(profile, age) is None:  # A-81, the rules' own test
                    net.slots[i][cls_].append(d)
        xyz = unit_vectors(lat, lon) if lat else np.zeros((0, 3))
        for unit in net.units.values():
            unit.xyz = xyz[unit.sites]
        net.everywhere = _Unit(list(range(len(net.site_ids))), xyz)
        return net

    def take(self, site: int, cls_: int) -> int | None:
        """Take a place in the site's fitting district with the most free places; return its index."""
        best, room = None, 0
        for d in self.slots[site][cls_]:
            if self.free[d] > room:
                best, room = d, self.free[d]
        if best is not None:
            self.free[best] -= 1
        return best


@dataclass
class People:
    """What the attacher reads of a batch's persons, by position: id, birth date (the day's ordinal), category,
    and their permanent address's KATO code and coordinates (numpy arrays)."""

    pids: list[int]
    born: list[int]
    categories: list[str]
    katos: list[str]
    lats: Any
    lons: Any

    @classmethod
    def of_rows(cls, persons: list[PersonRow], addresses: list[AddressRow]) -> People:
        """The persons of rows (``addresses[i]`` is the permanent address of ``persons[i]``)."""
        days: dict[str, int] = {}
        born = []
        for p in persons:
            day = days.get(p[5])
            if day is None:
                day = days[p[5]] = dt.date.fromisoformat(p[5]).toordinal()
            born.append(day)
        return cls(
            [p[0] for p in persons],
            born,
            [p[7] for p in persons],
            [a[5] for a in addresses],
            np.array([a[7] for a in addresses], dtype=float),
            np.array([a[8] for a in addresses], dtype=float),
        )


class Attacher:
    """Chooses a district for every generated person and formats the attachment rows."""

    def __init__(
        self, net: Network, seed: int, as_of: dt.date, first_id: int, choice_share: float, choice_ranks: int
    ) -> None:
        self.net = net
        self.rng = random.Random(f"{seed}/attach/{first_id}")
        self.as_of = as_of
        self.next_id = first_id
        self.choice_share = choice_share
        self.choice_ranks = choice_ranks
        self.stats = AttachStats()
        self.insured_until = dt.date(as_of.year, 12, 31).isoformat()
        # A person born after this day is under ADULT_AGE on as_of (rules.age_on).
        self.adult_until = years_before(as_of, ADULT_AGE).toordinal()
        self.last = as_of.toordinal() - 1  # the last day an attachment may begin
        self.days: dict[int, str] = {}  # ordinal -> ISO date, formatted once each
        self.atus: dict[str, str] = {}  # KATO code -> its ATU at the policy's level

    def _day(self, ordinal: int) -> str:
        day = self.days.get(ordinal)
        if day is None:
            day = self.days[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        return day

    def attach(
        self,
        persons: list[PersonRow],
        addresses: list[AddressRow],
        start: int,
        out: list[AttachmentRow],
        end: int | None = None,
    ) -> None:
        """Attach persons[start:end] (whose permanent addresses are addresses[start:end]) and append their rows."""
        end = len(persons) if end is None else end
        self.attach_people(People.of_rows(persons[start:end], addresses[start:end]), 0, out, end - start)

    def attach_people(self, people: People, start: int, out: list[AttachmentRow], end: int | None = None) -> None:
        """``attach`` of persons given by position (``People``): the same draws, places and rows."""
        end = len(people.pids) if end is None else end
        groups: dict[str, list[int]] = {}
        atus, level, katos = self.atus, self.net.level, people.katos
        for i in range(start, end):
            kato = katos[i]
            atu = atus.get(kato)
            if atu is None:
                atu = atus[kato] = atu_of(kato, level)
            group = groups.get(atu)
            if group is None:
                groups[atu] = [i]
            else:
                group.append(i)
        chosen: dict[int, tuple[int, int]] = {}
        adult_until, born = self.adult_until, people.born
        classes = [CHILD if born[i] > adult_until else ADULT for i in range(start, end)]  # by i - start
        for atu, members in groups.items():
            unit = self.net.units.get(atu)
            for i, placed in zip(members, self._place(unit, people, classes, start, members), strict=True):
                if placed is None:
                    placed = self._anywhere(people, classes[i - start], i)
                    if placed is not None:
                        self.stats.outside_unit += 1
                if placed is not None:
                    chosen[i] = placed
        row = self._row
        pids, categories = people.pids, people.categories
        for i in range(start, end):  # rows in person order, whatever the grouping
            placed = chosen.get(i)
            if placed is not None:
                out.append(row(pids[i], born[i], categories[i], *placed))
            else:
                self.stats.unattached += 1

    def _ranked(self, unit: _Unit, people: People, members: list[int], k: int) -> Any:
        """Return for each member the indexes (into unit.sites) of its k nearest sites, nearest first."""
        pts = unit_vectors(people.lats[members], people.lons[members])
        dots = pts @ unit.xyz.T  # larger dot = nearer
        if k >= dots.shape[1]:
            return np.argsort(-dots, axis=1, kind="stable")
        part = np.argpartition(-dots, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(dots, part, axis=1), axis=1, kind="stable")
        return np.take_along_axis(part, order, axis=1)

    def _place(
        self, unit: _Unit | None, people: People, classes: list[int], start: int, members: list[int]
    ) -> list[tuple[int, int] | None]:
        if unit is None or not unit.sites:
            return [None] * len(members)
        out: list[tuple[int, int] | None] = []
        heads = 1 + self.choice_ranks  # the nearest and those chosen instead: usually all of a ranking read
        for lo in range(0, len(members), 4096):  # bounded matrices
            part = members[lo : lo + 4096]
            ranked = self._ranked(unit, people, part, NEAREST)
            for row, (i, head) in enumerate(zip(part, ranked[:, :heads].tolist(), strict=True)):
                out.append(self._choose(unit, people, classes[i - start], i, head, ranked, row))
        return out

    def _choose(
        self, unit: _Unit, people: People, cls_: int, i: int, head: list[int], ranked: Any, row: int
    ) -> tuple[int, int] | None:
        """The site and district of person ``i`` of a unit, ranked ``ranked[row]`` (whose first ones are
        ``head``)."""
        net, r = self.net, self.rng.random
        sites, take = unit.sites, net.take
        ranks = ranked.shape[1]
        if ranks > 1 and r() < self.choice_share:
            # By choice: one of the next few sites of the unit, if it has a fitting free place.
            pick = head[1 + int(r() * min(self.choice_ranks, ranks - 1))]
            d = take(sites[pick], cls_)
            if d is not None:
                self.stats.by_choice += 1
                return sites[pick], d
        for j in head:
            d = take(sites[j], cls_)
            if d is not None:
                return sites[j], d
        order = ranked[row].tolist()
        for j in order[len(head) :]:
            d = take(sites[j], cls_)
            if d is not None:
                return sites[j], d
        if len(order) < len(sites):  # the k nearest were full: the rest of the unit
            rest = self._ranked(unit, people, [i], len(sites))[0].tolist()
            for j in rest[len(order) :]:
                d = take(sites[j], cls_)
                if d is not None:
                    return sites[j], d
        return None

    def _anywhere(self, people: People, cls_: int, i: int) -> tuple[int, int] | None:
        unit = self.net.everywhere
        if unit is None or not unit.sites:
            return None
        for j in self._ranked(unit, people, [i], len(unit.sites))[0].tolist():
            d = self.net.take(unit.sites[j], cls_)
            if d is not None:
                return unit.sites[j], d
        return None

    def _row(self, pid: int, born: int, category: str, site: int, district: int) -> AttachmentRow:
        """An open first attachment that began before the as-of day, on the permanent residence (of a person born
        on the day of ordinal ``born``)."""
        net = self.net
        first = born
        since = net.site_since[site]
        if since > first:
            first = since
        last = self.last
        begin = last - int(self.rng.random() * min(max(0, last - first), 3650))
        decided = max(first, begin - 1)
        row: AttachmentRow = (
            self.next_id,
            pid,
            net.site_entity[site],
            net.site_ids[site],
            net.district_ids[district],
            net.district_doctor[district],
            RESIDENCE,
            FIRST,
            self._day(begin),
            None,
            None,
            self.insured_until if category in INSURED_CATEGORIES else None,
            None,
            self._day(decided),
            None,
        )
        self.next_id += 1
        self.stats.attached += 1
        return row
