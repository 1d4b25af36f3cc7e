"""No IIN in a URL or a log line: a representative flow runs through a real uvicorn server (its access log
prints every request line with the query string) with every logger at DEBUG, SQLAlchemy's included, and a
client that puts IINs in paths and queries (emhana/kernel/logsafe.py masks them); then every IIN of the
database is searched for in everything that was logged."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.app import create_app
from emhana.identity.models import Person
from emhana.kernel.config import Settings
from emhana.web.render import CSRF_COOKIE
from tests.builders.medbook import World, book_body, clean_scope, issue_book, link_employers
from tests.builders.people import add_person
from tests.builders.servers import free_port

API = "/api/v1"


def test_a_full_flow_logs_no_iin(
    database_url: str,
    sessions: sessionmaker[Session],
    world: World,
    make_actor: Callable[..., tuple[Actor, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "sqlalchemy", "emhana"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    app = create_app(Settings(database_url=database_url))  # its engine is made with DEBUG logging on
    _, password_user = make_actor(Role.RESPONSIBLE_THERAPIST, entity_id=world.a, password="right-pass")
    newcomer = add_person(sessions, born=dt.date(1993, 4, 4))
    with serve(app) as base, httpx.Client(base_url=base) as c:
        # Log in: the token form and the login page (with its CSRF round trip), a wrong password too.
        me = c.get(f"{API}/auth/me", headers=world.h["rt_a"]).json()
        assert me["role"] == "responsible_therapist"
        assert c.post(f"{API}/auth/token", data={"username": "nobody", "password": "x"}).status_code == 401
        c.get("/login")
        page = c.post(
            "/login",
            data={"username": "responsible_therapist-2", "password": "right-pass", "csrf": c.cookies[CSRF_COOKIE]},
        )
        assert page.status_code in (200, 303), page.text[:200]
        # Identity: lookup by IIN (in the body), a malformed IIN, an unknown IIN.
        assert (
            c.post(f"{API}/persons/lookup", headers=world.h["reg_b"], json={"iin": world.cook_iin}).status_code == 200
        )
        assert c.post(f"{API}/persons/lookup", headers=world.h["reg_b"], json={"iin": "123"}).status_code == 422
        assert (
            c.post(f"{API}/persons/lookup", headers=world.h["reg_b"], json={"iin": "920704411239"}).status_code == 404
        )
        assert c.post(f"{API}/identity/iin-check", json={"iins": [world.cook_iin, "920704411239"]}).status_code == 200
        # Attachment: a written application at B, the registrar's decision, the person's reads.
        app_ = c.post(
            f"{API}/attachment/applications/written",
            headers=world.h["reg_b"],
            data={
                "application": json.dumps(
                    {
                        "person_id": newcomer,
                        "district_id": _district_b(sessions),
                        "documents": [{"kind": "id_card", "number": "1"}],
                    }
                )
            },
            files=[("files", ("a.pdf", b"%PDF", "application/pdf"))],
        )
        assert app_.status_code == 201, app_.text
        decided = c.post(
            f"{API}/attachment/applications/{app_.json()['id']}/decision",
            headers={**world.h["reg_b"], "If-Match": f'"application-{app_.json()["id"]}-v1"'},
            json={"decision": "approve"},
        )
        assert decided.status_code == 200, decided.text
        assert (
            c.get(f"{API}/attachment/applications/{app_.json()['id']}/notice.pdf", headers=world.h["reg_b"]).status_code
            == 200
        )
        assert c.get(f"{API}/attachment/persons/{world.cook}", headers=world.h["cook"]).status_code == 200
        assert c.get(f"{API}/attachment/me", headers=world.h["cook"]).status_code == 200
        # Medical book: employers, issue (IIN in the body), entries, clearance, reads, lookup, the pages.
        link_employers(c, world)  # type: ignore[arg-type]
        book = issue_book(c, world)  # type: ignore[arg-type]
        clean_scope(c, world, int(book["id"]))  # type: ignore[arg-type]
        assert (
            c.post(
                f"{API}/medbook/books/{book['id']}/clearance", headers=world.h["rt_a"], json={"decision": "granted"}
            ).status_code
            == 201
        )
        assert c.post(f"{API}/medbook/books", headers=world.h["rt_a"], json=book_body(world)).status_code == 409
        assert c.get(f"{API}/medbook/books/{book['id']}", headers=world.h["rt_a"]).status_code == 200
        assert (
            c.post(f"{API}/medbook/books/lookup", headers=world.h["clin_a"], json={"iin": world.cook_iin}).status_code
            == 200
        )
        assert c.get(f"{API}/medbook/me", headers=world.h["cook"]).status_code == 200
        assert c.get(f"{API}/medbook/employer/workers", headers=world.h["employer"]).status_code == 200
        c.cookies.set("emhana_session", world.h["rt_a"]["Authorization"][7:])
        c.get("/medbook/desk")
        assert (
            c.post("/medbook/desk/find", data={"iin": world.cook_iin, "csrf": c.cookies[CSRF_COOKIE]}).status_code
            == 200
        )
        c.cookies.set("emhana_session", world.h["cook"]["Authorization"][7:])
        assert c.get("/medbook/my").status_code == 200
        assert c.get("/attachment/my").status_code == 200
        # A client puts IINs in URLs: paths, queries, percent-encoded, inside a longer run of digits.
        iin = world.cook_iin
        encoded = "".join(f"%{ord(d):02X}" for d in iin)
        for url in (
            f"{API}/persons/{iin}",
            f"{API}/medbook/books/{iin}",
            f"{API}/facilities/entities?q={iin}",
            f"{API}/facilities/entities?q={encoded}",
            f"{API}/facilities/entities?q=7{iin}9",
            f"/medbook/desk?iin={iin}",
            f"/fhir/R4/Patient?identifier=http://emhana.kz/iin|{iin}",
            f"/no/such/page/{iin}?iin={iin}",
        ):
            c.get(url, headers=world.h["clin_a"])
        c.post(f"{API}/persons/lookup?iin={iin}", headers=world.h["reg_b"], json={"iin": iin})
    with sessions() as s:
        iins = set(s.scalars(select(Person.iin)))
    iins |= {"920704411239"}
    logged = "\n".join(_text(r) for r in caplog.records)
    assert re.search(r'"(GET|POST) /api/v1/medbook/books/\d+ HTTP/1.1" 200', logged), "no access log captured"
    assert '"GET /api/v1/persons/************ HTTP/1.1"' in logged, "the IIN of a path is not masked"
    assert "SELECT" in logged, "no SQL log captured"
    leaks = [line[:300] for line in logged.splitlines() if any(iin in line for iin in iins)]
    assert leaks == []


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run the app with uvicorn in a thread, its access log on at DEBUG (as ``uvicorn --log-level debug``)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="debug",
            access_log=True,
            log_config=None,
            ws="none",
            http="h11",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn-iin-logs", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def _text(record: logging.LogRecord) -> str:
    parts = [record.getMessage()]
    if record.exc_info:  # handlers write the exception's text as the record carries it, if it does
        parts.append(record.exc_text or logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def _district_b(sessions: sessionmaker[Session]) -> int:
    from emhana.facilities.models import District, Site

    with sessions() as s:
        return int(
            s.scalars(select(District.id).join(Site, Site.id == District.site_id).where(Site.code == "B1")).one()
        )
