"""The desk's correction form in a real browser: the clinician picks an entry by its "Correct entry" link and
the form comes back filled with that entry's kind, item, date, result and conclusion, items offered under their
kind (C-40, C-41)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.builders.browser import login

pytestmark = pytest.mark.browser


def test_picking_an_entry_prefills_the_correction_form(demo_server: tuple[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    base, iin = demo_server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, base, "demo-clinician")
    page.goto(f"{base}/medbook/desk?lang=en")
    find = page.locator("form[action='/medbook/desk/find']")
    find.locator("#iin").fill(iin)
    find.locator("button[type=submit]").click()
    links = page.locator("ul.medbook-correctable li")
    expect(links.first).to_be_visible()
    picked = links.nth(1)
    text = picked.inner_text()
    with page.expect_navigation():
        picked.locator("a").click()
    expect(page).to_have_url(re.compile(r"/medbook/desk/books/\d+\?correct=\d+#correct$"))
    entry_id = page.url.split("correct=")[1].split("#")[0]
    form = page.locator("form#correct")
    expect(form.locator("#correct-entry")).to_have_value(entry_id)
    kind = form.locator("#correct-kind option:checked").inner_text()
    item = form.locator("#correct-item option:checked").inner_text()
    assert kind in text and item in text, (kind, item, text)
    group = form.locator("#correct-item option:checked").evaluate("o => o.parentElement.dataset.kind")
    assert group == form.locator("#correct-kind").input_value()
    assert form.locator("#correct-date").input_value() != ""
    assert form.locator("#correct-result").input_value() in ("negative", "normal")
    context.close()
