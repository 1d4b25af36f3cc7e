"""The citizen's pages of issue 16 through TestClient: the signed notice linked and reachable by the person, her
representative and the deciding registrar only; her notifications inbox (hers and her child's, newest first, in
the page language); who read her data with the reader's organization; the registrar's representation form,
which refuses a document that does not ground the relation with the form kept and nothing written."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.identity.models import LegalRepresentation, Person
from tests.builders.attachment import Country
from tests.builders.people import represent
from tests.builders.web import csrf_of, login

URL = "/api/v1/attachment"
MakeActor = Callable[..., tuple[Actor, str]]


def sign_in(client: TestClient, make_actor: MakeActor, role: Role, **kw: int | None) -> Actor:
    actor, _ = make_actor(role, **kw)
    client.cookies.clear()
    assert login(client, actor.username).status_code == 303
    return actor


def _family(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> tuple[int, int, int, int]:
    """A mother applies for herself, then for her son (10), both at polyclinic A; return the ids."""
    mother = person(sex="female")
    son = person(born=dt.date(2015, 4, 1), documents=[("birth_certificate", None)])
    represent(sessions, mother, son)
    sign_in(client, make_actor, Role.CITIZEN, person_id=mother)
    ids = []
    for pid, district in ((mother, ("A1", 1)), (son, ("A1", 2))):
        r = client.post(f"{URL}/applications", json={"person_id": pid, "district_id": country.districts[district]})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return mother, son, ids[0], ids[1]


def test_the_signed_notice_is_linked_and_reaches_only_the_person_her_representative_and_the_registrar(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    mother, _son, own, sons = _family(client, make_actor, country, person, sessions)
    page = client.get(f"/attachment/applications/{sons}?lang=en").text
    assert f'href="/api/v1/attachment/applications/{sons}/notice.pdf"' in page and "Signed notice (PDF)" in page
    mine = client.get("/attachment/my?lang=ru").text
    assert f"/api/v1/attachment/applications/{own}/notice.pdf" in mine and "Подписанное уведомление (PDF)" in mine
    for app_id in (own, sons):
        pdf = client.get(f"{URL}/applications/{app_id}/notice.pdf")
        assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.a)
    assert client.get(f"{URL}/applications/{sons}/notice.pdf").status_code == 200
    queue = client.get(f"/attachment/queue?decided={sons}&lang=kk").text
    assert f"/api/v1/attachment/applications/{sons}/notice.pdf" in queue
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.b)
    other, missing = (
        client.get(f"{URL}/applications/{sons}/notice.pdf"),
        client.get(f"{URL}/applications/9999999/notice.pdf"),
    )
    assert other.status_code == missing.status_code == 403 and other.json()["code"] == missing.json()["code"]
    sign_in(client, make_actor, Role.CITIZEN, person_id=person())
    assert client.get(f"{URL}/applications/{own}/notice.pdf").status_code == 403


def test_the_inbox_lists_her_and_her_childs_notifications_newest_first_in_the_page_language(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    mother, son, _own, _sons = _family(client, make_actor, country, person, sessions)
    father = person()
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.a)
    recorded = client.post(  # the son is told of his father's representation (a message to him)
        "/api/v1/representations",
        json={
            "representative_id": father,
            "represented_id": son,
            "basis": "parent",
            "document_kind": "birth_certificate",
            "document_number": "I-АЛ 5151",
            "valid_from": "2015-04-01",
        },
    )
    assert recorded.status_code == 201, recorded.text
    sign_in(client, make_actor, Role.CITIZEN, person_id=mother)
    kk = client.get("/me/notifications?lang=kk")
    assert kk.status_code == 200 and "Менің хабарламаларым" in kk.text
    ids = [int(i) for i in re.findall(r'id="message-(\d+)"', kk.text)]
    assert len(ids) >= 2 and ids == sorted(ids, reverse=True)
    assert kk.text.count("message unread") == len(ids)  # new on the first reading, seen on the next
    assert "message unread" not in client.get("/me/notifications?lang=kk").text
    assert "for " not in client.get("/me/notifications?lang=en").text.split("<main")[-1].split("</h1>")[0]
    ru = client.get("/me/notifications?lang=ru").text
    assert "для: Тестов Тест" in ru  # the son's message names him
    sign_in(client, make_actor, Role.CITIZEN, person_id=person())
    assert 'id="inbox-empty"' in client.get("/me/notifications?lang=en").text


def test_who_read_my_data_names_the_readers_organization(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    mother, _son, own, _sons = _family(client, make_actor, country, person, sessions)
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.a)
    assert client.get(f"/attachment/applications/{own}").status_code == 200
    sign_in(client, make_actor, Role.CITIZEN, person_id=mother)
    reads = client.get("/me/reads?lang=ru").text
    row = next(r for r in reads.split("<tr>") if "Просмотр вашего заявления о прикреплении" in r)
    assert "Городская поликлиника №3" in row and "заявление на прикрепление" in row


def test_a_representation_on_a_document_that_does_not_fit_is_refused_with_the_form_kept(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    mother, son, _own, _sons = _family(client, make_actor, country, person, sessions)
    father = person()
    with sessions() as s:
        iins = {p.id: p.iin for p in s.scalars(select(Person).where(Person.id.in_([father, son])))}
        before = s.scalar(select(func.count()).select_from(LegalRepresentation))
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.a)
    form = client.get("/representations/new?lang=ru").text
    typed = {
        "csrf": csrf_of(form),
        "representative_iin": iins[father],
        "represented_iin": iins[son],
        "basis": "parent",
        "document_kind": "guardianship_decision",
        "document_number": "I-АЛ 4242",
        "basis_document": "ЗАГС г. Астаны, 01.04.2015",
        "valid_from": "2015-04-01",
    }
    refused = client.post("/representations/new?lang=ru", data=typed, follow_redirects=False)
    assert refused.status_code == 422
    assert "этот документ не является основанием для такого вида представительства" in refused.text
    assert 'value="I-АЛ 4242"' in refused.text and f'value="{iins[son]}"' in refused.text
    assert '<option value="guardianship_decision" selected>' in refused.text
    kk = client.post("/representations/new?lang=kk", data={**typed, "basis": "power_of_attorney"})
    assert kk.status_code == 422 and 'id="representation-error"' in kk.text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(LegalRepresentation)) == before
    done = client.post(
        "/representations/new", data={**typed, "document_kind": "birth_certificate"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "записано" in client.get(done.headers["location"] + "&lang=ru").text
    with sessions() as s:
        row = s.scalar(select(LegalRepresentation).where(LegalRepresentation.representative_id == father))
        assert row is not None and row.represented_id == son and row.document_kind == "birth_certificate"
    assert mother != father


def test_the_portal_form_refuses_a_reason_outside_a42_with_the_form_kept(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    counts: Callable[[], tuple[int, ...]],
) -> None:
    pid = person()
    sign_in(client, make_actor, Role.CITIZEN, person_id=pid)
    district = country.districts[("A1", 1)]
    form = client.get(f"/attachment/apply?district_id={district}&lang=kk")
    assert form.status_code == 200 and 'id="uses-quota"' not in form.text
    before = counts()
    refused = client.post(
        "/attachment/apply?lang=kk",
        data={
            "csrf": csrf_of(form.text),
            "person_id": str(pid),
            "district_id": str(district),
            "change_reason": "holiday",
            "pregnant": "on",
        },
    )
    assert refused.status_code == 422 and counts() == before
    assert "Науқаннан тыс өзгертуге тек негізді себеппен рұқсат етіледі" in refused.text
    assert f'name="district_id" value="{district}"' in refused.text
    assert 'name="pregnant" checked' in refused.text
    assert f"/attachment/apply?person_id={pid}&amp;district_id={district}" in refused.text  # the language links
    assert "/me/notifications" in client.get("/attachment/notifications?lang=en").text
    # Choosing a person she does not represent is told at once, before anything else is typed.
    stranger = client.get(f"/attachment/apply?person_id={person()}&district_id={district}&lang=en").text
    assert 'id="not-representative"' in stranger and "valid legal representative" in stranger
