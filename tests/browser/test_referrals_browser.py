"""Incoming referrals in a real browser (C-30): clinic A's MIS records the cook's positive carriage test, so she is
referred to PHC clinic B, where she is attached by residence; B's registrar sees the referral with the item's
name in Kazakh, Russian and English and acknowledges it; B's clinician sees it acknowledged; the cook's book
names clinic B and shows the referral received on 10.03.2026."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from emhana.facilities.models import Entity
from emhana.medbook.labels import item_label
from emhana.web.deps import SESSION_COOKIE
from tests.builders.medbook import World, issue_book, record
from tests.builders.servers import serve

pytestmark = pytest.mark.browser

CLINIC_KK, CLINIC_RU = '"Б" емханасы ЖШС', 'ТОО "Поликлиника Б"'


def signed_in(browser: Any, base: str, w: World, name: str) -> Any:
    """A browser tab signed in as one of the world's accounts (they have no password: their token is the cookie)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    token = w.h[name]["Authorization"].removeprefix("Bearer ")
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": base}])
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    return tab


def test_the_target_clinic_acknowledges_and_the_book_says_so(
    app: FastAPI, client: TestClient, sessions: sessionmaker[Session], world: World, browser: Any
) -> None:
    from playwright.sync_api import expect

    with sessions.begin() as s:
        s.execute(update(Entity).where(Entity.id == world.b).values(name_kk=CLINIC_KK, name_ru=CLINIC_RU))
    bid = int(issue_book(client, world)["id"])
    positive = record(client, world, bid, "lab_result", "intestinal_carriage", "positive", who="mis_a")
    assert positive.status_code == 201, positive.text
    label = item_label("intestinal_carriage")

    with serve(app, "uvicorn-referrals") as base:
        page = signed_in(browser, base, world, "reg_b")
        page.goto(f"{base}/?lang=en")
        page.locator("nav.main-nav a[href='/medbook/referrals']").click()
        expect(page).to_have_url(re.compile(r"/medbook/referrals$"))
        for lang in ("kk", "ru", "en"):
            page.goto(f"{base}/medbook/referrals?lang={lang}")
            row = page.locator("#incoming-referrals tbody tr")
            expect(row).to_have_count(1)
            expect(row).to_contain_text(label.in_language(lang))
            expect(row).to_contain_text("10.03.2026")
            expect(row).not_to_contain_text("intestinal_carriage")
            expect(row).not_to_contain_text(world.cook_iin)
        row = page.locator("#incoming-referrals tbody tr")
        row.get_by_role("button", name="Acknowledge").click()
        expect(page).to_have_url(re.compile(r"/medbook/referrals\?done=acknowledged$"))
        expect(page.locator("p.notice")).to_contain_text("The referral is acknowledged")
        expect(page.locator("#incoming-referrals")).to_contain_text("Acknowledged on 10.03.2026")
        expect(page.locator("#incoming-referrals button")).to_have_count(0)
        page.context.close()

        page = signed_in(browser, base, world, "clin_b")
        page.goto(f"{base}/medbook/referrals?lang=ru")
        expect(page.locator("#incoming-referrals")).to_contain_text("Получение подтверждено 10.03.2026")
        expect(page.locator("#incoming-referrals")).to_contain_text(label.in_language("ru"))
        page.context.close()

        page = signed_in(browser, base, world, "cook")
        page.goto(f"{base}/medbook/my?lang=en")
        journal = page.locator("table.medbook-journal")
        expect(journal).to_contain_text(f"Принято: {CLINIC_RU}, 10.03.2026")  # the book is in Russian
        page.context.close()
