"""The published list of participating entities of a campaign year (B-02): versions kept, publication date, digest,
the public JSON route and page, and its refusals as problem+json in kk, ru and en."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import participants
from emhana.attachment.participants import CampaignNotFound
from emhana.facilities import publication
from emhana.facilities.models import Entity
from emhana.facilities.publication import ParticipantListEntry
from emhana.facilities.rules import InclusionStatus
from emhana.facilities.service import change_inclusion, get_entity
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.errors import InvalidDates
from tests.builders.attachment import Country

URL = "/api/v1/facilities/participant-lists"
NOW = dt.datetime(2025, 9, 10, 10, 0, tzinfo=KZ_TIME)
TODAY = NOW.date()


def _publish(s: Session, actor: Actor | None, year: int = 2025, day: dt.date = TODAY) -> publication.ParticipantList:
    return participants.publish(session=s, actor=actor, year=year, published_on=day, today=TODAY, now=NOW)


def test_each_publication_is_a_new_version_and_the_earlier_ones_stay(
    sessions: sessionmaker[Session], country: Country, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    fund, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s:
        first = _publish(s, fund, day=dt.date(2025, 8, 31))
        assert (first.version, first.count, first.as_of) == (1, 3, dt.date(2025, 9, 1))  # the period's first day
        first_id, first_digest = first.id, first.digest
        b = get_entity(session=s, entity_id=country.b)
        change_inclusion(
            session=s,
            actor=fund,
            entity=b,
            status=InclusionStatus.EXCLUDED,
            effective_from=dt.date(2025, 9, 5),
            reason="licence revoked",
        )
    with sessions.begin() as s:
        s.execute(update(Entity).where(Entity.id == country.a).values(name_ru="Переименована"))
        second = _publish(s, fund)
        assert (second.version, second.count, second.as_of, second.published_on) == (2, 2, TODAY, TODAY)
        assert country.b not in {r.entity_id for r in publication.rows_of(second)}
    with sessions() as s:
        kept = publication.get_list(session=s, year=2025, version=1)
        assert kept.id == first_id and kept.digest == first_digest and publication.intact(kept)
        assert country.b in {r.entity_id for r in publication.rows_of(kept)}
        assert "Переименована" not in {r.name_ru for r in publication.rows_of(kept)}  # names as published
        assert publication.get_list(session=s, year=2025).version == 2
        assert [v.version for v in publication.versions(session=s, year=2025)] == [2, 1]


def test_a_changed_row_no_longer_matches_the_digest(sessions: sessionmaker[Session], country: Country) -> None:
    with sessions.begin() as s:
        lst = _publish(s, None)
        list_id = lst.id
    with sessions.begin() as s:
        s.execute(update(ParticipantListEntry).where(ParticipantListEntry.list_id == list_id).values(name_kk="X"))
    with sessions() as s:
        assert not publication.intact(publication.get_list(session=s, year=2025))


@pytest.mark.parametrize(
    ("year", "day", "error"),
    [
        (2025, TODAY + dt.timedelta(days=1), InvalidDates),
        (2031, TODAY, CampaignNotFound),
    ],
)
def test_a_future_date_or_an_unknown_campaign_is_refused(
    sessions: sessionmaker[Session], country: Country, year: int, day: dt.date, error: type[Exception]
) -> None:
    with sessions() as s, pytest.raises(error):
        _publish(s, None, year=year, day=day)


def test_a_version_cannot_be_dated_before_the_previous_one(sessions: sessionmaker[Session], country: Country) -> None:
    with sessions.begin() as s:
        _publish(s, None)
    with sessions() as s, pytest.raises(InvalidDates):
        _publish(s, None, day=TODAY - dt.timedelta(days=1))


def test_the_fund_publishes_through_the_api_and_anyone_reads_it(
    client: TestClient, auth: Callable[..., dict[str, str]], country: Country
) -> None:
    assert client.post(URL, json={"year": 2025}).status_code == 401
    assert client.post(URL, headers=auth(Role.REGISTRAR, entity_id=country.a), json={"year": 2025}).status_code == 403
    created = client.post(URL, headers=auth(Role.FUND_ADMIN), json={"year": 2025})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["version"], body["published_on"], body["count"]) == (1, "2025-09-10", 3)
    read = client.get(f"{URL}/2025")
    assert read.status_code == 200 and read.json() == body
    assert {e["bin"] for e in read.json()["entities"]} == {"150340001236", "201140004575", "180441000669"}
    assert client.get(URL).json()[0]["version"] == 1
    page = client.get("/participants/2025?lang=kk")
    assert page.status_code == 200 and "201140004575" in page.text and "2025" in page.text
    assert client.get("/participants?lang=en").status_code == 200


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("kk", "2030 жылға қатысушы субъектілердің тізімі жарияланған жоқ."),
        ("ru", "Список участвующих субъектов на 2030 год не опубликован."),
        ("en", "No list of participating entities has been published for 2030."),
    ],
)
def test_an_unpublished_year_is_a_coded_problem_in_each_language(
    client: TestClient, country: Country, lang: str, text: str
) -> None:
    answer = client.get(f"{URL}/2030", headers={"Accept-Language": lang})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "facilities.list_not_published" and answer.json()["detail"] == text
    page = client.get(f"/participants/2030?lang={lang}")
    assert page.status_code == 404 and text in page.text


def test_an_unknown_campaign_is_refused_in_the_readers_language(
    client: TestClient, auth: Callable[..., dict[str, str]], country: Country
) -> None:
    answer = client.post(URL, headers={**auth(Role.FUND_ADMIN), "Accept-Language": "ru"}, json={"year": 2031})
    assert answer.status_code == 404 and answer.json()["code"] == "attachment.campaign_not_found"
    assert answer.json()["detail"] == "Кампании по прикреплению на 2031 год нет."
