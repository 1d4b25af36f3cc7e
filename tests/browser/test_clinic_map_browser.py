"""Start from where you are, in a real browser (issue 16, items 4 and 2): a citizen types an address, uses "near
work", picks a point on the offline map and is told in her language when an address does not resolve, the form
kept; an organization's administrator changes a district's capacity and is refused a number already taken, the
form kept. No request leaves the server: the map is the vendored Leaflet over the reference data's places."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders.browser import PASSWORD, seed
from tests.builders.servers import serve

pytestmark = pytest.mark.browser

CITIZEN, ADMIN = "aru.citizen", "nurlan.admin"


def seed_people(url: str) -> None:
    """A citizen registered in Astana who works in Almaty, and the administrator of polyclinic No. 3 (Astana)."""
    import datetime as dt

    from emhana.accounts.roles import Role
    from emhana.accounts.service import create_account
    from emhana.facilities.service import get_entity_by_bin
    from emhana.identity.models import IdentityDocument, Person, PersonAddress
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            entity = get_entity_by_bin(session=s, bin_="150340001236")
            p = Person(
                iin="900412400157",
                surname="Серікова",
                given_name="Ару",
                birth_date=dt.date(1990, 4, 12),
                sex="female",
                category="citizen",
            )
            p.addresses = [
                PersonAddress(
                    kind="permanent",
                    kato_code="710000000",
                    kato_version="NK RK 11-2025",
                    text_kk="Астана қ., Абай даңғылы, 20",
                    text_ru="г.Астана, пр. Абая, 20",
                    lat=51.1301,
                    lon=71.4352,
                ),
                PersonAddress(
                    kind="work",
                    kato_code="750000000",
                    kato_version="NK RK 11-2025",
                    text_kk="Алматы қ., Төле би көшесі, 90",
                    text_ru="г.Алматы, ул. Толе би, 90",
                    lat=43.2395,
                    lon=76.8930,
                ),
            ]
            p.documents = [IdentityDocument(kind="id_card", number="045678123")]
            s.add(p)
            s.flush()
            create_account(
                session=s, username=CITIZEN, password=PASSWORD, role=Role.CITIZEN, display_name="Ару", person_id=p.id
            )
            create_account(
                session=s,
                username=ADMIN,
                password=PASSWORD,
                role=Role.ENTITY_ADMIN,
                display_name="Нұрлан Әкімші",
                entity_id=entity.id,
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def map_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from emhana.app import create_app
    from emhana.kernel.config import Settings
    from emhana.kernel.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('map') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    seed_people(url)
    with serve(create_app(Settings(database_url=url)), "uvicorn-map") as base:
        yield base


def sign_in(page: Any, base: str, username: str, lang: str) -> None:
    page.goto(f"{base}/login?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[action='/login'] button[type=submit]").click()


def watch(page: Any) -> tuple[list[str], list[str]]:
    """Collect script errors and console errors (a CSP violation is one; a page answered 4xx on purpose is not)
    and every request that leaves the server."""
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None,
    )
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:")) else None)
    return errors, outside


def test_a_citizen_starts_from_an_address_from_work_and_from_a_point_on_the_map(map_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    errors, outside = watch(page)
    sign_in(page, map_server, CITIZEN, "ru")
    page.get_by_role("navigation", name="Главное меню").get_by_role("link", name="Поликлиники рядом").click()
    # From her registration address: the map draws the origin and the sites, with the offline base's names.
    expect(page.locator("#near-origin")).to_contain_text("Поиск от вашего адреса: г.Астана, пр. Абая, 20.")
    expect(page.locator("#clinic-map.leaflet-container")).to_be_visible()
    expect(page.locator("#clinic-map .leaflet-tooltip", has_text="г.Астана")).to_be_visible()
    sites = page.locator(".near-results .clinic")
    expect(sites.first).to_be_visible()
    expect(page.locator("#clinic-map path[data-site]")).to_have_count(sites.count())  # a marker for every site
    expect(page.locator(".map-fallback")).to_be_hidden()
    expect(page.locator(".near-results .clinic").first).to_contain_text("Городская поликлиника №3")

    # A typed address: the settlement from KATO, the street honestly not located.
    page.get_by_label("Населённый пункт и улица").fill("Алматы, ул. Толе би 101")
    page.get_by_role("button", name="Найти ближайшие").click()
    expect(page.locator("#near-origin")).to_contain_text("Поиск от: г.Алматы.")
    expect(page.locator("#near-origin")).to_contain_text("Улицы «ул. Толе би 101» нет в данных")
    expect(page.locator(".near-results .clinic").first).to_contain_text("Центр семейного здоровья «Денсаулык»")
    page.screenshot(path="/tmp/emhana-clinic-map.png", full_page=True)

    # Near work, then a point picked on the map (a click, not typed coordinates).
    page.get_by_role("link", name="Рядом с работой").click()
    expect(page.locator("#near-origin")).to_contain_text("г.Алматы, ул. Толе би, 90")
    page.locator("#clinic-map").click(position={"x": 120, "y": 120})
    page.wait_for_url(re.compile(r"lat=\d+\.\d+&lon=\d+\.\d+"))
    expect(page.locator("#near-origin")).to_contain_text("Поиск от точки")

    # An address that does not resolve: a coded error, the form kept, in the language chosen next.
    page.get_by_label("Населённый пункт и улица").fill("Атлантида")
    page.get_by_role("button", name="Найти ближайшие").click()
    expect(page.locator("#near-error")).to_have_attribute("data-code", "reference.address_not_found")
    expect(page.locator("#near-error")).to_contain_text("В адресе «Атлантида» не найден населённый пункт")
    page.get_by_role("link", name="Қазақша").click()
    expect(page.locator("#near-error")).to_contain_text("«Атлантида» мекенжайынан")
    expect(page.get_by_label("Елді мекен және көше")).to_have_value("Атлантида")

    # A name several villages share: the candidates by region and district, one chosen.
    page.get_by_label("Елді мекен және көше").fill("Карааул")
    page.get_by_role("button", name="Ең жақынын табу").click()
    page.get_by_role("link", name="Абай облысы, Абай ауданы, Қараауыл а.").click()
    expect(page.locator("#near-origin")).to_contain_text("шамамен")
    page.get_by_role("link", name="English").click()
    expect(page.locator("#near-origin")).to_contain_text("searching, approximately, from the centre")

    # A district links to the apply form with the district chosen.
    page.locator(".near-results a.district-option").first.click()
    page.wait_for_url(re.compile(r"/attachment/apply\?district_id=\d+"))
    assert errors == [] and outside == [], (errors, outside)


def test_an_administrator_changes_capacity_and_a_refused_number_keeps_the_form(map_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    errors, _ = watch(page)
    sign_in(page, map_server, ADMIN, "en")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Sites of my organization").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sites of my organization")
    first = page.locator("form.district-form").first
    first.get_by_label("Capacity, people").fill("1800")
    first.get_by_role("button", name="Save the district").click()
    expect(page.locator("#saved")).to_have_text("The district is saved.")
    expect(page.locator("form.district-form").first.get_by_label("Capacity, people")).to_have_value("1800")

    first = page.locator("form.district-form").first
    first.get_by_label("District No.").fill("2")
    first.get_by_label("Capacity, people").fill("1750")
    first.get_by_role("button", name="Save the district").click()
    alert = page.locator("[data-code='facilities.district_number_taken']")
    expect(alert).to_have_text("The site already has a district No. 2.")
    expect(page.locator("form.district-form").first.get_by_label("Capacity, people")).to_have_value("1750")
    page.get_by_role("link", name="Русский").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Подразделения моей организации")
    assert errors == [], errors
