"""Reads of personal data served on the event loop (emhana.web.reads): on PostgreSQL a person's attachments are read
in batches and logged through the async access log before the answer; a read whose log cannot be written is not
answered; the connections of the event loop close with the application. On SQLite the same route reads in a
worker thread (every API test of the route runs on both databases)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit import readlog_async
from emhana.audit.models import AuditEvent
from emhana.kernel.batched import PLANNING
from emhana.trust.chain import readlog as chain_readlog
from emhana.web import reads
from tests.builders.attachment import Country
from tests.builders.databases import is_postgres

URL = "/api/v1/attachment/persons"
needs_postgres = pytest.mark.skipif(not is_postgres(), reason="reads on the event loop run over psycopg")


def _logged(sessions: sessionmaker[Session], person: int) -> list[str]:
    with sessions() as s:
        return list(
            s.scalars(
                select(AuditEvent.purpose).where(
                    AuditEvent.action == "attachment.read", AuditEvent.subject_person_id == person
                )
            )
        )


def _connections(engine: Engine) -> int:
    with engine.connect() as conn:
        names = [f"{reads.READS_NAME} {os.getpid()}", f"{reads.LOG_NAME} {os.getpid()}"]  # this test process's
        found = conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = ANY(:n)"), {"n": names}
        )
    return int(found or 0)


def _closed(engine: Engine, before: int) -> bool:
    """Whether this process's connections are back to ``before``: a backend leaves pg_stat_activity a moment after
    its client has closed the connection, so the count is asked again for up to five seconds."""
    deadline = time.monotonic() + 5
    while _connections(engine) != before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@needs_postgres
def test_a_read_is_batched_logged_before_the_answer_and_its_connections_close(
    app: FastAPI,
    engine: Engine,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    patient = person()
    _, token = make_actor(Role.FUND_ADMIN)
    before = _connections(engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        got = client.get(f"{URL}/{patient}?purpose=oversight", headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 200, got.text
        assert got.json()["person_id"] == patient
        assert _logged(sessions, patient) == ["oversight"]  # committed when answered
        (loop_reads,) = getattr(app.state, reads._STATE).values()
        assert loop_reads.batches.batches >= 1 and loop_reads.log_.batches == 1  # served on the event loop
        assert _connections(engine) > before
    assert _closed(engine, before)  # closed at the application's shutdown


@needs_postgres
def test_a_read_whose_log_cannot_be_written_is_not_answered(
    app: FastAPI,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    patient = person()
    _, token = make_actor(Role.FUND_ADMIN)

    async def broken(conn: psycopg.AsyncConnection[Any], rows: Sequence[Mapping[str, Any]]) -> None:
        raise RuntimeError("disk full")

    readlog_async.set_writer(broken)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            got = client.get(f"{URL}/{patient}?purpose=oversight", headers={"Authorization": f"Bearer {token}"})
    finally:
        chain_readlog.register()
    assert got.status_code == 500
    assert got.headers["content-type"].startswith("application/problem+json")  # nothing of the person shown
    assert "history" not in got.json()
    assert _logged(sessions, patient) == []


@needs_postgres
def test_the_connections_close_when_the_engine_is_disposed(
    database_url: str,
    engine: Engine,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    from emhana.app import create_app
    from emhana.kernel.config import Settings

    app = create_app(Settings(database_url=database_url))
    patient = person()
    _, token = make_actor(Role.FUND_ADMIN)
    before = _connections(engine)
    client = TestClient(app)  # no lifespan: its shutdown never runs
    assert client.get(f"{URL}/{patient}?purpose=oversight", headers={"Authorization": f"Bearer {token}"}).is_success
    assert _connections(engine) > before
    app.state.engine.dispose()
    assert _closed(engine, before)


def _batched_statements() -> list[Any]:
    """Every batched read statement of the application, as its modules define them."""
    from emhana.attachment.application import reads as attachment_reads
    from emhana.fhir import patient_reads
    from emhana.identity import reads as identity_reads
    from emhana.kernel.batched import Batched
    from emhana.medbook import book_reads

    found: list[Batched] = [identity_reads.related()]
    for module in (attachment_reads, patient_reads, identity_reads, book_reads):
        for value in vars(module).values():
            values = value.values() if isinstance(value, dict) else [value]
            found.extend(v for v in values if isinstance(v, Batched))
    return found


def _plans(engine: Engine, setup: str | None) -> dict[str, str]:
    """The generic plan of each batched statement on a connection set up as the reads' are (or not)."""
    import re

    from emhana.kernel.db import libpq_url

    plans = {}
    with psycopg.connect(libpq_url(engine.url), autocommit=True) as conn:
        if setup is not None:
            conn.execute(setup)
        conn.execute("SET plan_cache_mode = force_generic_plan")
        for i, batched in enumerate(_batched_statements()):
            names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", batched.sql)))
            sql = batched.sql
            for j, name in enumerate(names, 1):
                sql = sql.replace(f"%({name})s", f"${j}")
            conn.execute(f"PREPARE batched_{i}({', '.join(['text[]'] * len(names))}) AS {sql}")
            rows = conn.execute(f"EXPLAIN EXECUTE batched_{i}({', '.join(['NULL'] * len(names))})").fetchall()
            plans[batched.name] = "\n".join(r[0] for r in rows)
    return plans


_SCANS = ("Seq Scan", "Hash Join", "Merge Join", "hashed SubPlan")


@needs_postgres
def test_every_batched_read_is_planned_once_as_probes_by_key(engine: Engine) -> None:
    # Planned on small tables (the test database's), a generic plan scans them; kept for the connection's life, it
    # would scan them at every execution once they are national. The reads' connections forbid such plans.
    planned = _plans(engine, PLANNING)
    assert len(planned) >= 12
    assert {name: [s for s in _SCANS if s in plan] for name, plan in planned.items()} == {n: [] for n in planned}
    unplanned = _plans(engine, None)
    assert any(s in plan for plan in unplanned.values() for s in _SCANS), "the test no longer tells the two apart"


@needs_postgres
def test_the_reads_connections_never_compile_a_plan(engine: Engine) -> None:
    # A key probe whose plan is costed above jit_above_cost at national size (a book's jobs at 20.5 M persons) was
    # JIT-compiled at every execution: 17 ms for a statement that runs in 0.05 ms.
    from emhana.kernel.db import libpq_url

    with psycopg.connect(libpq_url(engine.url), autocommit=True) as conn:
        assert conn.execute("SHOW jit").fetchone() == ("on",), "the server's default: else this test tells nothing"
        conn.execute(PLANNING)
        assert conn.execute("SHOW jit").fetchone() == ("off",)
        assert conn.execute("SHOW plan_cache_mode").fetchone() == ("force_generic_plan",)
