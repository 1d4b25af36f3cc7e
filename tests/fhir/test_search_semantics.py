"""Search semantics of the FHIR door, for every type: the total only (``_count=0``, ``_summary=count``), exact or
absent totals (``_total``, fhirpy's ``_totalMethod``), subsets (``_summary``, ``_elements``), ``Prefer: handling``
and links that never carry an IIN yet replay the search. fhirpy's sync client runs against the app in process."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from fhirpy import SyncFHIRClient
from fhirpy.base import lib_sync

from emhana.fhir import systems
from tests.builders.fhir import FhirWorld

FHIR_JSON = "application/fhir+json"
TWELVE_DIGITS = re.compile(r"\d{12}")


class InProcess:
    """What fhirpy needs of ``requests``, answered by the app through a TestClient (paths only: the links name
    the server's public address); it counts the requests, and stops a client that would loop."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.urls: list[str] = []

    def request(self, method: str, url: str, json: Any = None, headers: dict[str, str] | None = None, **_: Any) -> Any:
        self.urls.append(url)
        assert len(self.urls) < 20, f"the client is looping: {self.urls[-3:]}"
        parts = urlsplit(url)
        return self.client.request(
            method, parts.path + (f"?{parts.query}" if parts.query else ""), json=json, headers=headers
        )


@pytest.fixture
def fhirpy(
    client: TestClient, fw: FhirWorld, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SyncFHIRClient, InProcess]]:
    transport = InProcess(client)
    monkeypatch.setattr(lib_sync, "requests", transport)
    base = client.get("/fhir/R4/metadata").json()["implementation"]["url"]
    yield SyncFHIRClient(base, authorization=fw.w.h["mis_a"]["Authorization"]), transport


def search(
    client: TestClient, fw: FhirWorld, rtype: str, headers: dict[str, str] | None = None, /, **params: str
) -> Any:
    return client.get(
        f"/fhir/R4/{rtype}", params=params, headers={**fw.w.h["mis_a"], "Accept": FHIR_JSON, **(headers or {})}
    )


def links(bundle: dict[str, Any]) -> dict[str, str]:
    return {link["relation"]: link["url"] for link in bundle["link"]}


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_fhirpy_fetch_all_ends_with_count_zero_and_count_works(fhirpy: tuple[SyncFHIRClient, InProcess]) -> None:
    fhir, transport = fhirpy
    assert fhir.resources("Practitioner").limit(0).fetch_all() == []
    assert len(transport.urls) == 1  # one page, no next link to follow
    assert fhir.resources("Practitioner").count() == 2  # _count=0&_totalMethod=count
    assert "_totalMethod=count" in transport.urls[-1]
    before = len(transport.urls)
    everyone = fhir.resources("Practitioner").limit(1).fetch_all()
    assert len(everyone) == 2 and len({p["id"] for p in everyone}) == 2
    assert len(transport.urls) - before == 2  # two pages of one, no third


def test_count_zero_and_summary_count_give_the_total_only(client: TestClient, fw: FhirWorld) -> None:
    for params in ({"_count": "0"}, {"_summary": "count"}, {"_summary": "count", "_count": "1"}):
        r = search(client, fw, "Practitioner", **params)
        assert r.status_code == 200, r.text
        bundle = r.json()
        assert bundle["total"] == 2 and "entry" not in bundle, bundle
        assert list(links(bundle)) == ["self"]
        assert {k: v[0] for k, v in query(links(bundle)["self"]).items() if k in params} == params
    none = search(client, fw, "Practitioner", _summary="count", _total="none").json()
    assert "total" not in none and "entry" not in none


def test_total_is_exact_or_absent(client: TestClient, fw: FhirWorld) -> None:
    for mode in ("estimate", "accurate"):
        assert search(client, fw, "Practitioner", _total=mode).json()["total"] == 2
    assert search(client, fw, "Practitioner", _totalMethod="count", _count="0").json()["total"] == 2
    page = search(client, fw, "Practitioner", _total="none", _count="1").json()
    assert "total" not in page and len(page["entry"]) == 1
    nxt = links(page)["next"]
    assert query(nxt)["_total"] == ["none"] and query(nxt)["_offset"] == ["1"]
    last = client.get(path_of(nxt), headers=fw.w.h["mis_a"]).json()
    assert len(last["entry"]) == 1 and "next" not in links(last) and "total" not in last
    for bad in ({"_total": "lots"}, {"_totalMethod": "guess"}, {"_summary": "maybe"}, {"_count": "-1"}):
        r = search(client, fw, "Practitioner", **bad)
        name = next(iter(bad))
        assert r.status_code == 400 and r.json()["issue"][0]["expression"] == [name], r.text


def test_a_next_link_never_points_to_its_own_page(client: TestClient, fw: FhirWorld) -> None:
    for params in (
        {},
        {"_count": "0"},
        {"_count": "1"},
        {"_count": "1", "_offset": "1"},
        {"_count": "5", "_offset": "9"},
    ):
        bundle = search(client, fw, "Practitioner", **params).json()
        urls = links(bundle)
        assert "next" not in urls or urls["next"] != urls["self"], params
    big = search(client, fw, "Practitioner", _count="1000").json()  # more than the page size: served as 100
    assert query(links(big)["self"])["_count"] == ["100"] and len(big["entry"]) == 2


