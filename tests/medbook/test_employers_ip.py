"""Employers that are individual entrepreneurs (ИП / ЖК, issue 15): named by IIN where a legal entity is named by
BIN, both checked with their check digit, on book issue and on linking an employer account; a number that is
neither is refused with a coded error in kk, ru and en, and nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.models import AuditEvent
from emhana.identity.rules import Sex, make_iin
from emhana.kernel.errors import InvalidEmployerNumber
from emhana.medbook import service
from emhana.medbook.models import EmployerLink
from emhana.medbook.schemas import EmployerKind, employer_kind
from tests.builders.medbook import EMPLOYER_BIN, World, book_body, counts

API = "/api/v1/medbook"
ENTREPRENEUR_IIN = next(v for n in range(1, 50) if (v := make_iin(dt.date(1979, 8, 23), Sex.FEMALE, n)) is not None)
BAD_IIN = ENTREPRENEUR_IIN[:11] + str((int(ENTREPRENEUR_IIN[11]) + 1) % 10)  # the check digit does not match


def link(client: TestClient, w: World, name: str, number: str) -> int:
    r = client.post(
        f"{API}/employers", headers=w.h["fund"], json={"account_id": w.actors[name].account_id, "bin": number}
    )
    return r.status_code


def test_the_kind_of_an_employer_is_told_by_its_number() -> None:
    assert employer_kind(EMPLOYER_BIN) is EmployerKind.LEGAL_ENTITY
    assert employer_kind(ENTREPRENEUR_IIN) is EmployerKind.ENTREPRENEUR
    assert employer_kind(BAD_IIN) is None
    assert employer_kind("94014000038") is None


def test_an_entrepreneur_by_iin_is_linked_issued_a_book_and_sees_its_worker(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    assert link(client, world, "employer", ENTREPRENEUR_IIN) == 204
    r = client.post(f"{API}/books", headers=world.h["rt_a"], json=book_body(world, employer_bin=ENTREPRENEUR_IIN))
    assert r.status_code == 201, r.text
    assert r.json()["employer_bin"] == ENTREPRENEUR_IIN and r.json()["employer_kind"] == "entrepreneur"
    workers = client.get(f"{API}/employer/workers", headers=world.h["employer"]).json()
    assert [w["book_id"] for w in workers] == [r.json()["id"]]
    assert client.get(f"{API}/employer/workers", headers=world.h["other_employer"]).status_code == 403
    with sessions() as s:
        purposes = s.scalars(select(AuditEvent.purpose).where(AuditEvent.action == "medbook.employer_link")).all()
    assert purposes and not any(ENTREPRENEUR_IIN in p for p in purposes)  # personal data stays out of the log text
    page = client.get("/medbook/my?lang=en", headers=world.h["cook"]).text  # the book speaks its own language
    assert "ИИН работодателя (индивидуальный предприниматель)" in page and ENTREPRENEUR_IIN in page
    client.put(f"{API}/me/language", headers=world.h["cook"], json={"language": "kk"})
    assert "Жұмыс берушінің ЖСН-і (жеке кәсіпкер)" in client.get("/medbook/my", headers=world.h["cook"]).text


def test_a_legal_entity_is_named_by_its_bin(client: TestClient, world: World) -> None:
    r = client.post(f"{API}/books", headers=world.h["rt_a"], json=book_body(world))
    assert r.status_code == 201 and r.json()["employer_kind"] == "legal_entity"
    assert "БИН работодателя (юридическое лицо)" in client.get("/medbook/my", headers=world.h["cook"]).text


@pytest.mark.parametrize("number", [BAD_IIN, "949940000385", "12345678901", "9401400003x5"])
def test_a_number_that_is_neither_is_refused_in_three_languages_and_nothing_is_written(
    client: TestClient, world: World, sessions: sessionmaker[Session], number: str
) -> None:
    before = counts(sessions)
    r = client.post(f"{API}/books", headers=world.h["rt_a"], json=book_body(world, employer_bin=number))
    body = r.json()
    assert r.status_code == 422 and body["code"] == "medbook.invalid_employer", r.text
    assert "individual entrepreneur" in body["messages"]["en"]
    assert "индивидуального предпринимателя" in body["messages"]["ru"]
    assert "жеке кәсіпкердің" in body["messages"]["kk"]
    linked = client.post(
        f"{API}/employers",
        headers=world.h["fund"],
        json={"account_id": world.actors["employer"].account_id, "bin": number},
    )
    assert linked.status_code == 422 and linked.json()["code"] == "medbook.invalid_employer"
    assert counts(sessions) == before
    with sessions() as s:
        assert s.get(EmployerLink, world.actors["employer"].account_id) is None


def test_the_service_refuses_a_bad_number_called_without_the_door(
    world: World, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s, pytest.raises(InvalidEmployerNumber):
        service.link_employer(
            session=s,
            actor=world.actors["fund"],
            account_id=world.actors["employer"].account_id,
            bin_=BAD_IIN,
            now=dt.datetime(2026, 3, 10, 5, tzinfo=dt.UTC),
        )
