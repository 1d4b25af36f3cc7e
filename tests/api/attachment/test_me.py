"""GET /api/v1/attachment/me as rows (``service.person_record`` and ``outputs.person_payload``, issue 18): the same
bytes as the ORM read it replaced (``service.my_views`` and ``outputs.person_out`` serialized by the response model
MyAttachmentsOut, as FastAPI does), each person's read logged as there, and a represented child only while the
representation holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import outputs
from emhana.attachment.application import service
from emhana.attachment.schemas import MyAttachmentsOut
from emhana.audit.models import AuditEvent
from emhana.audit.readlog import take
from emhana.kernel import clock
from emhana.kernel.db import unit_of_work
from tests.builders.attachment import Country
from tests.builders.people import represent

URL = "/api/v1/attachment"
ADAPTER = TypeAdapter(MyAttachmentsOut)
D = dt.date


def reference(sessions: sessionmaker[Session], actor: Actor) -> bytes:
    """What the ORM read answered: ``my_views`` through the response model, its logged reads dropped."""
    now = clock.now()
    with unit_of_work(sessions, read_only=True) as s:
        me, represented = service.my_views(session=s, actor=actor, today=service.local_day(now))
        out = MyAttachmentsOut(
            me=outputs.person_out(s, me, now) if me else None,
            represented=[outputs.person_out(s, v, now) for v in represented],
        )
        take(s)
    return ADAPTER.dump_json(out)


def reads(sessions: sessionmaker[Session]) -> list[tuple[int | None, str]]:
    with sessions() as s:
        rows = s.execute(
            select(AuditEvent.subject_person_id, AuditEvent.purpose)
            .where(AuditEvent.action == "attachment.read")
            .order_by(AuditEvent.id)
        ).all()
    return [(p, purpose) for p, purpose in rows]


def apply(client: TestClient, headers: dict[str, str], person_id: int, district_id: int, **kw: Any) -> None:
    r = client.post(
        f"{URL}/applications", headers=headers, json={"person_id": person_id, "district_id": district_id, **kw}
    )
    assert r.status_code == 201, r.text


def test_me_answers_the_bytes_of_the_orm_read_and_logs_each_persons_read(
    client: TestClient,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    country: Country,
    person: Callable[..., int],
    now: Callable[[dt.datetime], None],
) -> None:
    father = person()
    child = person(born=D(2016, 4, 1), documents=[("birth_certificate", None)])
    other_child = person(born=D(2018, 4, 1), documents=[("birth_certificate", None)])
    represent(sessions, father, child)
    represent(sessions, father, other_child)
    actor, token = make_actor(Role.CITIZEN, person_id=father)
    headers = {"Authorization": f"Bearer {token}"}
    apply(client, headers, father, country.districts[("A1", 1)])
    apply(client, headers, father, country.districts[("B1", 1)])  # a change: an upcoming attachment, two applications
    apply(client, headers, child, country.districts[("A1", 2)])
    now(dt.datetime(2025, 9, 12, 10, tzinfo=clock.KZ_TIME))
    expected = reference(sessions, actor)
    before = reads(sessions)
    r = client.get(f"{URL}/me", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.content == expected
    body = r.json()
    assert body["me"]["person_id"] == father and len(body["me"]["applications"]) == 2
    assert [p["person_id"] for p in body["represented"]] == sorted([child, other_child])
    assert body["represented"][1 if child > other_child else 0]["history"] != []
    logged = reads(sessions)[len(before) :]
    assert logged == [(p, "history of attachments") for p in (father, *sorted([child, other_child]))]


def test_a_citizen_account_without_a_person_reads_nothing(
    client: TestClient, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]], country: Country
) -> None:
    actor, token = make_actor(Role.CITIZEN)
    r = client.get(f"{URL}/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.content == reference(sessions, actor) == b'{"me":null,"represented":[]}'
    assert reads(sessions) == []


def test_a_person_without_attachments_and_a_representation_that_ended(
    client: TestClient,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    country: Country,
    person: Callable[..., int],
) -> None:
    mother = person()
    grown = person(born=D(2000, 1, 1), documents=[("birth_certificate", None)])  # of age: the representation ended
    represent(sessions, mother, grown)
    actor, token = make_actor(Role.CITIZEN, person_id=mother)
    r = client.get(f"{URL}/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.content == reference(sessions, actor)
    assert r.json()["represented"] == [] and r.json()["me"]["history"] == []
