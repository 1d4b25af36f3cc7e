"""The clinic search from where a person is, in the JSON API (api/attachment/places.py): from a typed address, with
problem+json codes in kk/ru/en for an address that does not resolve, and from the citizen's own address by kind."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from emhana.accounts.roles import Role
from tests.builders.attachment import Country

Headers = Callable[..., dict[str, str]]


def test_a_typed_address_finds_the_nearest_sites_and_says_the_street_is_not_located(
    client: TestClient, country: Country
) -> None:
    r = client.get("/api/v1/attachment/near/address", params={"text": "Астана, пр. Абая 20", "limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["origin"] == {
        "kato": "710000000",
        "name_kk": "Астана қ.",
        "name_ru": "г.Астана",
        "lat": 51.1801,
        "lon": 71.44598,
        "precision": "place",
        "area_kato": "710000000",
        "street": "пр. Абая 20",
        "street_located": False,
    }
    sites = body["sites"]
    assert [s["site_id"] for s in sites] == [country.sites["A2"], country.sites["B1"], country.sites["A1"]]
    assert sites[0]["districts"][0]["free"] == 5
    assert [s["distance_km"] for s in sites] == sorted(s["distance_km"] for s in sites)
    almaty = client.get("/api/v1/attachment/near/address", params={"kato": "750000000", "limit": 1}).json()
    assert almaty["sites"][0]["site_id"] == country.sites["C1"]


def test_an_address_that_does_not_resolve_is_a_coded_problem_in_three_languages(
    client: TestClient, country: Country
) -> None:
    r = client.get("/api/v1/attachment/near/address", params={"text": "Атлантида"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "reference.address_not_found"
    assert body["messages"]["ru"] == "В адресе «Атлантида» не найден населённый пункт классификатора КАТО."
    assert body["messages"]["kk"].startswith("«Атлантида» мекенжайынан")
    assert body["messages"]["en"] == "No settlement of the KATO classifier was found in the address “Атлантида”."
    many = client.get("/api/v1/attachment/near/address", params={"text": "Карааул"}).json()
    assert many["code"] == "reference.address_ambiguous"
    assert {"kato": "103230100", "name_ru": "область Абай, Абайский район, с.Карааул"}.items() <= many["errors"][
        0
    ].items()
    unknown = client.get("/api/v1/attachment/near/address", params={"kato": "999999999"}).json()
    assert unknown["code"] == "reference.unknown_kato"


def test_near_work_starts_from_the_citizens_work_address(
    client: TestClient, country: Country, person: Callable[..., int], auth: Headers
) -> None:
    pid = person(addresses=[("permanent", "710000000"), ("work", "750000000")])
    headers = auth(Role.CITIZEN, person_id=pid)
    r = client.get("/api/v1/attachment/near/mine", params={"kind": "work", "limit": 1}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["origin"]["precision"] == "address" and r.json()["origin"]["kato"] == "750000000"
    missing = client.get("/api/v1/attachment/near/mine", params={"kind": "study"}, headers=headers)
    assert missing.status_code == 422 and missing.json()["code"] == "identity.no_address_of_kind"
    assert client.get("/api/v1/attachment/near/mine", params={"kind": "work"}).status_code == 401
    registrar = auth(Role.REGISTRAR, entity_id=country.a)
    assert client.get("/api/v1/attachment/near/mine", headers=registrar).status_code == 403