def test_summary_and_elements_subset_the_matches(client: TestClient, fw: FhirWorld) -> None:
    full = search(client, fw, "Practitioner").json()["entry"][0]["resource"]
    assert "qualification" in full and "meta" not in full or "SUBSETTED" not in str(full.get("meta"))
    summary = search(client, fw, "Practitioner", _summary="true").json()["entry"][0]["resource"]
    assert "qualification" not in summary and summary["name"] == full["name"]  # qualification is not a summary element
    assert summary["meta"]["tag"][0]["code"] == "SUBSETTED"
    text = search(client, fw, "Practitioner", _summary="text").json()["entry"][0]["resource"]
    assert set(text) == {"resourceType", "id", "meta"}
    assert search(client, fw, "Practitioner", _summary="data").json()["entry"][0]["resource"] == full  # no text
    assert search(client, fw, "Practitioner", _summary="false").json()["entry"][0]["resource"] == full
    elements = search(client, fw, "Practitioner", _elements="identifier,name").json()
    assert set(elements["entry"][0]["resource"]) == {"resourceType", "id", "meta", "identifier", "name"}
    assert query(links(elements)["self"])["_elements"] == ["identifier,name"]
    bad = search(client, fw, "Practitioner", _elements="name;drop")
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["_elements"]


def test_prefer_handling_strict_refuses_and_lenient_ignores(client: TestClient, fw: FhirWorld) -> None:
    for headers in ({}, {"Prefer": "handling=strict"}):
        r = search(client, fw, "Practitioner", headers, family="Ахметова")
        assert r.status_code == 400 and r.json()["issue"][0]["code"] == "not-supported"
        assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "fhir.unsupported_search"
    r = search(client, fw, "Practitioner", {"Prefer": "return=minimal, handling=lenient"}, family="x", _sort="name")
    assert r.status_code == 200, r.text
    assert r.headers["preference-applied"] == "handling=lenient"
    bundle = r.json()
    assert bundle["total"] == 2 and not {"family", "_sort"} & set(query(links(bundle)["self"]))
    outcomes = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert len(outcomes) == 1 and len(bundle["entry"]) == 3
    assert [i["expression"] for i in outcomes[0]["resource"]["issue"]] == [["family"], ["_sort"]]
    assert {i["severity"] for i in outcomes[0]["resource"]["issue"]} == {"warning"}
    invalid = search(client, fw, "Practitioner", {"Prefer": "handling=lenient"}, _id="abc")
    assert invalid.status_code == 400  # a supported criterion with a wrong value is never ignored
    strict = search(client, fw, "Practitioner", {"Prefer": "handling=strict"})
    assert strict.status_code == 200 and strict.headers["preference-applied"] == "handling=strict"


def answers(client: TestClient, fw: FhirWorld, rtype: str, iin: str) -> list[Any]:
    """The GET and the POST search of a type by IIN, the second asking for pages of zero (links only)."""
    value = f"{systems.IIN}|{iin}"
    return [
        search(client, fw, rtype, identifier=value),
        search(client, fw, rtype, identifier=value, _count="1", _offset="1"),
        client.post(f"/fhir/R4/{rtype}/_search", data={"identifier": value}, headers=fw.w.h["mis_a"]),
        client.post(f"/fhir/R4/{rtype}/_search", data={"identifier": value, "_count": "0"}, headers=fw.w.h["mis_a"]),
    ]


@pytest.mark.parametrize("rtype", ["Patient", "Practitioner"])
def test_links_of_a_search_by_iin_carry_no_iin_and_replay_it(client: TestClient, fw: FhirWorld, rtype: str) -> None:
    iin = fw.w.cook_iin if rtype == "Patient" else fw.signer.iin
    for r in answers(client, fw, rtype, iin):
        assert r.status_code == 200, r.text
        bundle = r.json()
        urls = [link["url"] for link in bundle["link"]]
        for text in [*urls, *(f"{k}: {v}" for k, v in r.headers.items())]:
            assert iin not in text and not TWELVE_DIGITS.search(text.split("_hidden=")[0]), text
            assert not TWELVE_DIGITS.search(text), text  # the sealed token holds no run of 12 digits either
        self_link = links(bundle)["self"]
        assert "identifier" not in query(self_link) and len(query(self_link)["_hidden"]) == 1
        again = client.get(path_of(self_link), headers=fw.w.h["mis_a"])
        assert again.status_code == 200 and again.json().get("total") == bundle.get("total") == 1
        if "entry" in bundle:
            assert again.json()["entry"][0]["resource"]["identifier"][0]["value"] == iin
    everyone = search(client, fw, rtype, _count="0") if rtype == "Practitioner" else None
    assert everyone is None or everyone.json()["total"] == 2  # the criterion was kept: not every practitioner


def test_a_sealed_search_opens_only_as_made_and_for_an_hour(
    client: TestClient, fw: FhirWorld, at: Callable[[dt.datetime], None]
) -> None:
    bundle = search(client, fw, "Practitioner", identifier=f"{systems.IIN}|{fw.signer.iin}").json()
    self_link = links(bundle)["self"]
    token = query(self_link)["_hidden"][0]

    def code(path: str, **params: str) -> tuple[int, Any]:
        r = client.get(path, params=params, headers=fw.w.h["mis_a"])
        return r.status_code, (r.json()["issue"][0]["details"]["coding"][0]["code"] if r.status_code >= 400 else None)

    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert code("/fhir/R4/Practitioner", _hidden=tampered) == (400, "fhir.bad_cursor")
    assert code("/fhir/R4/Patient", _hidden=token) == (400, "fhir.bad_cursor")  # made for another type
    assert code("/fhir/R4/Practitioner", _hidden="not a token") == (400, "fhir.bad_cursor")
    assert code("/fhir/R4/Practitioner", _hidden=token, identifier=f"{systems.IIN}|{fw.signer.iin}")[0] == 400
    assert code("/fhir/R4/Practitioner", _hidden=token) == (200, None)
    at(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    assert code("/fhir/R4/Practitioner", _hidden=token) == (400, "fhir.bad_cursor")
