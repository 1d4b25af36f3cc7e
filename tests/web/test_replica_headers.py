"""The read replicas' response headers (emhana.web.replicas, docs/replicas.md) as plain ASGI middleware: which
database answered, and after a write the WAL position as a header and a short-lived cookie."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from emhana.kernel.config import Settings
from emhana.web import replicas
from emhana.web.deps import DATABASE_HEADER, READ_AFTER_COOKIE, READ_AFTER_HEADER


def app() -> FastAPI:
    application = FastAPI()
    replicas.install(application, Settings(replica_read_your_writes_seconds=7))

    @application.get("/read")
    def read(request: Request) -> dict[str, str]:
        request.state.emhana_database = "replica"
        return {}

    @application.post("/write")
    def write(request: Request) -> dict[str, str]:
        request.state.emhana_read_after = "0/16B3748"
        return {}

    @application.get("/plain")
    def plain() -> dict[str, str]:
        return {}

    return application


def test_a_read_says_which_database_answered() -> None:
    with TestClient(app()) as c:
        r = c.get("/read")
        assert r.headers[DATABASE_HEADER] == "replica" and READ_AFTER_HEADER not in r.headers


def test_a_write_sends_its_position_as_header_and_cookie() -> None:
    with TestClient(app()) as c:
        r = c.post("/write")
        assert r.headers[READ_AFTER_HEADER] == "0/16B3748"
        cookie = r.headers["set-cookie"]
        assert f"{READ_AFTER_COOKIE}=0-16B3748" in cookie and "Max-Age=7" in cookie and "HttpOnly" in cookie
        assert DATABASE_HEADER not in r.headers


def test_an_answer_of_neither_is_untouched() -> None:
    with TestClient(app()) as c:
        r = c.get("/plain")
        assert DATABASE_HEADER not in r.headers and READ_AFTER_HEADER not in r.headers and "set-cookie" not in r.headers
