"""Read replicas (docs/replicas.md): a real streaming standby of a cluster of the test's own serves the public
directory's reads; a client that has just written reads from the primary; a standby whose replay lags past the
bound, or that stopped, is skipped and the primary answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from emhana.app import create_app
from emhana.kernel.config import Settings
from emhana.kernel.migrate import upgrade
from emhana.kernel.replicas import Replicas, client_key, replica_urls
from emhana.web.deps import DATABASE_HEADER, SessionDep
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


def test_without_replicas_reads_are_unchanged(client: TestClient) -> None:
    """The default: no replica URL, no router, no header, the route answers as before."""
    response = client.get(LIST)
    assert response.status_code == 200
    assert DATABASE_HEADER not in response.headers
    assert client.app.state.replicas is None  # type: ignore[attr-defined]


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
        ticks.advance(1.5)
        assert client.get(LIST).headers[DATABASE_HEADER] == "replica"

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
        assert client.get(LIST).headers[DATABASE_HEADER] == "replica"
    app.state.replicas.dispose()
    app.state.engine.dispose()


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
