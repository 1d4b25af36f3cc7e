"""Shared fixtures: one migrated database per test session (SQLite, or PostgreSQL when
EMHANA_TEST_DATABASE_URL is set), cleaned between tests; the app and authenticated clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor, actor_of, create_account, issue_token
from emhana.app import create_app
from emhana.kernel.config import Settings
from emhana.kernel.db import make_engine, make_sessionmaker
from emhana.kernel.migrate import upgrade
from emhana.models import Base as _AllModels  # noqa: F401  (registers every table)
from tests.builders.databases import clean, fresh_database
from tests.builders.facilities import entity_record

pytest_plugins = ["tests.builders.fixtures"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head for the whole test session."""
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory over a clean database."""
    clean(engine)
    return make_sessionmaker(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    s = sessions()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def app(database_url: str, sessions: sessionmaker[Session]) -> Iterator[FastAPI]:
    application = create_app(Settings(database_url=database_url))
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def make_actor(sessions: sessionmaker[Session]) -> Callable[..., tuple[Actor, str]]:
    """Create an account of a role and return its actor and a bearer token."""
    counter = iter(range(1, 10_000))

    def make(
        role: Role, *, person_id: int | None = None, entity_id: int | None = None, password: str = "secret-pass"
    ) -> tuple[Actor, str]:
        import datetime as dt

        with sessions.begin() as s:
            account = create_account(
                session=s,
                username=f"{role.value}-{next(counter)}",
                password=password,
                role=role,
                display_name=f"Test {role.value}",
                person_id=person_id,
                entity_id=entity_id,
            )
            actor = actor_of(account)
            token = issue_token(session=s, actor=actor, ttl=dt.timedelta(days=3650))  # tests move the clock
        return actor, token

    return make


@pytest.fixture
def auth(make_actor: Callable[..., tuple[Actor, str]]) -> Callable[..., dict[str, str]]:
    """Return Authorization headers for a new account of a role."""

    def headers(role: Role, **kwargs: int | None) -> dict[str, str]:
        _, token = make_actor(role, **kwargs)
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def seeded_entity(sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]) -> int:
    """Write one participating entity with two sites and return its id."""
    from emhana.facilities.service import apply_records, get_entity_by_bin

    actor, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s:
        rec = entity_record()
        apply_records(session=s, actor=actor, records=[rec])
        return get_entity_by_bin(session=s, bin_=rec.bin).id
