"""The Fund's list of infections that bar work, in a real browser (C-30): opened from the main menu, the list
shows each rule's kk/ru/en names and that the packaged list is unverified; the Fund adds a rule (a refused form
keeps what was typed and says why) and ends one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders.browser import PASSWORD, USERNAME

pytestmark = pytest.mark.browser


def test_the_fund_reads_adds_and_ends_infection_rules(live_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/login?lang=ru")
    page.get_by_label("Имя пользователя").fill(USERNAME)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти", exact=True).click()
    page.wait_for_url(f"{live_server}/")

    page.get_by_role("navigation", name="Главное меню").get_by_role(
        "link", name="Инфекции, препятствующие допуску"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Инфекции, препятствующие допуску к работе")
    tb = page.locator("table.infection-rules tbody tr", has_text="A15")
    expect(tb).to_contain_text("Туберкулез органов дыхания, подтвержденный бактериологически и гистологически")
    expect(tb).to_contain_text("тыныс алу ағзаларының туберкулезі")
    expect(tb).to_contain_text("Respiratory tuberculosis, bacteriologically and histologically confirmed")
    expect(tb).to_contain_text("непроверенный перечень")  # the packaged list is our working reading
    expect(tb).to_contain_text("все декретированные группы")

    # a refused rule keeps what was typed and says why
    form = page.locator("form#new-rule")
    form.get_by_label("Код или диапазон МКБ-10").fill("A45")
    form.get_by_label("Название на казахском").fill("Көкжөтел")
    form.get_by_label("Название на русском").fill("Коклюш")
    form.get_by_label("Название на английском").fill("Whooping cough")
    form.get_by_label("Действует с").fill("2026-01-01")
    form.get_by_role("button", name="Добавить правило").click()
    expect(page.get_by_role("alert")).to_contain_text("в МКБ-10 нет такой рубрики")
    expect(form.get_by_label("Название на русском")).to_have_value("Коклюш")

    form.get_by_label("Код или диапазон МКБ-10").fill("A37")
    form.get_by_label("Дошкольные", exact=False).check()
    form.get_by_role("button", name="Добавить правило").click()
    expect(page.get_by_role("status")).to_have_text("Правило добавлено.")
    added = page.locator("table.infection-rules tbody tr", has_text="A37")
    expect(added).to_contain_text("Коклюш")
    expect(added).to_contain_text("Көкжөтел")
    expect(added).to_contain_text("Whooping cough")
    expect(added).to_contain_text("Дошкольные")

    added.get_by_role("button", name="Прекратить действие").click()
    expect(page.get_by_role("status")).to_have_text("Действие правила прекращено.")
    expect(page.locator("table.infection-rules tbody tr", has_text="A37")).to_contain_text("прекращено")
    expect(page.locator("table.infection-rules tbody tr", has_text="A37").get_by_role("button")).to_have_count(0)

    page.get_by_role("navigation", name="Язык").get_by_role("link", name="Қазақша").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Жұмысқа жібермейтін инфекциялар")
    page.get_by_role("navigation", name="Тіл").get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Infections that bar work")
