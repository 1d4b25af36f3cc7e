"""Read replicas (docs/replicas.md): a real streaming standby of a cluster of the test's own serves the public
directory's reads (the API, the FHIR directory, the trust lists, the verifier and the public pages) in READ ONLY
transactions; a client that has just written reads from the primary, in the process that served the write and,
through the WAL position it presents, in any other; a standby whose replay lags past the bound, or that stopped,
is skipped and the primary answers; the replicas' connections are closed at shutdown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from emhana.app import create_app
from emhana.facilities.service import apply_records, get_entity_by_bin
from emhana.fhir import versions
from emhana.fhir.versions import ResourceVersion
from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from emhana.kernel.migrate import upgrade
from emhana.kernel.replicas import PRIMARY_WRITER, Replicas, client_key, lsn_value, replica_urls
from emhana.trust.models import PublishedList
from emhana.trust.scheme import publish
from emhana.web.deps import DATABASE_HEADER, READ_AFTER_COOKIE, READ_AFTER_HEADER, SessionDep
from tests.builders.facilities import entity_record
from tests.builders.postgres_cluster import Cluster, own_cluster
from tests.builders.replicas import Ticks, pause_replay, query, standby_of, wait_caught_up

LIST = "/api/v1/facilities/entities"
NEAR = "/api/v1/facilities/near?lat=51.13&lon=71.43"


def test_settings_split_the_urls_and_default_to_none() -> None:
    assert replica_urls("") == []
    assert replica_urls(" postgresql://a/x , postgresql://b/x,") == ["postgresql://a/x", "postgresql://b/x"]
    settings = Settings()
    assert settings.database_replica_urls == ""
    assert settings.replica_max_lag_seconds == 5
    assert settings.replica_read_your_writes_seconds == 10


def test_client_key_never_keeps_the_token() -> None:
    key = client_key("secret-token", "10.0.0.1")
    assert "secret-token" not in key
    assert key == client_key("secret-token", "10.0.0.2")  # the token names the client, not its address
    assert client_key(None, "10.0.0.1") != client_key(None, "10.0.0.2")


def test_a_wal_position_is_read_as_a_number() -> None:
    assert lsn_value("0/0") == 0
    assert lsn_value("16/B374D848") == lsn_value("16-B374D848") == (0x16 << 32) + 0xB374D848
    assert lsn_value("1/0") > lsn_value("0/FFFFFFFF")  # type: ignore[operator]
    for bad in (None, "", "16", "x/y", "1/2/3", "123456789/0", "0/0; drop"):
        assert lsn_value(bad) is None


def test_without_replicas_reads_are_unchanged(client: TestClient) -> None:
    """The default: no replica URL, no router, no header, no cookie, the route answers as before."""
    response = client.get(LIST)
    assert response.status_code == 200
    assert DATABASE_HEADER not in response.headers
    assert client.app.state.replicas is None  # type: ignore[attr-defined]
    assert client.get("/fhir/R4/Organization").headers.get(DATABASE_HEADER) is None
    assert READ_AFTER_COOKIE not in client.cookies


def test_a_read_only_unit_of_work_records_through_the_primary_writer(
    sessions: sessionmaker[Session], seeded_entity: int
) -> None:
    """What a routed read must record first (a directory version missing, the trust lists' first publication,
    the scheme CA) goes through the primary writer: the read's own unit of work, read-only, never writes (it
    would fail if it tried, on SQLite as on PostgreSQL)."""
    with sessions.begin() as s:
        s.execute(delete(ResourceVersion).where(ResourceVersion.resource_type == versions.ORGANIZATION))
    with unit_of_work(sessions, read_only=True) as read:
        read.info[PRIMARY_WRITER] = partial(unit_of_work, sessions)
        found = versions.current(read, versions.ORGANIZATION, seeded_entity, clock.today(), clock.now())
        assert found is not None and found["meta"]["versionId"] == "1"
        assert publish.current(read, publish.TRUST).sequence >= 1
        assert publish.anchor_pem(read).startswith(b"-----BEGIN CERTIFICATE-----")
        assert publish.verify_text(read, "not a seal").outcome
    with sessions() as s:
        assert (s.scalar(select(func.count()).select_from(ResourceVersion)) or 0) >= 1
        assert s.get(PublishedList, publish.TRUST) is not None
    # Served as recorded: the same version again, nothing more recorded.
    with unit_of_work(sessions, read_only=True) as read:
        read.info[PRIMARY_WRITER] = partial(unit_of_work, sessions)
        again = versions.current(read, versions.ORGANIZATION, seeded_entity, clock.today(), clock.now())
        assert again == found


def _with_write_route(app: FastAPI) -> FastAPI:
    """A route that commits a unit of work (SessionDep): the shape of every write of the app."""

    @app.post("/test-only/write")
    def write(session: SessionDep) -> dict[str, bool]:
        session.execute(text("SELECT 1"))
        return {"ok": True}

    return app


@pytest.fixture
def replicated() -> Iterator[tuple[Cluster, Cluster]]:
    """A primary of the test's own, migrated, and a hot standby streaming from it."""
    with own_cluster() as primary, standby_of(primary) as standby:
        upgrade(primary.url)  # replayed by the standby: its schema comes through replication
        wait_caught_up(primary, standby)
        yield primary, standby


