"""Accounts in a real browser, outside demo mode: the Fund administrator appoints an organization's
administrator (a mistyped BIN is refused and the form keeps what was typed), who signs in with the one-time
password, chooses her own, and appoints a registrar, who signs in the same way and sees her queue."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.builders.accounts import BIN_B
from tests.builders.browser import PASSWORD, USERNAME

pytestmark = pytest.mark.browser


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("form[action='/login'] button[type=submit]").click()


def sign_out(page: Any) -> None:
    with page.expect_navigation():
        page.locator("form[action='/logout'] button[type=submit]").click()


def first_sign_in(page: Any, base: str, username: str, one_time: str, new: str) -> None:
    """Sign in with a one-time password: the page asks for a password of one's own, then lets one in."""
    from playwright.sync_api import expect

    sign_in(page, base, username, one_time)
    form = page.locator("form[action='/password']")
    expect(form.locator("#username")).to_have_value(username)
    form.locator("#password").fill(one_time)
    form.locator("#new_password").fill(new)
    form.locator("#repeat").fill(new)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")


def appoint(page: Any, username: str, name: str, role: str, bin_: str | None = None) -> None:
    form = page.locator("form#new-account")
    form.locator("#username").fill(username)
    form.locator("#display_name").fill(name)
    form.locator("#role").select_option(role)
    if bin_ is not None:
        form.locator("#bin").fill(bin_)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def test_the_fund_appoints_an_administrator_who_appoints_a_registrar(live_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    base = live_server
    sign_in(page, base, USERNAME, PASSWORD)
    page.goto(f"{base}/accounts?lang=kk")
    appoint(page, "head.densaulyk", "Сәуле Жанатқызы", "entity_admin", "990240001234")
    expect(page.locator("#account-error")).to_contain_text("БСН")
    form = page.locator("form#new-account")
    expect(form.locator("#username")).to_have_value("head.densaulyk")
    expect(form.locator("#display_name")).to_have_value("Сәуле Жанатқызы")
    expect(form.locator("#role")).to_have_value("entity_admin")
    form.locator("#bin").fill(BIN_B)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    head_otp = page.locator("#one-time-password").inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", head_otp)
    sign_out(page)

    first_sign_in(page, base, "head.densaulyk", head_otp, "saule-own-password-1")
    page.goto(f"{base}/accounts?lang=ru")
    expect(page.locator(".main-nav a[href='/accounts']")).to_have_text("Учётные записи")
    appoint(page, "dana.registrar", "Дана Тіркеуші", "registrar")
    clerk_otp = page.locator("#one-time-password").inner_text().strip()
    page.goto(f"{base}/accounts?lang=en")
    expect(page.locator("table.accounts")).to_contain_text("dana.registrar")
    expect(page.locator("table.accounts")).to_contain_text("Awaits its own password")
    sign_out(page)

    first_sign_in(page, base, "dana.registrar", clerk_otp, "dana-own-password-1")
    expect(page.locator(".main-nav a[href='/attachment/queue']")).to_be_visible()
    expect(page.locator(".user-name")).to_have_text("Дана Тіркеуші")
    page.goto(f"{base}/attachment/queue")
    expect(page.locator("h1")).to_be_visible()
