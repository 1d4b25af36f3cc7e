"""Seed the demo: migrate, generate a synthetic country, and create one demo account per role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import DEMO_PREFIX, Actor, actor_of, create_account
from emhana.attachment import clock
from emhana.db import make_engine, make_sessionmaker, unit_of_work
from emhana.facilities.models import Entity
from emhana.identity.models import LegalRepresentation, Person
from emhana.identity.rules import make_bin
from emhana.medbook import catalogue
from emhana.medbook import service as medbook
from emhana.medbook.models import EmployerLink, JournalEntry, MedicalBook, ResponsibleAppointment
from emhana.medbook.rules import EntryKind, Language, Result
from emhana.medbook.schemas import AppointIn, BookIn, ClearanceIn, ClinicalKind, Decision, EntryIn
from emhana.migrate import upgrade

DEMO_PASSWORD = "demo"
DEMO_GROUP = "decreed_2015"
DEMO_EMPLOYER_BIN = make_bin(2015, 3, 4, 0, 1234) or "150340001236"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    display_name: str


def _pick_family(session: Session, today: dt.date) -> tuple[Person | None, Person | None]:
    """Pick an adult and a child under five from the same settlement for the citizen demo."""
    adult = session.scalar(select(Person).where(Person.birth_date <= today.replace(year=today.year - 25),
                                                Person.birth_date >= today.replace(year=today.year - 45),
                                                Person.death_date.is_(None)).order_by(Person.id).limit(1))
    child = session.scalar(select(Person).where(Person.birth_date > today.replace(year=today.year - 5))
                           .order_by(Person.id).limit(1))
    return adult, child


def create_demo_accounts(session: Session, today: dt.date | None = None) -> list[DemoLogin]:
    """Create demo-<role> accounts (password ``demo``) tied to generated people and entities."""
    today = today or dt.date.today()
    existing = set(session.scalars(select(Account.username).where(Account.username.like(f"{DEMO_PREFIX}%"))))
    entity_id = session.scalar(select(Entity.id).order_by(Entity.id).limit(1))
    adult, child = _pick_family(session, today)
    if adult is not None and child is not None and f"{DEMO_PREFIX}citizen" not in existing:
        session.add(LegalRepresentation(representative_id=adult.id, represented_id=child.id, basis="parent",
                                        basis_document="birth certificate (demo)", valid_from=child.birth_date,
                                        valid_to=child.birth_date.replace(year=child.birth_date.year + 18)))
    logins = []
    for role in Role:
        username = f"{DEMO_PREFIX}{role.value.replace('_', '-')}"
        staff = role in (Role.REGISTRAR, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.ENTITY_ADMIN)
        person_id = adult.id if role is Role.CITIZEN and adult is not None else None
        name = (f"{adult.surname} {adult.given_name}" if role is Role.CITIZEN and adult is not None
                else f"Demo {role.value.replace('_', ' ')}")
        if username not in existing:
            create_account(session=session, username=username, password=DEMO_PASSWORD, role=role,
                           display_name=name, person_id=person_id, entity_id=entity_id if staff else None)
        logins.append(DemoLogin(username, role, name))
    return logins


def seed(url: str, *, population: int, seed_value: int,
         generate: Callable[[str, int, int], object] | None = None) -> list[DemoLogin]:
    """Migrate the database, generate the synthetic country if it is empty, and create demo accounts."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        empty = not s.scalar(select(func.count()).select_from(Person))
    if empty and generate is not None:
        generate(url, population, seed_value)
    with unit_of_work(sessions) as s:
        logins = create_demo_accounts(s)
        seed_medbook(s)
    engine.dispose()
    return logins


def _account(session: Session, role: Role) -> Account | None:
    return session.scalar(select(Account).where(Account.username == f"{DEMO_PREFIX}{role.value.replace('_', '-')}"))


def seed_medbook(session: Session, now: dt.datetime | None = None) -> MedicalBook | None:
    """Show medical books in the demo: appoint demo-responsible-therapist, issue the demo citizen's book with a
    clean decreed_2015 scope and a granted clearance, and link demo-employer to the book's BIN (idempotent)."""
    now = now or clock.now()
    day = medbook.local_day(now)
    therapist, clinician, admin, citizen, employer, fund = (
        _account(session, r) for r in (Role.RESPONSIBLE_THERAPIST, Role.CLINICIAN, Role.ENTITY_ADMIN,
                                       Role.CITIZEN, Role.EMPLOYER, Role.FUND_ADMIN))
    if therapist is None or clinician is None or admin is None or citizen is None or citizen.person_id is None:
        return None
    entity_id = therapist.entity_id
    if entity_id is None or not medbook.issuer_eligible(session=session, entity_id=entity_id, day=day):
        return None
    rt = actor_of(therapist)
    current = medbook.responsible_on(session=session, entity_id=entity_id, day=day)
    if current is None or current.account_id != therapist.id:
        opened = session.scalar(select(ResponsibleAppointment.valid_from).where(
            ResponsibleAppointment.entity_id == entity_id, ResponsibleAppointment.valid_to.is_(None)))
        if opened is not None and opened >= day:
            return None
        medbook.appoint(session=session, actor=actor_of(admin), entity_id=entity_id,
                        data=AppointIn(account_id=therapist.id, valid_from=day), now=now)
    book = session.scalar(select(MedicalBook).where(MedicalBook.person_id == citizen.person_id))
    if book is None:
        person = session.get(Person, citizen.person_id)
        if person is None:
            return None
        book = medbook.issue(session=session, actor=rt, now=now, data=BookIn(
            iin=person.iin, profession="повар", position="повар школьной столовой",
            workplace="Школа-лицей №5, столовая", employer_bin=DEMO_EMPLOYER_BIN, group_code=DEMO_GROUP,
            language=Language.RU))
    if book.entity_id == entity_id and medbook.latest_clearance(
            medbook.current_entries(session=session, book_id=book.id)) is None:
        _clean_scope(session, book, actor_of(clinician), now)
        medbook.decide_clearance(session=session, actor=rt, book_id=book.id, now=now,
                                 data=ClearanceIn(decision=Decision.GRANTED, note="demo"))
    if employer is not None and fund is not None and session.get(EmployerLink, employer.id) is None:
        medbook.link_employer(session=session, actor=actor_of(fund), account_id=employer.id,
                              bin_=book.employer_bin, now=now)
    return book


def _clean_scope(session: Session, book: MedicalBook, actor: Actor, now: dt.datetime) -> None:
    """Record a normal or negative result for every required item of the book's group not yet recorded."""
    day = medbook.local_day(now)
    person = session.get(Person, book.person_id)
    group = catalogue.rule_of(catalogue.in_force(session=session, code=book.group_code, day=day))
    done = set(session.scalars(select(JournalEntry.item_code).where(JournalEntry.book_id == book.id)))
    performed = day - dt.timedelta(days=3)
    for req in group.requirements:
        if req.code in done or (req.female_only and (person is None or person.sex != "female")):
            continue
        result = Result.NORMAL if req.kind is EntryKind.SPECIALIST_EXAM else Result.NEGATIVE
        medbook.record(session=session, actor=actor, book_id=book.id, now=now, data=EntryIn(
            kind=ClinicalKind(req.kind.value), item_code=req.code, performed_on=performed, result=result))
