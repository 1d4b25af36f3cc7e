"""CSRF tokens are bound to the session: a token taken from one session (or from before sign-in) is refused in
another session's form post, even when an attacker plants it as the victim's CSRF cookie too."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.kernel.i18n import translate
from emhana.web.deps import SESSION_COOKIE
from emhana.web.render import CSRF_COOKIE, MSG_CSRF
from tests.builders.web import csrf_of, login

REFUSAL = translate("en", MSG_CSRF)


def token_of(client: TestClient, session: str | None) -> str:
    """The CSRF token a page gives the holder of this session cookie (None: an anonymous visitor)."""
    client.cookies.clear()
    if session is not None:
        client.cookies.set(SESSION_COOKIE, session)
    return csrf_of(client.get("/login?lang=en").text)


def post_logout(client: TestClient, session: str, token: str) -> int:
    client.cookies.clear()
    client.cookies.update({SESSION_COOKIE: session, CSRF_COOKIE: token})
    resp = client.post("/logout?lang=en", data={"csrf": token}, follow_redirects=False)
    assert (REFUSAL in resp.text) == (resp.status_code == 403)
    return resp.status_code


def test_a_token_of_another_session_is_refused(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    _, alice = make_actor(Role.FUND_ADMIN)
    _, bob = make_actor(Role.FUND_ADMIN)
    alices = token_of(client, alice)
    anonymous = token_of(client, None)
    assert post_logout(client, bob, alices) == 403  # Alice's token (cookie and field) in Bob's session
    assert post_logout(client, bob, anonymous) == 403  # a token from before sign-in
    assert post_logout(client, alice, token_of(client, bob)) == 403
    assert post_logout(client, bob, token_of(client, bob)) == 303  # Bob's own token works
    # An anonymous form keeps working for anonymous visitors (the login form).
    client.cookies.clear()
    client.cookies.set(CSRF_COOKIE, anonymous)
    resp = client.post("/login?lang=en", data={"username": "nobody", "password": "x", "csrf": anonymous})
    assert resp.status_code == 401 and REFUSAL not in resp.text


def test_signing_in_binds_a_new_token_to_the_new_session(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN)
    client.cookies.clear()
    before = csrf_of(client.get("/login?lang=en").text)
    done = login(client, actor.username)
    assert done.status_code == 303
    session, fresh = done.cookies[SESSION_COOKIE], done.cookies[CSRF_COOKIE]
    assert fresh != before
    assert post_logout(client, session, before) == 403  # the pre-login token ended with the anonymous visit
    client.cookies.clear()
    client.cookies.update({SESSION_COOKIE: session, CSRF_COOKIE: fresh})
    out = client.post("/logout?lang=en", data={"csrf": fresh}, follow_redirects=False)
    assert out.status_code == 303  # the token set with the session works at once
    # Signing out ends that session's token too: the anonymous visitor after it gets a new one.
    assert out.cookies[CSRF_COOKIE] not in (fresh, before)
