"""Pages of account administration: the Fund appoints an organization's administrator by BIN, a refused form
comes back with what was typed (in kk, ru and en), the one-time password is shown once and never cached,
signing in with it leads to the page that sets one's own, and an administrator's page reaches only its staff."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.web.deps import SESSION_COOKIE
from tests.builders.accounts import BIN_B, NEW_PASSWORD, account_events, two_orgs
from tests.builders.web import csrf_of, login

HTML = {"Accept": "text/html"}
MakeActor = Callable[..., tuple[Actor, str]]
OTP = re.compile(r'id="one-time-password">([^<]+)<')


def as_(client: TestClient, token: str) -> None:
    client.cookies.set(SESSION_COOKIE, token)


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "No healthcare entity with this BIN is registered."),
        ("ru", "Субъект здравоохранения с таким БИН не зарегистрирован."),
        ("kk", "Осы БСН бойынша денсаулық сақтау субъектісі тіркелмеген."),
    ],
)
def test_a_refused_form_keeps_what_was_typed(
    client: TestClient, sessions: sessionmaker[Session], make_actor: MakeActor, lang: str, message: str
) -> None:
    fund, token = make_actor(Role.FUND_ADMIN)
    two_orgs(sessions, fund)
    as_(client, token)
    csrf = csrf_of(client.get(f"/accounts?lang={lang}").text)
    form = {"csrf": csrf, "username": "head.c", "display_name": "Сәуле Жанатқызы", "role": "entity_admin"}
    resp = client.post(f"/accounts?lang={lang}", data={**form, "bin": "111111111111"}, headers=HTML)
    assert resp.status_code == 422
    assert message in resp.text
    assert 'value="head.c"' in resp.text and 'value="Сәуле Жанатқызы"' in resp.text
    assert 'value="111111111111"' in resp.text and '<option value="entity_admin" selected>' in resp.text
    made = client.post(f"/accounts?lang={lang}", data={**form, "bin": BIN_B}, headers=HTML)
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    assert OTP.search(made.text)
    taken = client.post(f"/accounts?lang={lang}", data={**form, "bin": BIN_B}, headers=HTML)
    assert taken.status_code == 409 and 'value="head.c"' in taken.text


def test_signing_in_with_a_one_time_password_leads_to_choosing_one(
    client: TestClient, sessions: sessionmaker[Session], make_actor: MakeActor
) -> None:
    fund, token = make_actor(Role.FUND_ADMIN)
    two_orgs(sessions, fund)
    as_(client, token)
    csrf = csrf_of(client.get("/accounts").text)
    form = {"csrf": csrf, "username": "head.b", "display_name": "Head B", "role": "entity_admin", "bin": BIN_B}
    found = OTP.search(client.post("/accounts", data=form).text)
    assert found
    client.cookies.clear()
    first = login(client, "head.b", found.group(1))
    assert first.status_code == 200 and 'action="/password"' in first.text and 'value="head.b"' in first.text
    assert SESSION_COOKIE not in first.cookies
    csrf = csrf_of(first.text)
    data = {"csrf": csrf, "username": "head.b", "password": found.group(1), "new_password": NEW_PASSWORD}
    differ = client.post("/password?lang=en", data={**data, "repeat": "something-else-entirely"})
    assert differ.status_code == 422 and "The two new passwords differ" in differ.text
    assert 'value="head.b"' in differ.text and NEW_PASSWORD not in differ.text
    done = client.post("/password", data={**data, "repeat": NEW_PASSWORD}, follow_redirects=False)
    assert done.status_code == 303 and SESSION_COOKIE in done.cookies
    page = client.get("/accounts?lang=en")
    assert page.status_code == 200 and "Head B" in page.text  # signed in as the new administrator


def test_an_administrator_s_page_reaches_only_its_staff(
    client: TestClient, sessions: sessionmaker[Session], make_actor: MakeActor
) -> None:
    fund, _ = make_actor(Role.FUND_ADMIN)
    orgs = two_orgs(sessions, fund)
    _, head = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)
    other, _ = make_actor(Role.REGISTRAR, entity_id=orgs.b)
    as_(client, head)
    page = client.get("/accounts?lang=en")
    csrf = csrf_of(page.text)
    assert 'name="bin"' not in page.text  # its staff are its own organization's
    made = client.post(
        "/accounts", data={"csrf": csrf, "username": "clerk.a", "display_name": "Clerk", "role": "registrar"}
    )
    assert made.status_code == 200 and OTP.search(made.text)
    listed = client.get("/accounts?lang=en").text
    assert "clerk.a" in listed and other.username not in listed and fund.username not in listed
    refused = client.post(f"/accounts/{other.account_id}/deactivate?lang=en", data={"csrf": csrf}, headers=HTML)
    assert refused.status_code == 404 and "There is no such account among those you administer." in refused.text
    assert account_events(sessions, other.account_id) == []
    clerk_id = int(re.findall(r'id="account-(\d+)"', listed)[0])
    moved = client.post(f"/accounts/{clerk_id}/role", data={"csrf": csrf, "role": "clinician"}, follow_redirects=False)
    assert moved.status_code == 303
    gone = client.post(f"/accounts/{clerk_id}/deactivate", data={"csrf": csrf}, follow_redirects=True)
    assert (
        "The account was deactivated; its sessions have ended." in client.get("/accounts?done=deactivated&lang=en").text
    )
    assert gone.status_code == 200
    assert [a for a, _, _ in account_events(sessions, clerk_id)] == [
        "account.created",
        "account.role_changed",
        "account.deactivated",
    ]
    forged = client.post(f"/accounts/{clerk_id}/password-reset", data={"csrf": "forged"}, headers=HTML)
    assert forged.status_code == 403
