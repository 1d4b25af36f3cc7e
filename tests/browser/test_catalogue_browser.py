"""Journey in a real browser: anyone reads the catalogue of decreed groups (§3.7) in Kazakh, Russian and English,
finds it from the footer, sees each group's examinations by name with when and how often they are required, the
unverified ones marked (C-52), and the closed 2015 scope under history (C-51)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/emhana-catalogue.png"


def test_the_catalogue_in_three_languages_marks_the_unverified_and_keeps_2015_as_history(
    live_server: str, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/facilities?lang=ru")
    page.locator("footer").get_by_role("link", name="Декретированные группы").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Декретированные группы и их обследования")
    catering = page.locator("section.catalogue-group").filter(
        has=page.get_by_role("heading", level=2, name="Общественное питание")
    )
    expect(catering).to_have_count(1)
    typhoid = catering.get_by_role("row").filter(has_text="Серологическое исследование на брюшной тиф")
    expect(typhoid).to_contain_text("При приёме на работу")
    expect(typhoid).to_contain_text("однократно")
    expect(typhoid).to_contain_text("Не подтверждено")
    gynecologist = catering.get_by_role("row").filter(has_text="Гинеколог")
    expect(gynecologist).to_contain_text("Периодически")
    expect(gynecologist).to_contain_text("раз в 12 мес.")
    expect(gynecologist).to_contain_text("Женщины")
    in_force = page.locator("section.catalogue-group:not(.history)")
    expect(in_force).to_have_count(8)
    expect(in_force.locator(".unverified-tag").first).to_be_visible()
    assert "typhoid_serology" not in page.content() and "decreed_2015" not in page.content()  # names, never codes

    expect(page.get_by_role("heading", level=2, name="История")).to_be_visible()
    history = page.locator("section.history")
    expect(history).to_have_count(1)
    expect(history.get_by_role("heading", level=3)).to_have_text(
        "Декретированная группа населения (объём обследования 2015 года)"
    )
    expect(history).to_contain_text("Действовал с 24.02.2015 до 15.10.2020.")
    expect(history).to_contain_text("Сверено с текстом своего времени.")
    expect(history.locator(".unverified-tag")).to_have_count(0)  # verified for its time (C-51)
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_role("navigation", name="Язык").get_by_role("link", name="Қазақша").click()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Декреттелген топтар және олардың тексерулері")
    row = (
        page.locator("section.catalogue-group")
        .filter(has=page.get_by_role("heading", level=2, name="Қоғамдық тамақтану"))
        .get_by_role("row")
        .filter(has_text="Іш сүзегіне серологиялық зерттеу")
    )
    expect(row).to_contain_text("Жұмысқа қабылдау кезінде")
    expect(row).to_contain_text("Расталмаған")
    expect(page.get_by_role("heading", level=2, name="Тарих")).to_be_visible()

    page.get_by_role("navigation", name="Тіл").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    row = (
        page.locator("section.catalogue-group")
        .filter(has=page.get_by_role("heading", level=2, name="Public catering"))
        .get_by_role("row")
        .filter(has_text="Serological test for typhoid fever")
    )
    expect(row).to_contain_text("At hiring")
    expect(row).to_contain_text("Not verified")
    expect(page.locator("section.history")).to_contain_text("In force from 24.02.2015 until 15.10.2020.")
