"""Races on the attachment applications, alike on SQLite and PostgreSQL (issue 14, Deliver item 4): requests sent
at the same moment, each by its own thread and connection, to the app served by uvicorn over a file-backed
database. Two decisions with the same If-Match: one 200, one 412, one notice. Two applications of one person
that both wait for a registrar: one 201, one 409.

Before SQLite began each transaction with BEGIN IMMEDIATE (emhana/kernel/db.py), both decisions and both
applications were accepted on SQLite.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.attachment.enums import State
from emhana.attachment.models import Application, Attachment
from emhana.attachment.notice.templates import NOTICE_TEMPLATES
from emhana.notify.models import Notification
from tests.builders.attachment import Country
from tests.builders.servers import serve

URL = "/api/v1/attachment"
ROUNDS = 4
ASTANA_ACTUAL = [("permanent", "710000000"), ("actual", "711210000")]
REFUSE = {"decision": "refuse", "reason_code": "attachment.documents_inaccurate"}
APPROVE = {"decision": "approve"}


@pytest.fixture
def base(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


def at_once(base: str, requests: list[tuple[str, dict[str, Any]]]) -> list[httpx.Response]:
    """Send each (path, httpx arguments) from its own thread, released together; return the answers in order."""
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | BaseException | None] = [None] * len(requests)

    def send(i: int, path: str, kwargs: dict[str, Any]) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/api/v1/attachment/calendar/2025")  # the connection is open before the start
            barrier.wait()
            try:
                answers[i] = client.post(path, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported below
                answers[i] = exc

    threads = [threading.Thread(target=send, args=(i, p, kw)) for i, (p, kw) in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert all(isinstance(a, httpx.Response) for a in answers), answers
    return [a for a in answers if isinstance(a, httpx.Response)]


def pending_application(base: str, citizen: dict[str, str], person_id: int, district_id: int) -> dict[str, Any]:
    """File an application that waits for a registrar: by actual residence for a declared pregnancy (A-23)."""
    r = httpx.post(
        f"{base}{URL}/applications",
        headers=citizen,
        json={"person_id": person_id, "district_id": district_id, "place_basis": "actual_residence", "pregnant": True},
        timeout=30,
    )
    assert r.status_code == 201 and r.json()["state"] == State.SUBMITTED.value, r.text
    return dict(r.json())


def test_two_decisions_with_one_if_match_one_wins_and_one_notice_goes(
    base: str,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    auth: Callable[..., dict[str, str]],
) -> None:
    registrars = [auth(Role.REGISTRAR, entity_id=country.a) for _ in range(2)]
    for round_ in range(ROUNDS):
        pid = person(sex="female", addresses=ASTANA_ACTUAL)
        queued = pending_application(base, auth(Role.CITIZEN, person_id=pid), pid, country.districts[("A1", 1)])
        if_match = f'"application-{queued["id"]}-v{queued["version"]}"'
        bodies = [APPROVE, REFUSE] if round_ % 2 else [REFUSE, APPROVE]
        answers = at_once(
            base,
            [
                (f"{URL}/applications/{queued['id']}/decision", {"headers": {**r, "If-Match": if_match}, "json": b})
                for r, b in zip(registrars, bodies, strict=True)
            ],
        )
        statuses = [a.status_code for a in answers]
        assert sorted(statuses) == [200, 412], [a.text for a in answers]
        assert answers[statuses.index(412)].json()["code"] == "core.version_conflict"
        won = bodies[statuses.index(200)]["decision"]
        with sessions() as s:
            app = s.get(Application, queued["id"])
            assert app is not None
            assert (app.state, app.version) == ({"approve": "approved", "refuse": "refused"}[won], 2)
            moved = list(s.scalars(select(Attachment.application_id).where(Attachment.person_id == pid)))
            assert moved == ([app.id] if won == "approve" else [])
            notices = list(
                s.scalars(
                    select(Notification.template).where(
                        Notification.dedupe_key.like(f"application:{app.id}:%"),
                        Notification.template.in_([str(t) for t in NOTICE_TEMPLATES]),
                    )
                )
            )
            assert notices == [f"attachment.{app.state}"], notices


def test_two_pending_applications_of_one_person_at_once_one_is_refused(
    base: str,
    sessions: sessionmaker[Session],
    country: Country,
    person: Callable[..., int],
    auth: Callable[..., dict[str, str]],
) -> None:
    for _ in range(ROUNDS):
        pid = person(sex="female", addresses=ASTANA_ACTUAL)
        citizen = auth(Role.CITIZEN, person_id=pid)
        answers = at_once(
            base,
            [
                (
                    f"{URL}/applications",
                    {
                        "headers": citizen,
                        "json": {
                            "person_id": pid,
                            "district_id": country.districts[site],
                            "place_basis": "actual_residence",
                            "pregnant": True,
                        },
                    },
                )
                for site in (("A1", 1), ("A2", 1))
            ],
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201, 409], [a.text for a in answers]
        assert {a.json().get("code") for a in answers if a.status_code == 409} == {"attachment.application_pending"}
        with sessions() as s:
            states = list(s.scalars(select(Application.state).where(Application.person_id == pid)))
        assert states == [State.SUBMITTED.value]
