"""The organization administrator's sites page (pages/entity_sites.py) through TestClient: only the entity admin,
own organization only; a saved change redirects back; a refused one keeps what was typed, coded, in the language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.facilities.models import District, Post, Practitioner
from tests.builders.attachment import Country
from tests.builders.web import csrf_of, login

MakeActor = Callable[..., tuple[Actor, str]]


def test_the_administrator_changes_capacity_and_a_refusal_keeps_the_form(
    client: TestClient, make_actor: MakeActor, country: Country, sessions: sessionmaker[Session]
) -> None:
    me, _ = make_actor(Role.ENTITY_ADMIN, entity_id=country.a)
    assert login(client, me.username).status_code == 303
    page = client.get("/entity/sites?lang=ru")
    assert page.status_code == 200 and "Подразделения моей организации" in page.text
    site, district = country.sites["A1"], country.districts[("A1", 1)]
    assert f'action="/entity/sites/{country.sites["B1"]}"' not in page.text  # another organization's site
    form = {"csrf": csrf_of(page.text), "number": "1", "profile": "gp", "capacity": "1800", "doctor_id": ""}
    saved = client.post(f"/entity/sites/{site}/districts/{district}", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/entity/sites?saved=district#district-{district}"
    with sessions() as s:
        assert s.scalar(select(District.capacity).where(District.id == district)) == 1800
    assert "Участок сохранён." in client.get("/entity/sites?saved=district&lang=ru").text

    refused = client.post(
        f"/entity/sites/{site}/districts/{district}?lang=kk", data={**form, "number": "2", "capacity": "1750"}
    )
    assert refused.status_code == 409
    assert 'data-code="facilities.district_number_taken"' in refused.text
    assert "Бөлімшеде № 2 учаске бұрыннан бар." in refused.text
    assert 'id="capacity-' + str(district) + '" name="capacity" inputmode="numeric" value="1750"' in refused.text
    assert 'href="/entity/sites?lang=ru"' in refused.text  # the language links lead to the page, not the POST
    added = client.post(
        f"/entity/sites/{site}/districts",
        data={"csrf": form["csrf"], "number": "9", "profile": "pediatric", "capacity": "0", "doctor_id": ""},
    )
    assert added.status_code == 422 and 'data-code="facilities.capacity_invalid"' in added.text
    assert '<details class="add-district" open>' in added.text

    other = client.post(f"/entity/sites/{country.sites['B1']}/districts/{country.districts[('B1', 1)]}", data=form)
    assert other.status_code == 404


def test_only_the_entity_admin_opens_the_page(client: TestClient, make_actor: MakeActor, country: Country) -> None:
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    assert login(client, registrar.username).status_code == 303
    assert client.get("/entity/sites").status_code == 403


def test_the_administrator_gives_a_post_and_closes_it(
    client: TestClient, make_actor: MakeActor, country: Country, sessions: sessionmaker[Session]
) -> None:
    me, _ = make_actor(Role.ENTITY_ADMIN, entity_id=country.a)
    assert login(client, me.username).status_code == 303
    csrf = csrf_of(client.get("/entity/sites").text)
    typed = {"csrf": csrf, "iin": "880315400124", "surname": "Ахметова", "given_name": "Айгерим", "title": "Терапевт"}
    refused = client.post("/entity/practitioners?lang=ru", data=typed)
    assert refused.status_code == 422 and 'data-code="identity.invalid_iin"' in refused.text
    assert 'id="surname" name="surname" value="Ахметова"' in refused.text
    given = client.post("/entity/practitioners", data={**typed, "iin": "880315401237"}, follow_redirects=False)
    assert given.status_code == 303 and given.headers["location"] == "/entity/sites?saved=post#staff"
    with sessions() as s:
        post_id = s.scalars(select(Post.id).join(Practitioner).where(Practitioner.iin == "880315401237")).one()
    page = client.get("/entity/sites?lang=en").text
    assert f'id="post-{post_id}-row"' in page and "Ахметова Айгерим" in page
    bad = client.post(f"/entity/posts/{post_id}/end?lang=en", data={"csrf": csrf, "last_day": "31.02.2025"})
    assert bad.status_code == 422 and "Enter a date as DD.MM.YYYY." in bad.text and 'value="31.02.2025"' in bad.text
    ended = client.post(f"/entity/posts/{post_id}/end", data={"csrf": csrf, "last_day": ""}, follow_redirects=False)
    assert ended.headers["location"] == "/entity/sites?saved=ended#staff"
    assert "The post is closed." in client.get("/entity/sites?saved=ended&lang=en").text
    with sessions() as s:  # an empty last day is today: the post ends after it
        post = s.get(Post, post_id)
        assert post is not None and post.valid_to == post.valid_from + dt.timedelta(days=1)
