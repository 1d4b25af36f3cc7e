"""Fixtures that tests in several directories share (a pytest plugin, listed in tests/conftest.py): the attachment
test country on a clock inside the 2025 campaign and the rows an application writes, the medical-book world on
10 March 2026, persons, and the EC test PKI of record signatures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.kernel import clock
from tests.builders.attachment import IN_WINDOW, Country, make_country, table_counts
from tests.builders.medbook import NOW, World, make_world
from tests.builders.people import add_person
from tests.builders.signatures import Pki, pki_of


@pytest.fixture
def now() -> Iterator[Callable[[dt.datetime], None]]:
    """Set the process's clock; it starts inside the 2025 campaign."""
    fixed = clock.Fixed(IN_WINDOW)
    with clock.use(fixed):
        yield fixed.set


@pytest.fixture
def country(
    sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]], now: Callable[[dt.datetime], None]
) -> Country:
    """Entities A (two sites) and B in Astana, one in Almaty, all participating; the 2025/2026 policies."""
    fund, _ = make_actor(Role.FUND_ADMIN)
    return make_country(sessions, fund)


@pytest.fixture
def citizen(make_actor: Callable[..., tuple[Actor, str]]) -> Callable[[int], Actor]:
    return lambda person_id: make_actor(Role.CITIZEN, person_id=person_id)[0]


@pytest.fixture
def counts(sessions: sessionmaker[Session]) -> Callable[[], tuple[int, ...]]:
    """Count the rows an application could write (to prove that a refusal writes nothing)."""
    return lambda: table_counts(sessions)


@pytest.fixture
def person(sessions: sessionmaker[Session]) -> Callable[..., int]:
    """Register a person (see tests.builders.people.add_person) and return its id."""

    def make(**kw: Any) -> int:
        return add_person(sessions, **kw)

    return make


@pytest.fixture
def at() -> Iterator[Callable[[dt.datetime], None]]:
    """Set the process's clock; it starts on 10 March 2026."""
    fixed = clock.Fixed(NOW)
    with clock.use(fixed):
        yield fixed.set


@pytest.fixture
def world(
    sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]], at: Callable[[dt.datetime], None]
) -> World:
    """The medical-book world: clinics A, B and X, their accounts, and the cook attached to B."""
    return make_world(sessions, make_actor)


@pytest.fixture
def ec_pki() -> Pki:
    """The EC test PKI of record signatures (made once per test session)."""
    return pki_of("ec")
