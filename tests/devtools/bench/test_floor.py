"""The reference floor of `emhana bench http` (emhana.devtools.bench.floor): a route of the benchmark's server only,
that authenticates like the real reads, reads a person's open attachment to a reader of its entity and logs the
read through the access log before answering; a person of another entity is 404 with nothing logged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.enums import Cause, PlaceBasis
from emhana.attachment.models import Attachment
from emhana.audit.models import AuditEvent
from emhana.devtools.bench import floor
from emhana.web.deps import iter_routes
from tests.builders.attachment import Country


def _attach(sessions: sessionmaker[Session], person: int, entity: int, site: int, district: int) -> None:
    begin = dt.date(2025, 1, 6)
    with sessions.begin() as s:
        s.add(
            Attachment(
                person_id=person,
                entity_id=entity,
                site_id=site,
                district_id=district,
                place_basis=PlaceBasis.RESIDENCE_PERMANENT.value,
                cause=Cause.FIRST_ATTACHMENT.value,
                begin_date=begin,
                decided_on=begin,
            )
        )


def _events(sessions: sessionmaker[Session]) -> list[tuple[str, int | None, str]]:
    with sessions() as s:
        rows = s.execute(select(AuditEvent.action, AuditEvent.subject_person_id, AuditEvent.purpose)).all()
    return [(a, p, why) for a, p, why in rows]


def test_the_floor_reads_one_attachment_and_logs_it_before_answering(
    app: FastAPI,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    app.include_router(floor.router)
    ours, theirs = person(), person()
    _attach(sessions, ours, country.a, country.sites["A1"], country.districts[("A1", 1)])
    _attach(sessions, theirs, country.b, country.sites["B1"], country.districts[("B1", 1)])
    _, token = make_actor(Role.CLINICIAN, entity_id=country.a)
    bearer = {"Authorization": f"Bearer {token}"}
    before = _events(sessions)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get(f"{floor.PATH}/{ours}").status_code == 401  # no token: nothing read
        answer = client.get(f"{floor.PATH}/{ours}", headers=bearer)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["person"] == ours and body["entity"] == country.a and body["since"] == "2025-01-06"
        assert answer.headers["x-content-type-options"] == "nosniff"  # the app's middlewares around it
        assert _events(sessions) == [*before, (floor.ACTION, ours, "reference floor")]  # logged when answered
        refused = client.get(f"{floor.PATH}/{theirs}", headers=bearer)  # another entity's population
        assert refused.status_code == 404
        assert refused.headers["content-type"].startswith("application/problem+json")
        _, patient = make_actor(Role.CITIZEN, person_id=ours)  # no entity: reads nothing here
        assert client.get(f"{floor.PATH}/{ours}", headers={"Authorization": f"Bearer {patient}"}).status_code == 404
    assert _events(sessions) == [*before, (floor.ACTION, ours, "reference floor")]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 2


def test_only_the_benchmark_server_has_the_route(app: FastAPI) -> None:
    assert not any(path.startswith(floor.PATH) for path, _methods, _dep in iter_routes(app))  # not in emhana.app
    app.include_router(floor.router)
    assert any(path.startswith(floor.PATH) for path, _methods, _dep in iter_routes(app))
