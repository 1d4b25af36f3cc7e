"""Use cases of the identity domain: register and read persons, legal representation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from emhana.accounts.roles import Can, Role, may
from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.identity.models import IdentityDocument, LegalRepresentation, Person, PersonAddress, PersonPhone
from emhana.identity.schemas import PersonIn, RepresentationIn
from emhana.kernel import clock
from emhana.kernel.errors import DuplicateIIN, Forbidden, InvalidInput, NotFound
from emhana.reference.loader import KATO_VERSION
from emhana.reference.service import check_places

# Roles that may read any person's identity data for their work; a citizen reads only their own
# and that of the people they legally represent.


def create_person(*, session: Session, actor: Actor, data: PersonIn) -> Person:
    """Register a person; refuse a duplicate IIN, an unknown KATO code or a point outside Kazakhstan."""
    if session.scalar(select(Person.id).where(Person.iin == data.iin)) is not None:
        raise DuplicateIIN()
    check_places(session, ((a.kato_code, a.lat, a.lon) for a in data.addresses))
    person = Person(
        iin=data.iin,
        surname=data.surname,
        given_name=data.given_name,
        patronymic=data.patronymic,
        birth_date=data.birth_date,
        sex=data.sex,
        category=data.category.value,
        death_date=data.death_date,
    )
    person.addresses = [
        PersonAddress(
            kind=a.kind.value,
            text_kk=a.text_kk,
            text_ru=a.text_ru,
            kato_code=a.kato_code,
            kato_version=KATO_VERSION,
            lat=a.lat,
            lon=a.lon,
            valid_from=a.valid_from,
        )
        for a in data.addresses
    ]
    person.phones = [PersonPhone(number=p) for p in data.phones]
    person.documents = [
        IdentityDocument(
            kind=d.kind.value, number=d.number, issuer=d.issuer, issued_on=d.issued_on, expires_on=d.expires_on
        )
        for d in data.documents
    ]
    session.add(person)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="person.create",
        object_type="person",
        object_id=str(person.id),
        subject_person_id=person.id,
    )
    return person


def represented_ids(*, session: Session, representative_id: int, day: dt.date) -> set[int]:
    """Return the persons a representative acts for on a day."""
    return set(
        session.scalars(
            select(LegalRepresentation.represented_id).where(
                LegalRepresentation.representative_id == representative_id,
                LegalRepresentation.valid_from <= day,
                or_(LegalRepresentation.valid_to.is_(None), LegalRepresentation.valid_to >= day),
            )
        )
    )


def may_read(*, session: Session, actor: Actor, person_id: int, day: dt.date) -> bool:
    """Tell whether the actor may read a person's identity data."""
    if may(actor.role, Can.READ_ANY_PERSON):
        return True
    if actor.role is Role.CITIZEN and actor.person_id is not None:
        return person_id == actor.person_id or person_id in represented_ids(
            session=session, representative_id=actor.person_id, day=day
        )
    return False


def get_person(*, session: Session, actor: Actor, person_id: int, purpose: str, day: dt.date | None = None) -> Person:
    """Return a person the actor may read, logging the read; NotFound and Forbidden otherwise."""
    # Permission first: someone who may not read a person gets the same answer whether or not the id
    # exists (no existence oracle; tests/hardening/test_data_access.py).
    if not may_read(session=session, actor=actor, person_id=person_id, day=day or clock.today()):
        raise Forbidden()
    person = session.scalar(
        select(Person)
        .where(Person.id == person_id)
        .options(selectinload(Person.addresses), selectinload(Person.phones), selectinload(Person.documents))
    )
    if person is None:
        raise NotFound()
    record_event(
        session=session,
        actor=actor,
        action="person.read",
        object_type="person",
        object_id=str(person.id),
        subject_person_id=person.id,
        purpose=purpose,
    )
    return person


def find_by_iin(*, session: Session, actor: Actor, iin: str, purpose: str) -> Person:
    """Return the person with an IIN (staff only; the IIN travels in the body, never in a URL)."""
    if not may(actor.role, Can.READ_ANY_PERSON):
        raise Forbidden()
    person_id = session.scalar(select(Person.id).where(Person.iin == iin))
    if person_id is None:
        raise NotFound()
    return get_person(session=session, actor=actor, person_id=person_id, purpose=purpose)


def add_representation(*, session: Session, actor: Actor, data: RepresentationIn) -> LegalRepresentation:
    """Record that one person legally represents another for a period (A-24, A-65)."""
    found = set(session.scalars(select(Person.id).where(Person.id.in_([data.representative_id, data.represented_id]))))
    if {data.representative_id, data.represented_id} - found:
        raise NotFound()
    if data.representative_id == data.represented_id:
        raise InvalidInput()
    row = LegalRepresentation(
        representative_id=data.representative_id,
        represented_id=data.represented_id,
        basis=data.basis.value,
        basis_document=data.basis_document,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="representation.create",
        object_type="representation",
        object_id=str(row.id),
        subject_person_id=data.represented_id,
    )
    return row


def representations_of(*, session: Session, person_id: int) -> list[LegalRepresentation]:
    """Return every representation where the person represents or is represented."""
    return list(
        session.scalars(
            select(LegalRepresentation)
            .where(
                or_(LegalRepresentation.representative_id == person_id, LegalRepresentation.represented_id == person_id)
            )
            .order_by(LegalRepresentation.id)
        )
    )
