"""Medical books in a real browser, over the demo database: the clinician finds the demo citizen's book by
IIN at the desk and records an examination that then shows in the journal; the worker sees the book with
its granted clearance and, in the access log, the clinician's read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.builders.browser import login

pytestmark = pytest.mark.browser

NOTE = "осмотр в браузере: без патологии"
REASON = "исправление в браузере: перепутан вид записи"


def test_clinician_records_and_worker_sees_the_read(demo_server: tuple[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    base, iin = demo_server
    clinician = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = clinician.new_page()
    page.set_default_timeout(10_000)
    login(page, base, "demo-clinician")
    page.goto(f"{base}/medbook/desk")
    find = page.locator("form[action='/medbook/desk/find']")
    find.locator("#iin").fill(iin)
    find.locator("#purpose").fill("medical examination")
    find.locator("button[type=submit]").click()
    expect(page.get_by_text(iin).first).to_be_visible()
    expect(page.get_by_text("повар школьной столовой").first).to_be_visible()
    entry = page.locator("form[action$='/entries']")
    entry.locator("#kind").select_option("specialist_exam")
    entry.locator("#item_code").select_option("therapist")
    entry.locator("#result").select_option("normal")
    entry.locator("#result_text").fill(NOTE)
    entry.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/medbook/desk/books/\d+\?done=entry$"))
    expect(page.get_by_text(NOTE).first).to_be_visible()
    clinician.close()

    worker = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = worker.new_page()
    page.set_default_timeout(10_000)
    login(page, base, "demo-citizen")
    page.goto(f"{base}/medbook/my")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("повар школьной столовой").first).to_be_visible()
    expect(page.get_by_text(NOTE).first).to_be_visible()
    reads = page.locator("section.medbook-reads")
    expect(reads.locator("table.reads")).to_be_visible()
    expect(reads.get_by_text("Demo clinician").first).to_be_visible()
    with page.expect_download() as download:
        page.locator("a[href='/medbook/my/book.pdf']").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and download.value.suggested_filename.endswith(".pdf")
    worker.close()


def test_clinician_corrects_an_entry_and_the_history_keeps_both(demo_server: tuple[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    base, iin = demo_server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, base, "demo-clinician")
    page.goto(f"{base}/medbook/desk")
    find = page.locator("form[action='/medbook/desk/find']")
    find.locator("#iin").fill(iin)
    find.locator("button[type=submit]").click()
    correction = page.locator("form.medbook-correction")
    expect(correction).to_be_visible()
    chosen = correction.locator("#correct-entry option").first.get_attribute("value")
    assert chosen is not None
    correction.locator("#correct-entry").select_option(chosen)
    correction.locator("#correct-kind").select_option("lab_result")
    correction.locator("#correct-item").select_option("helminths")
    correction.locator("#correct-result").select_option("negative")
    correction.locator("#correct-reason").fill(REASON)
    correction.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/medbook/desk/books/\d+\?done=correction$"))
    journal = page.locator("table.medbook-journal")
    expect(journal.get_by_text(REASON)).to_be_visible()
    expect(journal.locator("tr.superseded").first).to_be_visible()
    expect(journal.locator(".changes del").first).to_be_visible()
    expect(journal.locator(".changes ins").first).to_be_visible()
    expect(page.locator(f"#correct-entry option[value='{chosen}']")).to_have_count(0)
    context.close()
