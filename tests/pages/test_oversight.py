"""Oversight pages (issue 14): the Fund sees the accounts flagged for unusual read volume; a citizen sees who
read their identity data and why; nobody else sees either page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.identity import service
from emhana.kernel import clock
from emhana.pages.oversight import purpose_words

HTML = {"Accept": "text/html,application/xhtml+xml"}
MakeActor = Callable[..., tuple[Actor, str]]


def bearer(token: str) -> dict[str, str]:
    return {**HTML, "Authorization": f"Bearer {token}"}


@pytest.fixture
def reads(
    sessions: sessionmaker[Session], make_actor: MakeActor, person: Callable[..., int], seeded_entity: int
) -> tuple[int, Actor]:
    """A registrar of the seeded clinic who read a stranger three times for care, over a limit of two."""
    registrar, _ = make_actor(Role.REGISTRAR, entity_id=seeded_entity)
    stranger = person(born=dt.date(1990, 1, 1))
    with clock.use(clock.Fixed(dt.datetime(2025, 9, 10, 23, 30, tzinfo=clock.KZ_TIME))), sessions.begin() as s:
        for _ in range(3):
            service.get_person(session=s, actor=registrar, person_id=stranger, purpose="care", flag_after=2)
    return stranger, registrar


@pytest.mark.parametrize(
    ("lang", "title", "role"),
    [("en", "Unusual read volume", "Registrar"), ("ru", "Необычный объём просмотров", "Регистратор")],
)
def test_the_fund_sees_the_flagged_account_with_its_day_and_count(
    client: TestClient, make_actor: MakeActor, reads: tuple[int, Actor], lang: str, title: str, role: str
) -> None:
    _, registrar = reads
    _, fund = make_actor(Role.FUND_ADMIN)
    page = client.get(f"/oversight/reads?lang={lang}", headers=bearer(fund))
    assert page.status_code == 200
    assert f"<h1>{title}</h1>" in page.text
    assert registrar.username in page.text and role in page.text
    assert "10.09.2025" in page.text  # Kazakhstan's day of the reads (23:30 there is 18:30 UTC)
    assert '<td class="num">3</td>' in page.text
    assert 'href="/oversight/reads" aria-current="page"' in page.text


def test_the_fund_page_without_flags_says_so_in_kazakh(client: TestClient, make_actor: MakeActor) -> None:
    _, fund = make_actor(Role.FUND_ADMIN)
    page = client.get("/oversight/reads?lang=kk", headers=bearer(fund))
    assert "Бірде-бір есептік жазба күндік оқу шегінен аспады." in page.text


def test_the_citizen_sees_who_read_their_identity_data_and_why(
    client: TestClient, make_actor: MakeActor, reads: tuple[int, Actor]
) -> None:
    stranger, registrar = reads
    _, own = make_actor(Role.CITIZEN, person_id=stranger)
    page = client.get("/me/reads?lang=en", headers=bearer(own))
    assert page.status_code == 200
    assert page.text.count("Read your identity data") == 3
    assert page.text.count("medical care of the person") == 3 and registrar.display_name in page.text
    assert "10.09.2025 23:30" in page.text


@pytest.mark.parametrize("path", ["/oversight/reads", "/me/reads"])
def test_the_pages_admit_only_their_role(
    client: TestClient, make_actor: MakeActor, seeded_entity: int, path: str
) -> None:
    assert client.get(path, headers=HTML, follow_redirects=False).status_code in (303, 401)
    _, registrar = make_actor(Role.REGISTRAR, entity_id=seeded_entity)
    assert client.get(path, headers=bearer(registrar)).status_code == 403


@pytest.mark.parametrize(
    ("logged", "words"),
    [
        ("issue", {"kk": "медициналық кітапшаны беру", "ru": "выдача медицинской книжки"}),
        ("history of attachments", {"kk": "бекітулер тарихы", "ru": "история прикреплений"}),
        ("owner", {"ru": "владелец читает свою книжку"}),
        ("care: follow-up", {"en": "medical care of the person: follow-up"}),
    ],
)
def test_the_owner_reads_every_purpose_in_words_not_codes(logged: str, words: dict[str, str]) -> None:
    for lang, expected in words.items():
        assert purpose_words(lang, logged).lower().startswith(expected.lower()), (lang, purpose_words(lang, logged))
