"""The reference floor of `emhana bench http` (emhana.devtools.bench.floor): a route of the benchmark's server only,
that authenticates like the real reads, reads a person's open attachment to a reader of its entity and logs the
read through the access log before answering; a person of another entity is 404 with nothing logged. Its async
twin (emhana.devtools.bench.floor_async, PostgreSQL only) does the same on the event loop: each read answered
after its event and chain link are committed, concurrent reads in one statement, a bad row failing only its read."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.enums import Cause, PlaceBasis
from emhana.attachment.models import Attachment
from emhana.audit.models import AuditEvent, ChainLink
from emhana.audit.readlog import ReadLogFailed
from emhana.audit.service import event_row
from emhana.devtools.bench import floor, floor_async
from emhana.kernel.batched import Pool
from emhana.trust.chain.verify import verify
from emhana.web.deps import iter_routes
from tests.builders.attachment import Country
from tests.builders.databases import is_postgres


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


needs_postgres = pytest.mark.skipif(not is_postgres(), reason="the async floor reads over psycopg's async connections")


def _chained(sessions: sessionmaker[Session], person: int) -> list[tuple[int, int]]:
    """The audit chain of a person: (seq, event id) of each link, in order."""
    with sessions() as s:
        rows = s.execute(
            select(ChainLink.seq, ChainLink.record_id)
            .where(ChainLink.kind == "audit", ChainLink.chain_key == str(person))
            .order_by(ChainLink.seq)
        ).all()
    return [(seq, rid) for seq, rid in rows]


def _event_ids(sessions: sessionmaker[Session], person: int, action: str) -> list[int]:
    with sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent.id)
                .where(AuditEvent.subject_person_id == person, AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )


def _clean_chains(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        report = verify(s.connection(), ["audit"])
    assert not report.findings and report.links > 0


@pytest.mark.postgres
@needs_postgres
def test_the_async_floor_reads_logs_and_chains_before_answering(
    app: FastAPI,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    floor_async.install(app)
    ours, theirs = person(), person()
    _attach(sessions, ours, country.a, country.sites["A1"], country.districts[("A1", 1)])
    _attach(sessions, theirs, country.b, country.sites["B1"], country.districts[("B1", 1)])
    _, token = make_actor(Role.CLINICIAN, entity_id=country.a)
    bearer = {"Authorization": f"Bearer {token}"}
    before = _events(sessions)
    logged = (floor_async.ACTION, ours, floor_async.PURPOSE)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get(f"{floor_async.PATH}/{ours}").status_code == 401  # no token: nothing read
        for n in (1, 2):
            answer = client.get(f"{floor_async.PATH}/{ours}", headers=bearer)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["person"] == ours and body["entity"] == country.a and body["since"] == "2025-01-06"
            assert answer.headers["x-content-type-options"] == "nosniff"  # the app's middlewares around it
            assert _events(sessions) == [*before, *[logged] * n]  # committed when answered
        ids = _event_ids(sessions, ours, floor_async.ACTION)
        assert _chained(sessions, ours) == [(1, ids[0]), (2, ids[1])]  # each read linked into the person's chain
        refused = client.get(f"{floor_async.PATH}/{theirs}", headers=bearer)  # another entity's population
        assert refused.status_code == 404
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert client.get(f"{floor_async.PATH}/{10**9}", headers=bearer).status_code == 404  # nobody
        _, patient = make_actor(Role.CITIZEN, person_id=ours)  # no entity: reads nothing here
        assert (
            client.get(f"{floor_async.PATH}/{ours}", headers={"Authorization": f"Bearer {patient}"}).status_code == 404
        )
    assert _events(sessions) == [*before, logged, logged]  # nothing logged for a read refused
    assert _chained(sessions, theirs) == []
    _clean_chains(sessions)


@pytest.mark.postgres
@needs_postgres
def test_concurrent_reads_share_one_statement_and_a_bad_row_fails_only_its_read(
    app: FastAPI,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    ours = [person() for _ in range(3)]
    theirs = person()
    for p in ours:
        _attach(sessions, p, country.a, country.sites["A1"], country.districts[("A1", 1)])
    _attach(sessions, theirs, country.b, country.sites["B1"], country.districts[("B1", 1)])
    actor, _ = make_actor(Role.CLINICIAN, entity_id=country.a)
    ghost = dataclasses.replace(actor, account_id=10**9)  # no such account: its event cannot be written

    def event(who: Actor, p: int) -> dict[str, object]:
        return event_row(actor=who, action="bench.test", object_type="person", object_id=p, subject_person_id=p)

    async def run() -> tuple[list[floor_async.Found | None], int, list[object], int]:
        log = floor_async.ReadLog(Pool(floor_async.conninfo(app), 1), leaders=1)
        try:
            asked = [*ours, ours[0], theirs]  # all queued before the one batch starts
            together = await asyncio.gather(*(log.read(p, country.a, event(actor, p)) for p in asked))
            first = log.batches
            reads = [(ours[1], actor), (ours[2], ghost), (ours[0], actor)]
            apart = await asyncio.gather(
                *(log.read(p, country.a, event(a, p)) for p, a in reads), return_exceptions=True
            )
            return list(together), first, list(apart), log.batches
        finally:
            await log.pool.close()

    together, first, apart, batches = asyncio.run(run())
    assert first == 1  # five reads, one statement
    assert [f is not None and f[0] == country.a for f in together] == [True, True, True, True, False]  # not theirs
    assert apart[0] is not None and apart[2] is not None  # the batch failed on the ghost, retried one by one
    assert isinstance(apart[1], ReadLogFailed)
    assert batches == 3  # the first batch, then the two good reads alone
    assert [seq for seq, _ in _chained(sessions, ours[0])] == [1, 2, 3]
    assert [seq for seq, _ in _chained(sessions, ours[1])] == [1, 2]
    assert [seq for seq, _ in _chained(sessions, ours[2])] == [1]  # the ghost's read logged nothing
    assert _event_ids(sessions, theirs, "bench.test") == [] and _chained(sessions, theirs) == []
    _clean_chains(sessions)


def test_only_the_benchmark_server_has_the_async_route(app: FastAPI) -> None:
    assert not any(path.startswith(floor_async.PATH) for path, _methods, _dep in iter_routes(app))
    floor_async.install(app)
    assert any(path.startswith(floor_async.PATH) for path, _methods, _dep in iter_routes(app))