def _served_by_the_standby_again(client: TestClient, ticks: Ticks, timeout: float = 30) -> bool:
    """Tell whether the standby serves the list again once it has caught up (a deadline for a condition, not a
    timing assertion). The bound is then 0 s: the standby serves only while it has replayed everything the primary
    has written, and an idle primary still writes WAL of its own now and then (a snapshot of running transactions
    every 15 s), which the standby replays a moment later: a check made in that moment finds it behind (CI saw it
    once), and the next check, a second later by the router's clock, finds it caught up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ticks.advance(1.5)  # past the cached check
        if client.get(LIST).headers[DATABASE_HEADER] == "replica":
            return True
        time.sleep(0.05)
    return False


def test_reads_go_to_the_standby_within_the_bound_else_to_the_primary(replicated: tuple[Cluster, Cluster]) -> None:
    primary, standby = replicated
    app = _with_write_route(create_app(Settings(database_url=primary.url, database_replica_urls=standby.url)))
    with TestClient(app) as client:
        # The standby serves the public directory's reads.
        first = client.get(LIST)
        assert first.status_code == 200, first.text
        assert first.headers[DATABASE_HEADER] == "replica"
        router = app.state.replicas
        assert isinstance(router, Replicas)
        assert router.max_lag == 5 and router.read_your_writes == 10
        ticks = Ticks()
        router.monotonic = ticks
        near = client.get(NEAR)
        assert near.status_code == 200, near.text
        assert near.headers[DATABASE_HEADER] == "replica"

        # Read-your-writes: after a committed write, this client reads from the primary for the window ...
        assert client.post("/test-only/write").status_code == 200
        assert client.get(LIST).headers[DATABASE_HEADER] == "primary"
        # ... another client (another token) still reads from the standby ...
        other = client.get(LIST, headers={"Authorization": "Bearer someone-else"})  # a public route: not checked
        assert other.status_code == 200, other.text
        assert other.headers[DATABASE_HEADER] == "replica"
        # ... and once the window has passed, the standby again.
        ticks.advance(10.5)
        assert client.get(LIST).headers[DATABASE_HEADER] == "replica"

        # Lag over the bound: replay paused on the standby while the primary writes.
        router.max_lag = 0.0  # any lag at all is over the bound
        pause_replay(standby)
        query(primary, "CREATE TABLE test_replica_lag (n int)")
        query(primary, "INSERT INTO test_replica_lag VALUES (1)")
        # The check of a second ago is still trusted: the standby serves.
        assert client.get(LIST).headers[DATABASE_HEADER] == "replica"
        ticks.advance(1.5)
        lagging = client.get(LIST)
        assert lagging.status_code == 200
        assert lagging.headers[DATABASE_HEADER] == "primary"
        assert router.standbys[0].lag is not None and router.standbys[0].lag > 0
        # Replay resumed and caught up: the standby serves again.
        query(standby, "SELECT pg_wal_replay_resume()")
        wait_caught_up(primary, standby)
        assert _served_by_the_standby_again(client, ticks)

        # Failover: the standby stops; the read is still answered, by the primary, even before a new check.
        standby.stop()
        failed = client.get(LIST)
        assert failed.status_code == 200, failed.text
        assert failed.headers[DATABASE_HEADER] == "primary"
        ticks.advance(1.5)  # a down standby is left alone for a while ...
        assert client.get(NEAR).headers[DATABASE_HEADER] == "primary"
        ticks.advance(10)  # ... then tried again, still down: the primary answers
        again = client.get(LIST)
        assert again.status_code == 200
        assert again.headers[DATABASE_HEADER] == "primary"
        # Back up: it serves again once it is checked.
        standby.start()
        wait_caught_up(primary, standby)
        ticks.advance(10)
        assert _served_by_the_standby_again(client, ticks)


def test_a_route_on_the_standby_cannot_write(replicated: tuple[Cluster, Cluster]) -> None:
    """The standby's unit of work is read-only; a replica refuses writes anyway. The router reports a standby
    that is not in recovery (promoted, or a primary named by mistake) as unusable."""
    primary, standby = replicated
    app = create_app(Settings(database_url=primary.url, database_replica_urls=primary.url))
    with TestClient(app) as client:
        response = client.get(LIST)
        assert response.status_code == 200
        assert response.headers[DATABASE_HEADER] == "primary"  # a primary is no replica
    app.state.replicas.dispose()
    app.state.engine.dispose()


def _seed(primary: Cluster) -> int:
    """An included entity with two sites, written on the primary (its FHIR versions recorded at the commit)."""
    engine = make_engine(primary.url)
    try:
        with make_sessionmaker(engine).begin() as session:
            apply_records(session=session, actor=None, records=[entity_record()])
            return get_entity_by_bin(session=session, bin_="150340001236").id
    finally:
        engine.dispose()


def _watch(router: Replicas) -> list[tuple[bool, str]]:
    """Record every statement run on the standby with whether its connection was in a READ ONLY transaction."""
    seen: list[tuple[bool, str]] = []

    def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((bool(conn.connection.dbapi_connection.read_only), statement))

    event.listen(router.standbys[0].base, "before_cursor_execute", before)
    return seen


def test_the_directory_trust_lists_verifier_and_pages_are_served_read_only_by_the_standby(
    replicated: tuple[Cluster, Cluster],
) -> None:
    """Every routed read answers from the standby, in READ ONLY transactions, writing nothing there; what a read
    must record first (a trust list's first publication, a directory version missing) goes to the primary."""
    primary, standby = replicated
    entity = _seed(primary)
    wait_caught_up(primary, standby)
    settings = Settings(database_url=primary.url, database_replica_urls=standby.url, replica_max_lag_seconds=600)
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get(LIST).headers[DATABASE_HEADER] == "replica"
        router = app.state.replicas
        assert isinstance(router, Replicas)
        seen = _watch(router)

        # The trust lists: none published yet; the standby's read publishes them on the primary.
        first = client.get("/trust/list")
        assert first.status_code == 200, first.text
        assert first.headers[DATABASE_HEADER] == "replica"
        assert query(primary, "SELECT sequence FROM trust_published_list WHERE name = 'trust'") == 1
        wait_caught_up(primary, standby)

        reads: list[tuple[str, str, dict[str, Any] | None]] = [
            ("GET", "/fhir/R4/metadata", None),
            ("GET", "/fhir/R4/Organization", None),
            ("GET", f"/fhir/R4/Organization/{entity}", None),
            ("GET", f"/fhir/R4/Organization/{entity}/_history", None),
            ("GET", f"/fhir/R4/Organization/{entity}/_history/1", None),
            ("GET", "/fhir/R4/Organization/_history", None),
            ("POST", "/fhir/R4/Organization/_search", {"name": ""}),
            ("GET", f"/fhir/R4/Location?organization=Organization/{entity}", None),
            ("GET", "/fhir/R4/Location?near=51.13|71.43|50|km", None),
            ("GET", "/fhir/R4/PractitionerRole", None),
            ("GET", "/trust/list", None),
            ("GET", "/trust/revocations", None),
            ("GET", "/trust/anchor.pem", None),
            ("GET", "/facilities", None),
            ("GET", f"/facilities/{entity}", None),
            ("GET", "/participants", None),
            ("GET", f"/api/v1/facilities/entities/{entity}", None),
            ("GET", NEAR, None),
        ]
        for method, path, form in reads:
            answer = client.request(method, path, data=form)
            assert answer.status_code == 200, (path, answer.text[:300])
            if path != "/fhir/R4/metadata":  # the CapabilityStatement reads no database
                assert answer.headers[DATABASE_HEADER] == "replica", path
        organization = client.get(f"/fhir/R4/Organization/{entity}").json()
        assert organization["meta"]["versionId"] == "1"
        verdict = client.post("/api/v1/verify", json={"text": "not a seal"})
        assert verdict.status_code == 200, verdict.text
        assert verdict.headers[DATABASE_HEADER] == "replica"
        assert verdict.json()["outcome"]
        assert query(primary, "SELECT sequence FROM trust_published_list WHERE name = 'trust'") == 1  # served as stored

        # A directory resource with no recorded version (written before versions, or by Core code): the standby
        # serves the read, its version 1 is recorded on the primary.
        query(primary, "DELETE FROM fhir_resource_version WHERE resource_type = 'Location'")
        wait_caught_up(primary, standby)
        site = client.get(f"/fhir/R4/Location?organization=Organization/{entity}").json()["entry"][0]["resource"]
        assert site["meta"]["versionId"] == "1"
        read = client.get(f"/fhir/R4/Location/{site['id']}")
        assert read.headers[DATABASE_HEADER] == "replica"
        assert read.json()["meta"] == site["meta"]
        assert query(primary, "SELECT count(*) FROM fhir_resource_version WHERE resource_type = 'Location'") == 2

        assert seen, "the standby ran no statement"
        assert all(read_only for read_only, _ in seen), "a statement outside a READ ONLY transaction"
        writes = [s for _, s in seen if s.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE", "CREATE"}]
        assert writes == []
        pool = router.standbys[0].base.pool
        assert isinstance(pool, QueuePool) and pool.checkedin() > 0
    # The app's shutdown closed the standby's connections, and the primary's: none is left for the garbage
    # collector to find open (psycopg warns then, in whatever test is running).
    for pool in (router.standbys[0].base.pool, app.state.engine.pool):
        assert isinstance(pool, QueuePool) and pool.checkedin() == 0


def _write(app: FastAPI) -> FastAPI:
    """A route that commits a row on the primary (WAL the standby must replay before it can show it)."""

    @app.post("/test-only/write")
    def write(session: SessionDep) -> dict[str, bool]:
        session.execute(text("INSERT INTO test_replica_ryw VALUES (1)"))
        return {"ok": True}

    return app


def test_read_your_writes_holds_across_processes_that_share_nothing(replicated: tuple[Cluster, Cluster]) -> None:
    """Two app instances (two worker processes) with nothing in common but the databases: a client writes through
    the first; the second sends its reads that present the write's WAL position to the primary until the
    standby has replayed it, and reads that do not present it to the standby."""
    primary, standby = replicated
    query(primary, "CREATE TABLE test_replica_ryw (n int)")
    wait_caught_up(primary, standby)

    def settings() -> Settings:
        return Settings(database_url=primary.url, database_replica_urls=standby.url, replica_max_lag_seconds=600)

    writer_app, reader_app = _write(create_app(settings())), create_app(settings())
    with TestClient(writer_app) as writer, TestClient(reader_app) as reader:
        pause_replay(standby)
        wrote = writer.post("/test-only/write")
        assert wrote.status_code == 200, wrote.text
        after = wrote.headers[READ_AFTER_HEADER]
        assert lsn_value(after) is not None
        cookie = writer.cookies.get(READ_AFTER_COOKIE)
        assert cookie == after.replace("/", "-")
        assert "max-age=10" in wrote.headers["set-cookie"].lower()
        assert writer.get(LIST).headers[DATABASE_HEADER] == "primary"  # this process remembers the write too

        def read(**presented: str) -> Any:
            reader.cookies.clear()
            if "cookie" in presented:
                reader.cookies.set(READ_AFTER_COOKIE, presented["cookie"])
            headers = {READ_AFTER_HEADER: presented["header"]} if "header" in presented else {}
            answer = reader.get(LIST, headers=headers)
            assert answer.status_code == 200, answer.text
            return answer

        # The other process: a read that presents nothing goes to the standby (within the lag bound) ...
        assert read().headers[DATABASE_HEADER] == "replica"
        # ... one that presents the write's position, by cookie or by header, to the primary while the standby
        # has not replayed it ...
        assert read(cookie=cookie).headers[DATABASE_HEADER] == "primary"
        assert read(header=after).headers[DATABASE_HEADER] == "primary"
        # ... a position that is not one is ignored ...
        assert read(header="not-a-position").headers[DATABASE_HEADER] == "replica"
        # ... and once the standby has replayed the write, to the standby.
        query(standby, "SELECT pg_wal_replay_resume()")
        wait_caught_up(primary, standby)
        assert read(cookie=cookie).headers[DATABASE_HEADER] == "replica"
        assert read(header=after).headers[DATABASE_HEADER] == "replica"
        # A read sends no position back; only a write does.
        assert READ_AFTER_HEADER not in read().headers
    for app in (writer_app, reader_app):
        app.state.engine.dispose()
