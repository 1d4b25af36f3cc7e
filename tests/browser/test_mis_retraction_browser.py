"""An MIS withdraws a result it sent in error, and the worker sees it withdrawn (issue 17), over a fresh demo:
the vendor pushes with the command the banner prints (as the client application, SMART Backend Services), reads
the result back by the location the server answered, then sends the same result again as a later version with
the status entered-in-error; the worker's book, in a browser, shows the result withdrawn, with the reason in the
book's language, in each of the three languages of the pages, and the result no longer counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders.browser import login
from tests.builders.mis_demo import Demo, printed_command, run, serve_demo

pytestmark = pytest.mark.browser

ROUTE = "as the client application demo-mis-app"
# The demo citizen's book is kept in Russian: its rows say so in Russian whatever the page's language.
WITHDRAWN = "Отозвана как внесённая ошибочно"
REASON = "Медицинская информационная система отозвала этот результат как внесённый ошибочно"
HEADING = {"kk": "Менің медициналық кітапшам", "ru": "Моя медицинская книжка", "en": "My medical book"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve_demo(tmp_path_factory.mktemp("mis-retraction"), "uvicorn-mis-retraction", population=300)


def test_a_result_withdrawn_by_the_mis_shows_withdrawn_in_the_workers_book(demo: Demo, browser: Any) -> None:
    from playwright.sync_api import expect

    push = printed_command(demo, ROUTE)
    code, sent = run(push)
    assert code == 0, sent
    location = sent["entry"][0]["response"]["location"]
    assert location.startswith("Observation/") and location.endswith("/_history/1"), sent
    # Read back by the location the server answered, with the same client credentials.
    read = [*push[: push.index("push")], "read", "--location", location]
    code, back = run(read)
    assert code == 0, back
    assert back["resourceType"] == "Observation" and back["meta"]["versionId"] == "1", back
    # The same syphilis result again, a later version, entered in error (the X-ray stays).
    only_lab = [a for i, a in enumerate(push) if a != "--xray" and (i == 0 or push[i - 1] != "--xray")]
    code, withdrawn = run([*only_lab, "--version", "2", "--entered-in-error"])
    assert code == 0, withdrawn
    assert withdrawn["entry"][0]["response"]["status"] == "201 Created", withdrawn
    assert withdrawn["entry"][0]["response"]["location"].endswith("/_history/2"), withdrawn

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    login(page, demo.base, "demo-citizen")
    for lang in ("kk", "ru", "en"):
        page.goto(f"{demo.base}/language/{lang}?next=/medbook/my")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.get_by_role("heading", level=1)).to_contain_text(HEADING[lang])
        rows = page.locator("tr.retracted")
        expect(rows).to_have_count(2)  # the result, and the row that withdraws it
        expect(rows.first).to_contain_text("Исследование на сифилис")
        expect(rows.first).to_contain_text(WITHDRAWN)
        expect(rows.nth(1)).to_contain_text(REASON)
        expect(rows.nth(1)).not_to_contain_text("{reference}")
    context.close()
