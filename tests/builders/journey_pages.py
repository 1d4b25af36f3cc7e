"""What the people of the medical-book journeys do in the pages (tests/browser/test_medbook_journeys*.py): the demo
server with the journeys' people, a signed-in tab per account, the desk's forms filled by their labels in the
page's language, the demo-PKI sign button, the worker's QR code as a phone reads it, and the verifier page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emhana.devtools.demo import DEMO_EMPLOYER_BIN
from emhana.kernel.i18n import gettext_for
from emhana.medbook.labels import KINDS, RESULTS, item_label
from emhana.trust.seals.kzmb1 import read_qr
from tests.builders.browser import login
from tests.builders.journeys import JourneyWorld, post_results, prepare, result

THERAPIST, CLINICIAN, EMPLOYER, CITIZEN = (
    "demo-responsible-therapist",
    "demo-clinician",
    "demo-employer",
    "demo-citizen",
)
LANGS = ("kk", "ru", "en")
SCHOOL = ("повар", "повар школьной столовой", "Школа-гимназия №12, столовая")  # profession, position, workplace
DEMO_SIGN = "form.sign-demo button[type=submit]"


def t(lang: str, msgid: str, **params: Any) -> str:
    """A catalogue message as the page shows it in a language."""
    text = gettext_for(lang, msgid)
    return text % params if params else text


def dmy(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


@contextmanager
def serve_journeys(folder: Path) -> Iterator[tuple[str, JourneyWorld]]:
    """Seed the demo in ``folder``, add the journeys' people and serve it as `emhana demo` does (its PKI
    trusted); yield the base URL and who is who."""
    from emhana.app import create_app
    from emhana.devtools.demo import pki_folder, seed, server_settings
    from emhana.devtools.generator import run_with_progress
    from tests.builders.servers import serve

    url = f"sqlite:///{folder / 'emhana.db'}"
    seed(url, population=300, seed_value=1, generate=run_with_progress)
    pki = pki_folder(url)
    assert pki is not None
    world = prepare(url, pki)
    with serve(create_app(server_settings(url)), "uvicorn-journeys") as base:
        yield base, world


class Tabs:
    """A signed-in tab per account, signed in once (``""``: nobody signed in, as an inspector)."""

    def __init__(self, browser: Any, base: str) -> None:
        self.browser, self.base, self.tabs = browser, base, dict[str, Any]()

    def __call__(self, username: str) -> Any:
        if username not in self.tabs:
            context = self.browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
            page = context.new_page()
            page.set_default_timeout(10_000)
            if username:
                login(page, self.base, username)
            self.tabs[username] = page
        return self.tabs[username]

    def close(self) -> None:
        for page in self.tabs.values():
            page.context.close()


def issue_book(page: Any, base: str, iin: str, job: tuple[str, str, str] = SCHOOL) -> str:
    """Issue a book in Russian for the school canteen's employer on the responsible therapist's form; return
    the book's desk address."""
    from playwright.sync_api import expect

    page.goto(f"{base}/medbook/desk?lang=ru")
    page.get_by_role("link", name=t("ru", "Issue a book")).first.click()
    form = page.locator("form.medbook-issue")
    form.get_by_label(t("ru", "IIN of the worker")).fill(iin)
    form.get_by_label("Русский").check()
    form.get_by_label(t("ru", "Decreed group")).select_option(label="Общественное питание")
    form.get_by_label(t("ru", "Profession")).fill(job[0])
    form.get_by_label(t("ru", "Position")).fill(job[1])
    form.get_by_label(t("ru", "Workplace")).fill(job[2])
    form.locator("#employer_bin").fill(DEMO_EMPLOYER_BIN)
    with page.expect_navigation():
        form.get_by_role("button", name=t("ru", "Issue the book")).click()
    expect(page).to_have_url(re.compile(r"/medbook/desk/books/\d+\?done=issued$"))
    assert iin not in page.url
    return str(page.url.split("?")[0])


def send_scope(page: Any, base: str, token: str, w: JourneyWorld, book_url: str, day: dt.date) -> None:
    """The MIS sends every result the cook's group requires, clean; what no MIS code maps to is recorded at the
    desk (in Russian)."""
    post_results(base, token, w, [result(w.cook.iin, kind, item, day) for kind, item in w.required])
    page.goto(f"{book_url}?lang=ru")
    for kind, item in w.unmapped:
        record(page, "ru", kind, item, "negative", day)


