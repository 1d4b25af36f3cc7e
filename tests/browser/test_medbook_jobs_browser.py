"""Journey 11 in a real browser (issue 15): the cook's book was issued by clinic A for her school canteen job;
clinic C's responsible therapist, at a clinic that never saw her, finds the book by IIN with a stated purpose,
starts an examination, and records her move to an individual entrepreneur's café (the employer named by IIN); a
mistyped number is refused with what was typed kept; the book then shows both jobs, the current one on top, and the
jobs page is labelled in Kazakh, Russian and English."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.web.deps import SESSION_COOKIE
from tests.builders.medbook import CAFE_IIN, CAFE_JOB, EMPLOYER_BIN, World, add_clinic, issue_book
from tests.builders.servers import serve

pytestmark = pytest.mark.browser

CLINIC_C = "120540012302"
TITLES = {"kk": "Еңбек тарихы", "ru": "История трудовой деятельности", "en": "Employment history"}
CURRENT = {"kk": "Ағымдағы жұмыс", "ru": "Текущая работа", "en": "Current job"}
ENDED = {"kk": "Аяқталған", "ru": "Завершена", "en": "Ended"}


def signed_in(browser: Any, base: str, w: World, name: str) -> Any:
    """A browser tab signed in as one of the world's accounts (their token is the session cookie)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    token = w.h[name]["Authorization"].removeprefix("Bearer ")
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": base}])
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    return tab


def test_a_second_clinic_examines_the_cook_and_records_her_move_to_a_cafe(
    app: FastAPI,
    client: TestClient,
    sessions: sessionmaker[Session],
    world: World,
    browser: Any,
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    from playwright.sync_api import expect

    book_id = int(issue_book(client, world)["id"])
    add_clinic(sessions, make_actor, world, "c", CLINIC_C)
    with serve(app, "uvicorn-medbook-jobs") as base:
        page = signed_in(browser, base, world, "rt_c")
        page.goto(f"{base}/medbook/desk?lang=en")
        page.locator("#iin").fill(world.cook_iin)
        page.locator("#purpose").fill("hiring at a café")
        with page.expect_navigation():
            page.locator("form[action='/medbook/desk/find'] button[type=submit]").click()
        expect(page.locator("article.medbook")).to_contain_text("История трудовой деятельности")
        assert world.cook_iin not in page.url

        page.locator("#exam-kind").select_option("at_hiring")
        page.locator("#exam-purpose").fill("hiring at a café")
        with page.expect_navigation():
            page.get_by_role("button", name="Start an examination").click()
        expect(page).to_have_url(re.compile(rf"/medbook/desk/books/{book_id}$"))

        with page.expect_navigation():
            page.get_by_role("link", name="Jobs: record a job change or a second job").click()
        expect(page).to_have_url(re.compile(rf"/medbook/desk/books/{book_id}/jobs$"))
        page.locator("#job-profession").fill(CAFE_JOB["profession"])
        page.locator("#job-position").fill(CAFE_JOB["position"])
        page.locator("#job-workplace").fill(CAFE_JOB["workplace"])
        page.locator("#job-employer").fill("880315301281")  # one digit off: the check digit fails
        page.locator("#job-group").select_option("catering")
        page.locator("#job-from").fill("2026-03-10")
        with page.expect_navigation():
            page.get_by_role("button", name="Record the job").click()
        expect(page.locator("p.alert")).to_be_visible()
        expect(page.locator("#job-workplace")).to_have_value(CAFE_JOB["workplace"])  # what was typed is kept
        expect(page.locator("#job-employer")).to_have_value("880315301281")
        page.locator("#job-employer").fill(CAFE_IIN)
        with page.expect_navigation():
            page.get_by_role("button", name="Record the job").click()
        expect(page.locator("p.notice")).to_be_visible()

        for lang in ("kk", "ru", "en"):
            page.goto(f"{base}/medbook/desk/books/{book_id}/jobs?lang={lang}")
            expect(page.locator("h3").first).to_have_text(TITLES[lang])
            rows = page.locator("table.medbook-jobs-table tbody tr")
            expect(rows).to_have_count(2)
            expect(rows.nth(0)).to_contain_text(CURRENT[lang])
            expect(rows.nth(0)).to_contain_text(CAFE_IIN)
            expect(rows.nth(1)).to_contain_text(ENDED[lang])
            expect(rows.nth(1)).to_contain_text(EMPLOYER_BIN)
            expect(rows.nth(1)).to_contain_text("10.03.2026")

        page.goto(f"{base}/medbook/desk/books/{book_id}?lang=en")
        book = page.locator("article.medbook")
        expect(book.locator("tr.job")).to_have_count(2)
        expect(book.locator("tr.job-current")).to_contain_text("Кафе «Жібек жолы»")
        expect(book.locator("tr.job-ended")).to_contain_text("Школа-лицей №5, столовая")
        page.context.close()
