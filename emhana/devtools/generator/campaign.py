"""A campaign's history, replayed through the campaign's own services: applications on every working day of the
period up to the demo's day, on eGov, in person and in writing, approved at once, refused by the rules (each
refusal counted by reason as a real one is), queued for a registrar who decides them later, transfers between
organizations, and one exclusion of an organization from the database with the redistribution of its people
(A-94). Every row is written by the service that writes it in production, at the moment the process clock says,
so the history is consistent: hash chains, notices, outbox, audit events, refusal counters.

The people applying get a portal account without a password (a person who signs in with an EDS); registrars of
each organization an account of their own. The draws are seeded: the same database and seed give the same history.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import Actor, actor_of, create_account
from emhana.attachment.application import service
from emhana.attachment.campaign.calendar import is_working_day, next_working_day
from emhana.attachment.enums import Channel, DocKind, PlaceBasis
from emhana.attachment.models import Application, Attachment
from emhana.attachment.rules import ACTUAL_RESIDENCE_AGE, ADULT_AGE, Policy, age_on, atu_of, check_profile
from emhana.attachment.schemas import ApplicationIn, DecisionIn, DocumentIn
from emhana.facilities.inclusion import participating_on
from emhana.facilities.models import District, Entity, Site
from emhana.facilities.rules import InclusionStatus
from emhana.facilities.service import change_inclusion
from emhana.identity.models import IdentityDocument, LegalRepresentation, Person, PersonAddress
from emhana.kernel import clock
from emhana.kernel.errors import RegistryError

OPEN, CLOSE = 9 * 60, 18 * 60  # minutes of the working day applications arrive in (KZ time)
CHANNELS = ((Channel.EGOV, 0.78), (Channel.IN_PERSON, 0.12), (Channel.WRITTEN, 0.10))
WRONG_UNIT, WRONG_PROFILE, NO_ADDRESS, OVER_LIMIT, EXCLUDED = 0.05, 0.03, 0.03, 0.04, 0.02  # refused on purpose
REGISTRAR_REFUSES = 0.15  # written applications a registrar refuses
REGISTRAR_REASONS = ("attachment.documents_inaccurate", "attachment.requirements_not_met")
EXCLUSION_AT = 0.6  # how far through the history the Fund excludes an organization (B-05, A-94)
SCAN = b"%PDF-1.4\n% scanned written application (synthetic)\n"


@dataclass
class HistoryStats:
    applications: int = 0
    approved: int = 0
    queued: int = 0
    decided: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    excluded_entity: int | None = None
    redistributed: int = 0


@dataclass(frozen=True)
class Place:
    kato: str
    lat: float
    lon: float


@dataclass
class Someone:
    """A person as the replay knows them: addresses by kind, current organization, parent."""

    id: int
    iin: str
    name: str
    born: dt.date
    places: dict[str, Place] = field(default_factory=dict)
    entity: int | None = None
    parent: int | None = None
    changes: int = 0
    busy: bool = False  # an application of theirs waits for a registrar


@dataclass(frozen=True)
class SiteFacts:
    id: int
    entity: int
    kato: str
    lat: float
    lon: float
    adult: tuple[int, ...]
    child: tuple[int, ...]


def distance2(a: Place, s: SiteFacts) -> float:
    """A squared planar distance, good enough to order the sites of one unit."""
    return (a.lat - s.lat) ** 2 + ((a.lon - s.lon) * math.cos(math.radians(a.lat))) ** 2


class World:
    """What the replay draws from: the people, the participating sites by unit, the accounts that act."""

    def __init__(self, session: Session, policy: Policy, day: dt.date, keep_out: set[int]) -> None:
        self.session, self.policy, self.day = session, policy, day
        self.people: dict[int, Someone] = {}
        for pid, iin, surname, given, born in session.execute(
            select(Person.id, Person.iin, Person.surname, Person.given_name, Person.birth_date).where(
                Person.death_date.is_(None)
            )
        ):
            if pid not in keep_out:
                self.people[pid] = Someone(pid, iin, f"{surname} {given}", born)
        for pid, kind, kato, lat, lon, until in session.execute(
            select(
                PersonAddress.person_id,
                PersonAddress.kind,
                PersonAddress.kato_code,
                PersonAddress.lat,
                PersonAddress.lon,
                PersonAddress.valid_to,
            ).where(PersonAddress.lat.is_not(None))
        ):
            if pid in self.people and lat is not None and lon is not None and (until is None or until >= day):
                self.people[pid].places[kind] = Place(kato, lat, lon)
        for pid, entity in session.execute(
            select(Attachment.person_id, Attachment.entity_id).where(Attachment.end_date.is_(None))
        ):
            if pid in self.people:
                self.people[pid].entity = entity
        for parent, child in session.execute(
            select(LegalRepresentation.representative_id, LegalRepresentation.represented_id).where(
                LegalRepresentation.valid_to >= day
            )
        ):
            if child in self.people and parent in self.people:
                self.people[child].parent = parent
        self.ids = sorted(self.people)
        self.sites: dict[str, list[SiteFacts]] = defaultdict(list)
        districts: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for did, site, profile in session.execute(
            select(District.id, District.site_id, District.profile).where(District.active.is_(True))
        ):
            districts[site].append((did, profile))
        for sid, entity, kato, lat, lon in session.execute(
            select(Site.id, Site.entity_id, Site.kato_code, Site.lat, Site.lon)
            .join(Entity, Entity.id == Site.entity_id)
            .where(Site.active.is_(True), participating_on(day))
            .order_by(Site.id)
        ):
            own = districts.get(sid, [])
            grown = tuple(d for d, p in own if check_profile(p, ADULT_AGE) is None)
            young = tuple(d for d, p in own if check_profile(p, 0) is None)
            self.sites[atu_of(kato, policy.atu_level)].append(SiteFacts(sid, entity, kato, lat, lon, grown, young))
        self.accounts: dict[tuple[str, int], Actor] = {}

    def citizen(self, person: Someone) -> Actor:
        """The portal account of a person (signed in with an EDS: no local password)."""
        key = ("citizen", person.id)
        if key not in self.accounts:
            account = self.session.scalar(select(Account).where(Account.person_id == person.id).limit(1))
            if account is None:
                account = create_account(
                    session=self.session,
                    username=f"egov-{person.iin}",
                    password=None,
                    role=Role.CITIZEN,
                    display_name=person.name,
                    person_id=person.id,
                )
            self.accounts[key] = actor_of(account)
        return self.accounts[key]

    def registrar(self, entity_id: int) -> Actor:
        """A registrar of an organization (the demo's own where it is the demo registrar's)."""
        key = ("registrar", entity_id)
        if key not in self.accounts:
            account = self.session.scalar(
                select(Account)
                .where(Account.role == Role.REGISTRAR.value, Account.entity_id == entity_id)
                .order_by(Account.id)
                .limit(1)
            )
            if account is None:
                account = create_account(
                    session=self.session,
                    username=f"registrar-{entity_id}",
                    password=None,
                    role=Role.REGISTRAR,
                    display_name=f"Registrar {entity_id}",
                    entity_id=entity_id,
                )
            self.accounts[key] = actor_of(account)
        return self.accounts[key]

    def nearby(self, place: Place, child: bool, other_than: int | None, unit: str | None = None) -> list[SiteFacts]:
        """Sites of the place's unit (or another unit) with a fitting district, nearest first, not of an entity."""
        sites = self.sites.get(unit or atu_of(place.kato, self.policy.atu_level), [])
        fit = [s for s in sites if (s.child if child else s.adult) and s.entity != other_than]
        return sorted(fit, key=lambda s: distance2(place, s))