def find_book(page: Any, base: str, iin: str, purpose: str, lang: str) -> None:
    """Find a worker's book at the desk by the IIN typed into the form, with the purpose of the read."""
    page.goto(f"{base}/medbook/desk?lang={lang}")
    form = page.locator("form[action='/medbook/desk/find']")
    form.get_by_label(t(lang, "IIN of the worker")).fill(iin)
    form.get_by_label(t(lang, "Purpose of reading the book")).fill(purpose)
    with page.expect_navigation():
        form.get_by_role("button", name=t(lang, "Find")).click()
    assert iin not in page.url


def record(page: Any, lang: str, kind: str, item: str, outcome: str, day: dt.date | None = None) -> None:
    """Record an entry at the desk: its kind, item and result by their labels in the page's language."""
    from playwright.sync_api import expect

    form = page.locator("form[action$='/entries']")
    form.get_by_label(t(lang, "Kind"), exact=True).select_option(label=t(lang, KINDS[kind]))
    form.get_by_label(t(lang, "Item"), exact=True).select_option(label=item_label(item).in_language(lang))
    if day is not None:
        form.get_by_label(t(lang, "Date"), exact=True).fill(day.isoformat())
    form.get_by_label(t(lang, "Result"), exact=True).select_option(label=t(lang, RESULTS[outcome]))
    with page.expect_navigation():
        form.get_by_role("button", name=t(lang, "Record"), exact=True).click()
    expect(page.locator("p.notice")).to_have_text(t(lang, "The entry is recorded."))


def decide(page: Any, lang: str, decision: str) -> None:
    """Record a clearance decision at the desk, chosen by its label in the page's language."""
    from playwright.sync_api import expect

    form = page.locator("form[action$='/clearance']")
    form.get_by_label(t(lang, "Decision")).select_option(label=t(lang, decision))
    with page.expect_navigation():
        form.get_by_role("button", name=t(lang, "Record the decision")).click()
    expect(page.locator("p.notice")).to_have_text(t(lang, "The clearance decision is recorded."))


def sign_own(page: Any, lang: str) -> None:
    """Sign the actor's unsigned entries with the desk's demo-PKI button, one by one."""
    from playwright.sync_api import expect

    buttons = page.locator(DEMO_SIGN)
    assert buttons.count() >= 1, "nothing awaits this person's signature"
    while buttons.count():
        expect(buttons.first).to_have_text(t(lang, "Sign with the demo PKI (not NCA RK)"))
        with page.expect_navigation():
            buttons.first.click()


def clearance_until(page: Any) -> str:
    """The valid-until date of the granted clearance the book at the desk shows (the book is in Russian)."""
    text = page.locator("article.medbook .medbook-clearance").inner_text()
    found = re.search(r"действителен до (\d\d\.\d\d\.\d{4})", text)
    assert found is not None, text
    return found.group(1)


def seal_of(page: Any, base: str, lang: str) -> tuple[str, bytes, str]:
    """Open the worker's own page; return her seal's text (as a phone reads the QR code), its picture and the
    valid-until caption."""
    from playwright.sync_api import expect

    page.goto(f"{base}/medbook/my?lang={lang}")
    qr = page.locator("section.medbook-seal svg.seal-qr-code")
    expect(qr).to_be_visible()
    picture = qr.screenshot()
    text = read_qr(picture)
    assert text is not None and text.startswith("KZMB1:")
    return text, picture, str(page.locator("section.medbook-seal .seal-valid-until").inner_text())


def verify(page: Any, base: str, lang: str, *, text: str = "", picture: bytes = b"") -> str:
    """Check a seal on the verifier page, by its text or by a picture of its QR code; return the outcome."""
    page.goto(f"{base}/verify?lang={lang}")
    if picture:
        page.locator("#seal-image").set_input_files({"name": "seal.png", "mimeType": "image/png", "buffer": picture})
    else:
        page.get_by_label(t(lang, "Text of the QR code (starts with KZMB1:)")).fill(text)
    with page.expect_navigation():
        page.get_by_role("button", name=t(lang, "Verify")).click()
    return str(page.locator("#outcome").inner_text())
