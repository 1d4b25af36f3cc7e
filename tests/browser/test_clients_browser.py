"""Client applications in a real browser (issue 17): the Fund registers an MIS for an organization named by its
BIN (a mistyped BIN is refused and the form keeps the name, the pasted key set and the ticked scopes), opens the
client's page with its client id, pastes a private key by mistake (refused, the paste kept), then the public key
set, changes the scopes, and deactivates the client."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from emhana.kernel.i18n import gettext_for
from tests.builders.browser import PASSWORD, USERNAME
from tests.builders.clients import ec_key

pytestmark = pytest.mark.browser
BIN = "990240001233"  # «Денсаулық» ЖШС of the browser seed


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/login")
    page.locator("#username").fill(USERNAME)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[action='/login'] button[type=submit]").click()


def submit(form: Any, page: Any) -> None:
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_the_fund_registers_an_mis_gives_it_keys_and_scopes_and_deactivates_it(live_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    base = live_server
    key = ec_key("vendor-key-1")
    sign_in(page, base)
    page.goto(f"{base}/clients?lang=ru")
    expect(page.locator(".main-nav a[href='/clients']")).to_have_text("Клиентские приложения")
    form = page.locator("form#new-client")
    expect(form.locator("input[value='system/Observation.c']")).to_be_checked()  # push and read by default
    form.locator("#name").fill("Damu MIS")
    form.locator("#bin").fill("990240001299")
    form.locator("#jwks").fill(key.jwks())
    form.locator("input[value='system/Patient.rs']").uncheck()
    form.locator("input[value='system/*.rs']").check()
    submit(form, page)
    expect(page.locator("#client-error")).to_contain_text("БИН")
    form = page.locator("form#new-client")
    expect(form.locator("#name")).to_have_value("Damu MIS")
    expect(form.locator("#bin")).to_have_value("990240001299")
    expect(form.locator("#jwks")).to_have_value(key.jwks())
    expect(form.locator("input[value='system/Patient.rs']")).not_to_be_checked()
    expect(form.locator("input[value='system/*.rs']")).to_be_checked()
    form.locator("#bin").fill(BIN)
    submit(form, page)

    client_id = page.locator("#client-id").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{32}", client_id)
    expect(page.locator("[role=status]")).to_contain_text("зарегистрировано")
    expect(page.locator("#client-kids")).to_have_text("vendor-key-1")
    keys = page.locator("form#client-keys")
    private = json.dumps({"keys": [ec_key("oops").private_jwk()]})
    keys.locator("#jwks").fill(private)
    submit(keys, page)
    expect(page.locator("#client-error")).to_contain_text("закрытый ключ")
    expect(page.locator("form#client-keys #jwks")).to_have_value(private)
    expect(page.locator("#client-kids")).to_have_text("vendor-key-1")
    rotated = json.dumps({"keys": [key.jwk, ec_key("vendor-key-2").jwk]})
    page.locator("form#client-keys #jwks").fill(rotated)
    submit(page.locator("form#client-keys"), page)
    expect(page.locator("#client-kids")).to_have_text("vendor-key-1, vendor-key-2")

    scopes = page.locator("form#client-scopes")
    expect(scopes.locator("label", has=page.locator("input[value='system/Observation.c']"))).to_contain_text(
        "Отправлять результаты осмотров и лабораторных исследований"  # each scope in words beside its code
    )
    expect(scopes.locator("input[value='system/*.rs']")).to_be_checked()
    scopes.locator("input[value='system/*.rs']").uncheck()
    submit(scopes, page)
    expect(page.locator("[role=status]")).to_contain_text("Области доступа сохранены")
    expect(page.locator("form#client-scopes input[value='system/*.rs']")).not_to_be_checked()

    page.goto(f"{base}/clients?lang=kk")
    row = page.locator("table.clients tr", has_text=client_id)
    expect(row).to_contain_text("Damu MIS")
    with page.expect_navigation():
        row.locator("a").click()
    submit(page.locator("form#client-deactivate"), page)
    expect(page.locator("#client-state")).to_have_text(gettext_for("kk", "Deactivated"))
    expect(page.locator("form#client-keys")).to_have_count(0)
    page.goto(f"{base}/clients?lang=en")
    expect(page.locator("table.clients tr", has_text=client_id)).to_contain_text("Deactivated")
