"""Journey in a real browser: the directory in Kazakh, search, switch to Russian, log in and out."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.builders.browser import DISPLAY_NAME, PASSWORD, USERNAME

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/emhana-directory.png"


def test_directory_in_kazakh_search_switch_to_russian_and_log_in(live_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/facilities?lang=kk")
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Дерекқордағы денсаулық сақтау субъектілері")
    expect(page.get_by_text("табылды: 2")).to_be_visible()

    page.get_by_label("Атауы, БСН немесе мекенжайы").fill("ҚАЛАЛЫҚ")
    page.get_by_role("button", name="Іздеу").click()
    page.wait_for_url(re.compile(r"q=%D2%9A"))
    results = page.locator(".results .entity")
    expect(results).to_have_count(1)
    expect(results.first.get_by_role("link")).to_contain_text("№3 қалалық емхана")
    expect(results.first).to_contain_text("Жалпы практика дәрігері (ЖПД)")
    page.get_by_label("Атауы, БСН немесе мекенжайы").fill("")
    page.get_by_role("button", name="Іздеу").click()
    expect(page.locator(".results .entity")).to_have_count(2)
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_role("navigation", name="Тіл").get_by_role("link", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Субъекты здравоохранения в базе данных")
    expect(page.get_by_text("ТОО «Денсаулык»")).to_be_visible()
    assert any(c["name"] == "lang" and c["value"] == "ru" for c in page.context.cookies())

    page.get_by_role("link", name=re.compile("ГКП на ПХВ")).click()
    expect(page.get_by_role("heading", name="Лицензии")).to_be_visible()
    expect(page.get_by_text("KZ12LAA00001234")).to_be_visible()

    page.get_by_role("navigation", name="Главное меню").get_by_role("link", name="Войти").click()
    page.get_by_label("Имя пользователя").fill(USERNAME)
    page.get_by_label("Пароль").fill("wrong password")
    page.get_by_role("button", name="Войти", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Неверное имя пользователя или пароль.")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти", exact=True).click()
    page.wait_for_url(f"{live_server}/")
    expect(page.get_by_text(DISPLAY_NAME)).to_be_visible()
    expect(page.get_by_text("Администратор Фонда")).to_be_visible()

    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("navigation", name="Главное меню").get_by_role("link", name="Войти")).to_be_visible()
    expect(page.get_by_text(DISPLAY_NAME)).to_have_count(0)


def test_near_me_lists_sites_by_distance(live_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/facilities?lang=en")
    page.get_by_label("Latitude").fill("43.25")
    page.get_by_label("Longitude").fill("76.90")
    page.get_by_role("button", name="Find nearest").click()
    near = page.locator(".near-results .result")
    expect(near.first).to_contain_text("Центр семейного здоровья «Денсаулык»")
    expect(near.first.locator(".distance")).to_have_text(re.compile(r"^1\.\d\d km$"))
    expect(near).to_have_count(3)
