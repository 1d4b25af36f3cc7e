"""Journeys 1, 3 and 10 in a real browser: a citizen finds clinics near home with free places and applies;
a registrar opens the queue and approves a written application until the queue is empty; the Fund's
dashboard draws its charts. The server's campaign clock stands on 10 September 2025, inside the window."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from emhana.kernel.clock import KZ_TIME
from tests.builders.browser import PASSWORD, USERNAME, seed
from tests.builders.servers import serve

pytestmark = pytest.mark.browser

IN_WINDOW = dt.datetime(2025, 9, 10, 10, 0, tzinfo=KZ_TIME)
CITIZEN, REGISTRAR = "dana.citizen", "saule.registrar"


def seed_campaign(url: str) -> None:
    """Add the policies, a citizen with a home address in Astana, a registrar of polyclinic No. 3, and a
    written application of a pensioner waiting in that registrar's queue."""
    from emhana.accounts.roles import Role
    from emhana.accounts.service import actor_of, create_account
    from emhana.attachment.application import service
    from emhana.attachment.campaign.policy import seed_default_policies
    from emhana.attachment.enums import Channel, DocKind
    from emhana.attachment.schemas import ApplicationIn, DocumentIn
    from emhana.facilities.models import District
    from emhana.facilities.service import get_entity_by_bin
    from emhana.identity.models import IdentityDocument, Person, PersonAddress
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            seed_default_policies(s)
            entity = get_entity_by_bin(session=s, bin_="150340001236")
            people = []
            residents = (
                ("880315400123", "Нұрланқызы", "Дана", dt.date(1988, 3, 15), "female"),
                ("550101300127", "Омаров", "Серік", dt.date(1955, 1, 1), "male"),
            )
            for iin, surname, given, born, sex in residents:
                p = Person(iin=iin, surname=surname, given_name=given, birth_date=born, sex=sex, category="citizen")
                p.addresses = [
                    PersonAddress(
                        kind="permanent",
                        kato_code="710000000",
                        kato_version="NK RK 11-2025",
                        text_kk="Астана қ., Абай даңғылы, 20",
                        text_ru="г.Астана, пр. Абая, 20",
                        lat=51.1301,
                        lon=71.4352,
                    )
                ]
                p.documents = [IdentityDocument(kind="id_card", number=f"0{iin[:8]}")]
                s.add(p)
                people.append(p)
            s.flush()
            create_account(
                session=s,
                username=CITIZEN,
                password=PASSWORD,
                role=Role.CITIZEN,
                display_name="Дана Нұрланқызы",
                person_id=people[0].id,
            )
            registrar = create_account(
                session=s,
                username=REGISTRAR,
                password=PASSWORD,
                role=Role.REGISTRAR,
                display_name="Сәуле Тіркеуші",
                entity_id=entity.id,
            )
            s.flush()
            gp = next(d for site in entity.sites for d in site.districts if d.profile == "gp")
            assert isinstance(gp, District)
            service.submit(
                session=s,
                actor=actor_of(registrar),
                channel=Channel.WRITTEN,
                now=IN_WINDOW,
                data=ApplicationIn(
                    person_id=people[1].id,
                    district_id=gp.id,
                    documents=[
                        DocumentIn(kind=DocKind.WRITTEN_APPLICATION, number="W-17"),
                        DocumentIn(kind=DocKind.PENSION_CERTIFICATE, number="P-55"),
                        DocumentIn(kind=DocKind.ID_CARD, number="055010130"),
                    ],
                ),
                uploads=[service.Upload("application.pdf", "application/pdf", b"%PDF-1.4 scan")],
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def campaign_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the app over a seeded campaign with the process's clock inside the 2025 window."""
    from emhana.app import create_app
    from emhana.kernel import clock
    from emhana.kernel.config import Settings
    from emhana.kernel.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('campaign') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    seed_campaign(url)
    with clock.use(clock.Fixed(IN_WINDOW)):
        with serve(create_app(Settings(database_url=url)), "uvicorn-campaign") as base:
            yield base


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login?lang=ru")
    page.get_by_label("Имя пользователя").fill(username)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти", exact=True).click()
    page.wait_for_url(f"{base}/")


def test_citizen_finds_near_clinics_with_free_places_and_applies(campaign_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    log_in(page, campaign_server, CITIZEN)
    nav = page.get_by_role("navigation", name="Главное меню")
    nav.get_by_role("link", name="Моё прикрепление").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Моё прикрепление")
    expect(page.get_by_text("Сегодня действующего прикрепления нет.")).to_be_visible()
    page.get_by_role("link", name="Найти поликлинику и подать заявление").click()

    results = page.locator(".near-results .clinic")
    expect(results.first).to_contain_text("Городская поликлиника №3")
    expect(results.first.locator(".distance")).to_have_text(re.compile(r"^0,\d\d км$"))
    expect(results.first).to_contain_text("свободных мест: 1\xa0700")
    page.screenshot(path="/tmp/emhana-clinics.png", full_page=True)

    results.first.locator(".district-option", has_text="Врач общей практики").first.click()
    page.get_by_label("Основание прикрепления").select_option("residence_permanent")
    page.get_by_role("button", name="Отправить заявление").click()

    page.wait_for_url(re.compile(r"/attachment/applications/\d+$"))
    expect(page.locator("#state-title")).to_have_text("Одобрено")
    expect(page.get_by_text("Прикрепление вступает в силу 11.09.2025.")).to_be_visible()
    page.screenshot(path="/tmp/emhana-application.png", full_page=True)

    nav.get_by_role("link", name="Моё прикрепление").click()
    expect(page.get_by_text("Одобренное прикрепление, вступает в силу 11.09.2025")).to_be_visible()
    page.get_by_role("link", name="Қазақша").click()
    expect(page.get_by_text("Мақұлданған бекіту, 11.09.2025 бастап күшіне енеді")).to_be_visible()
    page.screenshot(path="/tmp/emhana-my-attachment.png", full_page=True)


def test_registrar_approves_the_written_application_and_the_queue_empties(campaign_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    log_in(page, campaign_server, REGISTRAR)
    page.get_by_role("navigation", name="Главное меню").get_by_role("link", name="Очередь заявлений").click()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Омаров Серік")
    expect(rows.first).to_contain_text("Письменно")
    page.screenshot(path="/tmp/emhana-queue.png", full_page=True)

    rows.first.get_by_role("link", name="Рассмотреть").click()
    expect(page.get_by_text("Пенсионное удостоверение")).to_be_visible()
    page.get_by_label("Одобрить").check()
    page.get_by_label("Текст мотивированного отказа").fill("Документы проверены")
    page.screenshot(path="/tmp/emhana-decide.png", full_page=True)
    page.get_by_role("button", name="Записать решение").click()

    page.wait_for_url(re.compile(r"/attachment/queue\?decided=\d+$"))
    expect(page.get_by_role("status")).to_contain_text("принято решение")
    expect(page.locator("#queue-empty")).to_have_text("Заявлений, ожидающих решения, нет.")
    expect(page.locator("table.queue")).to_have_count(0)


def test_fund_dashboard_draws_charts_without_scripts(campaign_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    log_in(page, campaign_server, USERNAME)
    page.get_by_role("navigation", name="Главное меню").get_by_role("link", name="Кампания по прикреплению").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Кампания по прикреплению 2025")
    expect(page.get_by_role("img", name="Заявления по дням")).to_be_visible()
    expect(page.get_by_role("img", name="Потоки между организациями")).to_be_visible()
    page.screenshot(path="/tmp/emhana-dashboard.png", full_page=True)
