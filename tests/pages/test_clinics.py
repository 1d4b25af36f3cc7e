"""The citizen's clinic search page (pages/attachment/clinics.py) through TestClient: from a typed address, near
work, from a point; an address that does not resolve keeps the form and says why, coded; the results link to the
apply form with the district chosen; the map's data is embedded for the script and the page works without it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.identity.models import PersonAddress
from tests.builders.attachment import Country
from tests.builders.web import login

MakeActor = Callable[..., tuple[Actor, str]]


def _sign_in(client: TestClient, make_actor: MakeActor, pid: int) -> None:
    actor, _ = make_actor(Role.CITIZEN, person_id=pid)
    assert login(client, actor.username).status_code == 303


def _map(html: str) -> dict:  # type: ignore[type-arg]
    found = re.search(r"<div id=\"clinic-map\"[^>]* data-map='([^']*)'", html)
    assert found, "no map data"
    return json.loads(unescape(found.group(1)))  # type: ignore[no-any-return]


def _address(
    sessions: sessionmaker[Session], pid: int, kind: str, kato: str, point: tuple[float, float] | None
) -> None:
    with sessions.begin() as s:
        lat, lon = point or (None, None)
        s.add(PersonAddress(person_id=pid, kind=kind, kato_code=kato, kato_version="NK RK 11-2025", lat=lat, lon=lon))


def test_a_typed_address_near_work_and_a_point_each_find_the_sites(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    pid = person()
    _address(sessions, pid, "work", "750000000", (43.24, 76.9))
    _address(sessions, pid, "study", "351010000", None)  # recorded without coordinates: located by its settlement
    _sign_in(client, make_actor, pid)
    page = client.get("/attachment/clinics", params={"q": "Алматы, ул. Толе би 101", "lang": "ru"})
    assert page.status_code == 200
    assert "Поиск от: г.Алматы." in page.text
    assert "Улицы «ул. Толе би 101» нет в данных: поиск начинается от населённого пункта." in page.text
    assert 'value="Алматы, ул. Толе би 101"' in page.text  # the typed address stays in its field
    data = _map(page.text)
    assert data["origin"]["lat"] == 43.25249 and data["sites"][0]["id"] == country.sites["C1"]
    assert data["tiles"] == "" and data["places"]  # the offline base: settlements around the search
    district = country.districts[("C1", 1)]
    assert f"/attachment/apply?district_id={district}&amp;lat=43.252490&amp;lon=76.911500" in page.text

    work = client.get("/attachment/clinics", params={"origin": "work", "lang": "en"})
    assert 'id="near-work"' in work.text and 'id="near-permanent"' in work.text and 'id="near-actual"' not in work.text
    assert _map(work.text)["sites"][0]["id"] == country.sites["C1"]
    study = client.get("/attachment/clinics", params={"origin": "study", "lang": "en"})
    assert "Searching from Karaganda Region" not in study.text  # names come from the classifier, in kk or ru
    assert _map(study.text)["origin"]["lat"] == 49.80187
    point = client.get("/attachment/clinics", params={"lat": "51.15", "lon": "71.45", "lang": "en"})
    assert "Searching from the point 51.15000, 71.45000." in point.text
    assert _map(point.text)["sites"][0]["id"] == country.sites["B1"]


def test_an_address_that_does_not_resolve_keeps_the_form_and_says_why_in_each_language(
    client: TestClient, make_actor: MakeActor, country: Country, person: Callable[..., int]
) -> None:
    _sign_in(client, make_actor, person())
    kk = client.get("/attachment/clinics", params={"q": "Атлантида", "lang": "kk"})
    assert kk.status_code == 422
    assert 'data-code="reference.address_not_found"' in kk.text and 'value="Атлантида"' in kk.text
    assert "«Атлантида» мекенжайынан ӘАОЖ (КАТО) жіктеуішінің елді мекені табылмады." in kk.text
    many = client.get("/attachment/clinics", params={"q": "Карааул", "lang": "ru"})
    assert many.status_code == 422 and 'data-code="reference.address_ambiguous"' in many.text
    assert "область Абай, Абайский район, с.Карааул" in many.text
    chosen = client.get("/attachment/clinics", params={"kato": "103230100", "q": "Карааул", "lang": "en"})
    assert chosen.status_code == 200
    assert "has no coordinates in the data: searching, approximately, from the centre" in chosen.text
    none = client.get("/attachment/clinics", params={"origin": "work", "lang": "en"})
    assert none.status_code == 422 and "No current address of this kind is recorded for you." in none.text
