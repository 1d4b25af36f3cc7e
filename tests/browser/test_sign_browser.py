"""Signing at the desk in a real browser, over the demo database (C-06, C-40): the seeded book's seal shows; the
NCALayer button, with no NCALayer running, says so in the page's language (kk, ru, en); the clinician signs her
unsigned entry with the demo PKI and it shows signed; the therapist's new clearance shows no seal until she signs
it, then the worker's page shows the QR code again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders.browser import login

pytestmark = pytest.mark.browser

DEMO_BUTTON = "form.sign-demo button[type=submit]"
NCALAYER_DOWN = {
    "ru": "NCALayer не отвечает",
    "kk": "NCALayer жауап бермейді",
    "en": "NCALayer does not answer",
}


def desk_book(browser: Any, base: str, iin: str, username: str) -> tuple[Any, Any]:
    """Sign in as a desk user, find the demo book by IIN; return the browser context and its page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, base, username)
    page.goto(f"{base}/medbook/desk?lang=ru")
    find = page.locator("form[action='/medbook/desk/find']")
    find.locator("#iin").fill(iin)
    find.locator("#purpose").fill("signing")
    with page.expect_navigation():
        find.locator("button[type=submit]").click()
    return context, page


def worker_seal(browser: Any, base: str) -> tuple[int, str]:
    """Return how many QR codes the worker's own page shows, and the text of its seal section."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, base, "demo-citizen")
    page.goto(f"{base}/medbook/my?lang=en")
    section = page.locator("section.medbook-seal")
    found = section.locator("figure.seal-qr svg").count(), section.inner_text()
    context.close()
    return found


def test_the_clinician_signs_with_the_demo_pki_and_ncalayer_absent_is_explained(
    demo_server: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, iin = demo_server
    assert worker_seal(browser, base)[0] == 1  # the seeded clearance is signed: its seal shows
    context, page = desk_book(browser, base, iin, "demo-clinician")
    expect(page.locator(DEMO_BUTTON)).to_have_count(1)  # the one entry the demo left unsigned
    expect(page.locator(DEMO_BUTTON)).to_have_text("Подписать демо-ключом PKI (не НУЦ РК)")
    action = page.locator("form[action$='/entries']").get_attribute("action")  # the find form's answer is a POST
    assert action is not None
    book_url = base + action.removesuffix("/entries")
    for lang, words in NCALAYER_DOWN.items():
        page.goto(f"{book_url}?lang={lang}")
        button = page.locator("[data-ncalayer-sign]")
        expect(button).to_have_count(1)
        expect(button).to_be_visible()
        button.click()
        status = page.locator("[data-sign-status]")
        expect(status).to_contain_text(words)
        expect(button).to_be_enabled()
    page.goto(f"{book_url}?lang=ru")
    row = page.locator("table.medbook-journal tbody tr", has=page.locator(DEMO_BUTTON))
    item = row.locator("td").nth(2).inner_text()
    expect(row.locator(".signature-pending")).to_be_visible()
    with page.expect_navigation():
        page.locator(DEMO_BUTTON).click()
    expect(page.locator(DEMO_BUTTON)).to_have_count(0)
    expect(page.locator("[data-ncalayer-sign]")).to_have_count(0)
    # Every entry now shows signed, the one just signed too.
    expect(page.locator("table.medbook-journal .signature-pending")).to_have_count(0)
    signed = page.locator("table.medbook-journal tbody tr", has_text=item).first
    expect(signed).to_contain_text("Подписано автором")
    context.close()


def test_the_therapist_signs_the_clearance_and_the_qr_appears(demo_server: tuple[str, str], browser: Any) -> None:
    from playwright.sync_api import expect

    base, iin = demo_server
    context, page = desk_book(browser, base, iin, "demo-responsible-therapist")
    decide = page.locator("form[action$='/clearance']")
    decide.locator("#decision").select_option("granted")
    with page.expect_navigation():
        decide.locator("button[type=submit]").click()
    expect(page.locator(DEMO_BUTTON)).to_have_count(1)  # the new decision awaits her signature
    pending = page.locator(".medbook-pending-grant")
    expect(pending).to_contain_text("вступит в силу после подписания")  # the book speaks its own language (ru)
    qr, text = worker_seal(browser, base)
    assert qr == 1, text  # until the new grant is signed the earlier signed decision and its seal stand
    with page.expect_navigation():
        page.locator(DEMO_BUTTON).click()
    expect(page.locator(DEMO_BUTTON)).to_have_count(0)
    expect(pending).to_have_count(0)
    qr, text = worker_seal(browser, base)
    assert qr == 1, text
    context.close()
