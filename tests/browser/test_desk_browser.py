"""The desk's books in a real browser, over the demo database: the responsible therapist issues a book on the web
in Russian (the IIN typed into the form never reaches the address bar), finds it in the organization's books and
filters the clearances that end within N days; the worker sees the QR code of her seal on her page, in Kazakh and
in English."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from emhana.identity.rules import Sex, make_iin
from emhana.trust.seals.kzmb1 import read_qr
from tests.builders.browser import login

pytestmark = pytest.mark.browser

SURNAME, GIVEN = "Жумабаева", "Алия"


def _post(url: str, body: bytes, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=20) as response:  # the local test server
        return json.loads(response.read() or b"null")


def register_worker(base: str) -> str:
    """Register a new person through the JSON API as the demo registrar; return her IIN."""
    from emhana.devtools.demo import DEMO_PASSWORD

    form = urllib.parse.urlencode({"username": "demo-registrar", "password": DEMO_PASSWORD}).encode()
    token = _post(f"{base}/api/v1/auth/token", form, {"Content-Type": "application/x-www-form-urlencoded"})
    born = dt.date(1996, 7, 14)
    for serial in range(7000, 7100):
        iin = make_iin(born, Sex.FEMALE, serial)
        if iin is None:
            continue
        body = {"iin": iin, "surname": SURNAME, "given_name": GIVEN, "birth_date": born.isoformat(), "sex": "female"}
        try:
            _post(
                f"{base}/api/v1/persons",
                json.dumps(body).encode(),
                {"Content-Type": "application/json", "Authorization": f"Bearer {token['access_token']}"},
            )
        except urllib.error.HTTPError as exc:
            if exc.code == 409:  # an IIN the demo already gave someone
                continue
            raise
        return iin
    raise AssertionError("no free IIN")


def test_the_responsible_therapist_issues_a_book_and_lists_the_books(
    demo_server: tuple[str, str], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, citizen_iin = demo_server
    iin = register_worker(base)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, base, "demo-responsible-therapist")
    page.goto(f"{base}/medbook/desk?lang=ru")
    page.locator("nav.main-nav a[href='/medbook/desk/books']").click()
    expect(page).to_have_url(re.compile(r"/medbook/desk/books$"))
    page.get_by_role("link", name="Выдать книжку").first.click()
    form = page.locator("form.medbook-issue")
    form.locator("#iin").fill(iin)
    form.locator("input[name=language][value=ru]").check()
    form.locator("#group_code").select_option(label="Общественное питание")
    form.locator("#profession").fill("кондитер")
    form.locator("#position").fill("кондитер кафе")
    form.locator("#workplace").fill("Кафе «Алма», цех")
    form.locator("#employer_bin").fill("12345678901")  # too short: the browser refuses it
    form.locator("#employer_bin").fill("940140000385")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/medbook/desk/books/\d+\?done=issued$"))
    assert iin not in page.url and citizen_iin not in page.url
    expect(page.get_by_role("status")).to_have_text("Личная медицинская книжка выдана.")
    expect(page.get_by_text("кондитер кафе").first).to_be_visible()
    book_url = page.url.split("?")[0]

    page.goto(f"{base}/medbook/desk/books?lang=ru")
    row = page.locator("table.medbook-books tr", has_text=SURNAME)
    expect(row).to_have_count(1)
    expect(row.get_by_text("Общественное питание")).to_be_visible()
    expect(row.get_by_text("Допуска ещё нет")).to_be_visible()
    assert row.get_by_role("link").get_attribute("href") == book_url.removeprefix(base)
    # Due within 30 days (the default): neither the new book nor the demo book, cleared for a year.
    filter_form = page.locator("form.medbook-books-filter")
    filter_form.locator("#due").check()
    expect(filter_form.locator("#days")).to_have_value("30")
    filter_form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"due=1&days=30"))
    expect(page.get_by_text("Допусков, истекающих в течение 30 дней, нет.")).to_be_visible()
    # Within a year and a month: the granted clearances (the demo citizen's and the demo clinic's cleared books of
    # every-state seeding, devtools/generator/medbooks.py), each with its date; none expired, suspended or refused.
    filter_form = page.locator("form.medbook-books-filter")
    filter_form.locator("#days").fill("366")
    filter_form.locator("button[type=submit]").click()
    due = page.locator("table.medbook-books tbody tr")
    expect(due.first).to_be_visible()
    for row in due.all():
        expect(row.get_by_text("Допущен к работе")).to_be_visible()
        expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^\d\d\.\d\d\.\d{4}$"))
    context.close()


@pytest.mark.parametrize(("lang", "caption"), [("kk", "дейін жарамды"), ("en", "valid until")])
def test_the_worker_sees_her_seal_as_a_qr_code(
    demo_server: tuple[str, str], browser: Any, lang: str, caption: str
) -> None:
    from playwright.sync_api import expect

    base, _ = demo_server
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="kk-KZ", is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, base, "demo-citizen")
    page.goto(f"{base}/medbook/my?lang={lang}")
    seal = page.locator("section.medbook-seal")
    expect(seal).to_be_visible()
    qr = seal.locator("svg.seal-qr-code")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 250 and box["height"] >= 250  # big enough for a phone to read
    text = read_qr(qr.screenshot())  # what a phone's camera sees on the screen reads as the seal
    assert text is not None and text.startswith("KZMB1:")
    expect(seal.locator(".seal-valid-until")).to_contain_text(caption)
    expect(seal.locator(".seal-valid-until")).to_contain_text(re.compile(r"\d\d\.\d\d\.\d{4}"))
    context.close()