def working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """The working days from ``start`` to ``end`` inclusive (the Kazakh calendar)."""
    days, day = [], start
    while day <= end:
        if is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def spread(total: int, days: list[dt.date]) -> list[int]:
    """Applications per day: many at the opening, a rise before the close, a steady flow between."""
    n = len(days)
    weights = [1 + 2.5 * math.exp(-i / 3) + 1.5 * math.exp(-(n - 1 - i) / 4) for i in range(n)]
    mass = sum(weights)
    return [round(total * w / mass) for w in weights]


class Replay:
    """One campaign's history, day by day, through the services."""

    def __init__(self, world: World, seed: int, stats: HistoryStats) -> None:
        self.w, self.r, self.stats = world, random.Random(f"{seed}/campaign"), stats
        self.waiting: list[tuple[dt.datetime, int, int]] = []  # (decide at, application id, entity)
        self.excluded: int | None = None
        self.excluded_sites: list[SiteFacts] = []
        self.clock = clock.Fixed(dt.datetime.combine(world.day, dt.time(OPEN // 60), tzinfo=clock.KZ_TIME))

    def moment(self, day: dt.date) -> dt.datetime:
        minutes = OPEN + int(self.r.random() * (CLOSE - OPEN))
        return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=clock.KZ_TIME)

    def channel(self) -> Channel:
        x, acc = self.r.random(), 0.0
        for ch, share in CHANNELS:
            acc += share
            if x < acc:
                return ch
        return Channel.EGOV

    def pick(self) -> Someone:
        ids = self.w.ids
        while True:
            p = self.w.people[ids[int(self.r.random() * len(ids))]]
            if not p.busy and (self.excluded is None or p.entity != self.excluded):
                return p

    def application(self, at: dt.datetime) -> None:
        """Draw one application and file it as its channel files it; a few go wrong on purpose, as people's do."""
        p, w = self.pick(), self.w
        age = age_on(p.born, at.date())
        child = age < ADULT_AGE
        if child and p.parent is None:
            return
        basis, place = self.basis(p, age)
        if place is None:
            return
        x = self.r.random()
        wrong_unit = x < WRONG_UNIT  # a clinic across the unit's border: AtuMismatch
        wrong_profile = not child and WRONG_UNIT <= x < WRONG_UNIT + WRONG_PROFILE  # ProfileMismatch
        no_address = not child and WRONG_UNIT + WRONG_PROFILE <= x < WRONG_UNIT + WRONG_PROFILE + NO_ADDRESS
        unit = None
        if wrong_unit:
            units = sorted(u for u in w.sites if u != atu_of(place.kato, w.policy.atu_level))
            unit = units[int(self.r.random() * len(units))] if units else None
        sites = w.nearby(place, child or wrong_profile, p.entity, unit)
        if x >= 1 - EXCLUDED and self.excluded_sites:  # the excluded organization: EntityNotParticipating
            sites = self.excluded_sites
        if not sites:
            return
        site = sites[min(int(self.r.random() ** 2 * 4), len(sites) - 1)]
        districts = site.child if child else site.adult
        if wrong_profile:
            districts = tuple(d for d in site.child if d not in site.adult) or districts
        if no_address:
            basis = PlaceBasis.WORK if "work" not in p.places else PlaceBasis.RESIDENCE_TEMPORARY
        if not districts:
            return
        district = districts[int(self.r.random() * len(districts))]
        channel = self.channel() if not child else Channel.EGOV
        self.file(p, site, district, basis, channel, at)
        if x >= 1 - OVER_LIMIT - EXCLUDED and p.changes >= w.policy.max_voluntary_changes_per_year:
            self.file(p, site, district, basis, Channel.EGOV, at + dt.timedelta(minutes=7))  # once too many: A-41

    def basis(self, p: Someone, age: int) -> tuple[PlaceBasis, Place | None]:
        """The address a person applies by: actual residence for a child under 5 (A-23), sometimes work or
        study (A-21), else the registration address."""
        r = self.r.random()
        if age < ACTUAL_RESIDENCE_AGE and "actual" in p.places:
            return PlaceBasis.ACTUAL_RESIDENCE, p.places["actual"]
        if age >= ADULT_AGE and "work" in p.places and r < 0.25:
            return PlaceBasis.WORK, p.places["work"]
        if 18 <= age <= 22 and "study" in p.places and r < 0.5:
            return PlaceBasis.STUDY, p.places["study"]
        return PlaceBasis.RESIDENCE_PERMANENT, p.places.get("permanent")

    def file(
        self, p: Someone, site: SiteFacts, district: int, basis: PlaceBasis, channel: Channel, at: dt.datetime
    ) -> None:
        w = self.w
        self.clock.set(at)
        applicant = w.people.get(p.parent) if p.parent is not None else None
        documents: list[DocumentIn] = []
        if channel is Channel.EGOV:
            actor = w.citizen(applicant or p)
        else:
            actor = w.registrar(site.entity)
            documents = self.presented(p, channel)
        data = ApplicationIn(
            person_id=p.id,
            district_id=district,
            place_basis=basis,
            applicant_person_id=applicant.id if applicant is not None and channel is not Channel.EGOV else None,
            documents=documents,
        )
        uploads = [service.Upload("application.pdf", "application/pdf", SCAN)] if channel is Channel.WRITTEN else []
        self.stats.applications += 1
        try:
            app = service.submit(session=w.session, actor=actor, data=data, channel=channel, uploads=uploads, now=at)
        except RegistryError as exc:
            self.stats.refused[exc.code] = self.stats.refused.get(exc.code, 0) + 1
            return
        if app.state == "approved":
            self.stats.approved += 1
            p.entity, p.changes = site.entity, p.changes + 1
        else:
            self.stats.queued += 1
            p.busy = True
            later = next_working_day(at.date() + dt.timedelta(days=int(self.r.random() * 3)))  # 1-3 days on
            self.waiting.append((self.moment(later), app.id, site.entity))

    def presented(self, p: Someone, channel: Channel) -> list[DocumentIn]:
        """The documents a person brings to the registrar: the identity document on file, the application form."""
        docs = [
            DocumentIn(kind=DocKind(kind), number=number, expires_on=until)
            for kind, number, until in self.w.session.execute(
                select(IdentityDocument.kind, IdentityDocument.number, IdentityDocument.expires_on)
                .where(IdentityDocument.person_id == p.id)
                .order_by(IdentityDocument.id)
                .limit(1)
            )
        ]
        if channel is Channel.WRITTEN:
            docs.insert(0, DocumentIn(kind=DocKind.WRITTEN_APPLICATION, number=f"W-{p.id}"))
        return docs

    def decide_due(self, until: dt.datetime) -> None:
        """Let the registrars decide the queued applications whose time has come (A-52)."""
        due = sorted(x for x in self.waiting if x[0] <= until)
        self.waiting = [x for x in self.waiting if x[0] > until]
        for at, app_id, entity in due:
            self.clock.set(at)
            app = self.w.session.get(Application, app_id)
            if app is None or app.state != "submitted" or entity == self.excluded:
                continue
            refuse = self.r.random() < REGISTRAR_REFUSES
            data = DecisionIn(
                decision="refuse" if refuse else "approve",
                reason_code=REGISTRAR_REASONS[int(self.r.random() * 2)] if refuse else None,
                note="Документы проверены" if not refuse else "Сведения в заявлении не совпадают с документами",
            )
            try:
                service.decide(
                    session=self.w.session,
                    actor=self.w.registrar(entity),
                    application_id=app_id,
                    expected_version=app.version,
                    data=data,
                    now=at,
                )
            except RegistryError as exc:
                self.stats.refused[exc.code] = self.stats.refused.get(exc.code, 0) + 1
                continue
            self.stats.decided += 1
            person = self.w.people.get(app.person_id)
            if person is not None:
                person.busy = False
                if not refuse:
                    person.entity, person.changes = entity, person.changes + 1

    def leave_waiting(self, entity: int, day: dt.date, count: int) -> None:
        """File a few written applications to an organization on the last day of the history, left in its
        registrar's queue with their deadlines (A-51, A-52)."""
        w, level = self.w, self.w.policy.atu_level
        sites = [s for units in w.sites.values() for s in units if s.entity == entity and s.adult]
        units = {atu_of(s.kato, level) for s in sites}
        queued = self.stats.queued
        for pid in w.ids:
            p = w.people[pid]
            home = p.places.get("permanent")
            if self.stats.queued - queued >= count:
                return
            if p.busy or p.entity == entity or home is None or age_on(p.born, day) < ADULT_AGE:
                continue
            if atu_of(home.kato, level) in units:
                site = min(
                    sites,
                    key=lambda s: distance2(home, s) if atu_of(s.kato, level) == atu_of(home.kato, level) else 9e9,
                )
                self.file(p, site, site.adult[0], PlaceBasis.RESIDENCE_PERMANENT, Channel.WRITTEN, self.moment(day))

    def exclude(self, day: dt.date, fund: Actor | None, keep: set[int]) -> None:
        """The Fund excludes the smallest organization of a unit with others (its licence revoked); the campaign
        redistributes its people to the nearest participating sites (A-94)."""
        self.clock.set(dt.datetime.combine(day, dt.time(11), tzinfo=clock.KZ_TIME))
        session = self.w.session
        counts = dict(
            session.execute(
                select(Attachment.entity_id, func.count())
                .where(Attachment.end_date.is_(None))
                .group_by(Attachment.entity_id)
            ).all()
        )
        crowded = {s.entity for sites in self.w.sites.values() if len({x.entity for x in sites}) >= 3 for s in sites}
        candidates = sorted((n, e) for e, n in counts.items() if e in crowded and e not in keep and n >= 5)
        if not candidates:
            return
        entity = session.get(Entity, candidates[0][1])
        if entity is None:
            return
        before = counts.get(entity.id, 0)
        change_inclusion(
            session=session,
            actor=fund,
            entity=entity,
            status=InclusionStatus.EXCLUDED,
            effective_from=day + dt.timedelta(days=1),
            reason="Лицензия отозвана (демонстрация)",
        )
        self.excluded = entity.id
        self.stats.excluded_entity = entity.id
        self.stats.redistributed = before
        for sites in self.w.sites.values():
            self.excluded_sites += [s for s in sites if s.entity == entity.id]
            sites[:] = [s for s in sites if s.entity != entity.id]


def replay(
    session: Session,
    *,
    policy: Policy,
    until: dt.date,
    seed: int,
    total: int,
    keep_out: set[int],
    keep_entities: set[int],
    fund: Actor | None,
    queue_at: int | None = None,
    waiting: int = 3,
) -> HistoryStats:
    """Replay ``total`` applications over the working days of the policy's period before ``until``, under a
    fixed process clock moved to each moment, leaving ``waiting`` written applications in the queue of the
    organization ``queue_at``; see the module docstring."""
    stats = HistoryStats()
    last = min(until - dt.timedelta(days=1), policy.window_end)
    days = working_days(policy.window_start, last)
    if not days or total <= 0:
        return stats
    world = World(session, policy, policy.window_start, keep_out)
    if not world.ids:
        return stats
    run = Replay(world, seed, stats)
    exclusion_day = days[min(len(days) - 1, int(len(days) * EXCLUSION_AT))]
    with clock.use(run.clock):
        for day, n in zip(days, spread(total, days), strict=True):
            if day == exclusion_day:
                run.decide_due(dt.datetime.combine(day, dt.time(10, 59), tzinfo=clock.KZ_TIME))
                run.exclude(day, fund, keep_entities)
            for at in sorted(run.moment(day) for _ in range(n)):
                run.decide_due(at)
                run.application(at)
        if queue_at is not None:
            run.leave_waiting(queue_at, days[-1], waiting)
    return stats  # the last days' written applications wait in the registrars' queues on the demo day
