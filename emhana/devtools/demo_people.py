"""The people the demo's journeys start from (1-4 and 10): the demo citizen, a parent with a child under
5 and a child of 5-17 whom she represents on their birth certificates, who lives elsewhere than at her registration
address; a neighbour of hers who represents nobody; a pensioner near the demo registrar's polyclinic who brings a
written application; and an organization of the same city the Fund may exclude. They are chosen among the generated
people (the same seed, the same people) and kept out of the replayed campaign history, so that each journey starts
clean."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.service import DEMO_PREFIX
from emhana.attachment.models import Application, Attachment
from emhana.attachment.rules import REPUBLICAN_CITIES, age_on
from emhana.facilities.inclusion import participating_on
from emhana.facilities.models import Entity, Site
from emhana.identity.models import IdentityDocument, LegalRepresentation, Person, PersonAddress
from emhana.identity.schemas import AddressKind, Category, DocumentKind

PENSION_AGE = 63  # old enough to be a pensioner of either sex (A-61: the pension certificate)


@dataclass(frozen=True)
class Family:
    parent: Person
    infant: Person  # under 5: attached by actual residence
    pupil: Person | None  # 5-17


def _valid_id(session: Session, person_ids: list[int], day: dt.date) -> set[int]:
    """The persons among ``person_ids`` with an ID card or passport valid on the day."""
    rows = session.scalars(
        select(IdentityDocument.person_id).where(
            IdentityDocument.person_id.in_(person_ids),
            IdentityDocument.kind.in_([DocumentKind.ID_CARD.value, DocumentKind.PASSPORT.value]),
            (IdentityDocument.expires_on.is_(None)) | (IdentityDocument.expires_on >= day),
        )
    )
    return set(rows)


def pick_family(session: Session, day: dt.date, taken: set[int]) -> Family | None:
    """Choose the demo citizen's family: a parent (with a valid ID card) of a child under 5 and, where one exists,
    a child of 5-17, best in a city of republican significance and already living at an actual address."""
    kids: dict[int, list[Person]] = defaultdict(list)
    rows = session.execute(
        select(LegalRepresentation.representative_id, Person)
        .join(Person, Person.id == LegalRepresentation.represented_id)
        .where(LegalRepresentation.valid_from <= day, LegalRepresentation.valid_to >= day)
        .order_by(LegalRepresentation.representative_id, Person.birth_date)
    )
    for parent_id, child in rows:
        if parent_id not in taken:
            kids[parent_id].append(child)
    candidates = [p for p, ks in kids.items() if any(age_on(k.birth_date, day) < 5 for k in ks)]
    if not candidates:
        return None
    valid = _valid_id(session, candidates, day)
    places = {
        pid: (kind, kato)
        for pid, kind, kato in session.execute(
            select(PersonAddress.person_id, PersonAddress.kind, PersonAddress.kato_code).where(
                PersonAddress.person_id.in_(candidates)
            )
        )
        if kind in (AddressKind.PERMANENT.value, AddressKind.ACTUAL.value)
    }
    actual = set(
        session.scalars(
            select(PersonAddress.person_id).where(
                PersonAddress.person_id.in_(candidates), PersonAddress.kind == AddressKind.ACTUAL.value
            )
        )
    )

    def rank(pid: int) -> tuple[int, int, int, int]:
        ages = [age_on(k.birth_date, day) for k in kids[pid]]
        both = any(a < 5 for a in ages) and any(5 <= a < 18 for a in ages)
        city = places.get(pid, ("", ""))[1][:2] in REPUBLICAN_CITIES
        return (not both, pid not in actual, not city, pid)

    best = min((p for p in candidates if p in valid), key=rank, default=None)
    if best is None:
        return None
    parent = session.get(Person, best)
    if parent is None or parent.category != Category.CITIZEN.value:
        return None
    ordered = kids[best]
    infant = next(k for k in ordered if age_on(k.birth_date, day) < 5)
    pupil = next((k for k in ordered if 5 <= age_on(k.birth_date, day) < 18), None)
    return Family(parent, infant, pupil)


def give_actual_address(session: Session, family: Family, day: dt.date) -> PersonAddress | None:
    """Make sure the parent and the infant live at an actual address other than the registration address, the
    same for both (another registration address of the parent's city, as the generator's moves are)."""
    home = _address(family.parent, AddressKind.PERMANENT, day)
    actual = _address(family.parent, AddressKind.ACTUAL, day)
    if home is None:
        return None
    if actual is None:
        other = session.scalar(
            select(PersonAddress)
            .where(
                PersonAddress.kind == AddressKind.PERMANENT.value,
                PersonAddress.kato_code == home.kato_code,
                PersonAddress.person_id != family.parent.id,
                PersonAddress.lat.is_not(None),
                (PersonAddress.lat != home.lat) | (PersonAddress.lon != home.lon),
            )
            .order_by(PersonAddress.id)
            .limit(1)
        )
        if other is None:
            return None
        actual = _copy(other, family.parent.id, day)
        session.add(actual)
    if _address(family.infant, AddressKind.ACTUAL, day) is None:
        session.add(_copy(actual, family.infant.id, day))
    session.flush()
    return actual


def _address(person: Person, kind: AddressKind, day: dt.date) -> PersonAddress | None:
    return next(
        (a for a in person.addresses if a.kind == kind.value and (a.valid_to is None or a.valid_to >= day)), None
    )


def _copy(a: PersonAddress, person_id: int, day: dt.date) -> PersonAddress:
    return PersonAddress(
        person_id=person_id,
        kind=AddressKind.ACTUAL.value,
        text_kk=a.text_kk,
        text_ru=a.text_ru,
        kato_code=a.kato_code,
        kato_version=a.kato_version,
        lat=a.lat,
        lon=a.lon,
        valid_from=day - dt.timedelta(days=90),
        valid_to=None,
    )


def pick_neighbour(session: Session, parent: Person, day: dt.date, taken: set[int]) -> Person | None:
    """An adult of the parent's settlement with a valid ID card who represents no one (journey 2's neighbour)."""
    home = _address(parent, AddressKind.PERMANENT, day)
    if home is None:
        return None
    representatives = select(LegalRepresentation.representative_id)
    people = list(
        session.scalars(
            select(Person.id)
            .join(PersonAddress, PersonAddress.person_id == Person.id)
            .where(
                PersonAddress.kind == AddressKind.PERMANENT.value,
                PersonAddress.kato_code == home.kato_code,
                Person.birth_date <= day.replace(year=day.year - 25),
                Person.birth_date >= day.replace(year=day.year - 60),
                Person.death_date.is_(None),
                Person.id.not_in(representatives),
                Person.id.not_in(taken or {0}),
            )
            .order_by(Person.id)
            .limit(50)
        )
    )
    valid = _valid_id(session, people, day)
    chosen = next((p for p in people if p in valid), None)
    return session.get(Person, chosen) if chosen is not None else None


def pick_pensioner(session: Session, entity_id: int | None, day: dt.date, taken: set[int]) -> Person | None:
    """A pensioner registered in the settlement of one of the organization's sites, attached elsewhere when one
    is (journey 3: he brings a written application and his pension certificate to its registrar)."""
    if entity_id is None:
        return None
    katos = set(session.scalars(select(Site.kato_code).where(Site.entity_id == entity_id, Site.active.is_(True))))
    attached_here = select(Attachment.person_id).where(Attachment.entity_id == entity_id, Attachment.end_date.is_(None))
    people = list(
        session.execute(
            select(Person.id, Person.id.in_(attached_here))
            .join(PersonAddress, PersonAddress.person_id == Person.id)
            .where(
                PersonAddress.kind == AddressKind.PERMANENT.value,
                PersonAddress.kato_code.in_(katos),
                Person.birth_date <= day.replace(year=day.year - PENSION_AGE),
                Person.death_date.is_(None),
                Person.category == Category.CITIZEN.value,
                Person.id.not_in(taken or {0}),
            )
            .order_by(Person.id)
        )
    )
    valid = _valid_id(session, [p for p, _ in people], day)
    ranked = sorted((here, pid) for pid, here in people if pid in valid)
    return session.get(Person, ranked[0][1]) if ranked else None


def pick_exclusion(session: Session, near: Person | None, keep: set[int], day: dt.date) -> Entity | None:
    """An organization of the demo citizen's unit the Fund may exclude in journey 4 (not one the demo's staff work
    for, nor the citizen's own), with people to redistribute: the one with the fewest."""
    home = _address(near, AddressKind.PERMANENT, day) if near is not None else None
    prefix = home.kato_code[:2] if home is not None else ""
    rows = session.execute(
        select(Entity, func.count(Attachment.id))
        .join(Site, Site.entity_id == Entity.id)
        .join(Attachment, (Attachment.site_id == Site.id) & Attachment.end_date.is_(None))
        .where(Site.kato_code.like(f"{prefix}%"), Entity.id.not_in(keep or {0}), participating_on(day))
        .group_by(Entity.id)
        .order_by(func.count(Attachment.id), Entity.id)
    ).all()
    return next((e for e, n in rows if n > 0), None)


