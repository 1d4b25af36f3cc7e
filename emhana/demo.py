"""Seed the demo: migrate, generate a synthetic country, and create one demo account per role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.accounts.roles import Role
from emhana.accounts.service import DEMO_PREFIX, create_account
from emhana.db import make_engine, make_sessionmaker, unit_of_work
from emhana.facilities.models import Entity
from emhana.identity.models import LegalRepresentation, Person
from emhana.migrate import upgrade

DEMO_PASSWORD = "demo"


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
    engine.dispose()
    return logins
