"""The Fund's oversight of read volume in a real browser (issue 14): a registrar reads one stranger's identity
data more often in a day than the limit allows; the Fund logs in, opens the page from the main menu and finds
the registrar's account flagged, in Russian and in Kazakh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from emhana.accounts.roles import Role
from emhana.accounts.service import actor_of, create_account
from emhana.app import create_app
from emhana.facilities.models import Entity
from emhana.identity import service
from emhana.kernel.config import Settings
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from emhana.kernel.migrate import upgrade
from tests.builders.browser import PASSWORD, USERNAME, seed
from tests.builders.people import add_person
from tests.builders.servers import serve

pytestmark = pytest.mark.browser

REGISTRAR = "Бақыт Регистратова"


@pytest.fixture(scope="module")
def flagged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve a database where a registrar passed a read limit of 2 today."""
    url = f"sqlite:///{tmp_path_factory.mktemp('oversight') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    stranger = add_person(sessions, born=dt.date(1990, 1, 1))
    with unit_of_work(sessions) as s:
        entity_id = s.scalar(select(Entity.id).order_by(Entity.id).limit(1))
        account = create_account(
            session=s,
            username="registrar.bakyt",
            password="another-horse-battery",
            role=Role.REGISTRAR,
            display_name=REGISTRAR,
            entity_id=entity_id,
        )
        for _ in range(3):
            service.get_person(session=s, actor=actor_of(account), person_id=stranger, purpose="care", flag_after=2)
    engine.dispose()
    with serve(create_app(Settings(database_url=url))) as base:
        yield base


def test_the_fund_finds_the_flagged_registrar_from_the_main_menu(flagged_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{flagged_server}/login?lang=ru")
    page.get_by_label("Имя пользователя").fill(USERNAME)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти", exact=True).click()
    page.wait_for_url(f"{flagged_server}/")

    menu = page.get_by_role("navigation", name="Главное меню")
    menu.get_by_role("link", name="Необычный объём просмотров").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Необычный объём просмотров")
    row = page.locator("table.flagged tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text(REGISTRAR)
    expect(row.first).to_contain_text("registrar.bakyt")
    expect(row.first).to_contain_text("Регистратор")
    expect(row.first.locator("td.num")).to_have_text("3")

    page.get_by_role("navigation", name="Язык").get_by_role("link", name="Қазақша").click()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Оқудың әдеттен тыс көлемі")
    expect(page.locator("table.flagged tbody tr").first).to_contain_text(REGISTRAR)