def demo_entities(session: Session) -> set[int]:
    """The organizations the demo's staff accounts work for."""
    rows = session.scalars(
        select(Account.entity_id).where(Account.username.like(f"{DEMO_PREFIX}%"), Account.entity_id.is_not(None))
    )
    return {e for e in rows if e is not None}


def citizen_person_ids(session: Session) -> set[int]:
    """The persons the demo's accounts stand for."""
    return set(session.scalars(select(Account.person_id).where(Account.person_id.is_not(None))))


@dataclass(frozen=True)
class Starts:
    """Where the journeys of the demo start (printed in the banner; the browser walk reads them from there)."""

    citizen: str  # her name
    home: str  # her registration address
    actual: str  # where she lives
    infant: str  # her child under 5 (name, age)
    pupil: str  # her child of 5-17
    neighbour: str
    pensioner: str  # name
    pensioner_iin: str
    excludable: str  # an organization of her city the Fund may exclude
    excludable_id: int | None


def _named(p: Person | None, day: dt.date) -> str:
    return f"{p.surname} {p.given_name} ({age_on(p.birth_date, day)})" if p is not None else "-"


def starts(session: Session, day: dt.date) -> Starts:
    """Find the journeys' people again (the same picks: the pensioner is the first who has not applied yet)."""
    citizen = session.scalar(
        select(Person).join(Account, Account.person_id == Person.id).where(Account.username == "demo-citizen")
    )
    neighbour = session.scalar(
        select(Person).join(Account, Account.person_id == Person.id).where(Account.username == "demo-neighbour")
    )
    kids = (
        list(
            session.scalars(
                select(Person)
                .join(LegalRepresentation, LegalRepresentation.represented_id == Person.id)
                .where(LegalRepresentation.representative_id == citizen.id, LegalRepresentation.valid_to >= day)
                .order_by(Person.birth_date.desc())
            )
        )
        if citizen is not None
        else []
    )
    infant = next((k for k in kids if age_on(k.birth_date, day) < 5), None)
    pupil = next((k for k in kids if 5 <= age_on(k.birth_date, day) < 18), None)
    staff = demo_entities(session)
    applied = set(session.scalars(select(Application.person_id)))
    taken = citizen_person_ids(session) | {k.id for k in kids} | applied
    pensioner = pick_pensioner(session, min(staff, default=None), day, taken)
    demo_people = set(
        session.scalars(
            select(Account.person_id).where(Account.username.like(f"{DEMO_PREFIX}%"), Account.person_id.is_not(None))
        )
    ) | {k.id for k in kids}
    mine = set(  # the clinics of the demo's own people (not of every citizen with an eGov account)
        session.scalars(
            select(Attachment.entity_id).where(Attachment.person_id.in_(demo_people), Attachment.end_date.is_(None))
        )
    )
    excludable = pick_exclusion(session, citizen, staff | mine, day)
    home = _address(citizen, AddressKind.PERMANENT, day) if citizen is not None else None
    actual = _address(citizen, AddressKind.ACTUAL, day) if citizen is not None else None
    return Starts(
        citizen=_named(citizen, day),
        home=(home.text_ru or "") if home is not None else "-",
        actual=(actual.text_ru or "") if actual is not None else "-",
        infant=_named(infant, day),
        pupil=_named(pupil, day),
        neighbour=_named(neighbour, day),
        pensioner=_named(pensioner, day),
        pensioner_iin=pensioner.iin if pensioner is not None else "",
        excludable=excludable.name_ru if excludable is not None else "-",
        excludable_id=excludable.id if excludable is not None else None,
    )
