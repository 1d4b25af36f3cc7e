"""The main menu reads the role matrix (the templates' ``can``): every role sees its entries in a fixed order (as
when the menu chose by role name, with the access-log, oversight and accounts entries of issue 14)."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.web.deps import SESSION_COOKIE
from emhana.web.render import environment

OWN = [("/facilities", "Directory")]
SHARED = [("/verify", "Verify a seal"), ("/docs", "API")]
CITIZEN = [
    ("/attachment/my", "My attachment"),
    ("/attachment/clinics", "Clinics near me"),
    ("/medbook/my", "My medical book"),
    ("/me/reads", "Who has read my data"),
    ("/me/notifications", "My notifications"),
]
DESK, BOOKS = ("/medbook/desk", "Medical book desk"), ("/medbook/desk/books", "Books")
REFERRALS = ("/medbook/referrals", "Incoming referrals")
REGISTRAR = [
    ("/attachment/queue", "Application queue"),
    ("/attachment/record", "Record an application"),
    ("/representations/new", "Record a legal representation"),
    ("/attachment/population", "Attached population"),
    REFERRALS,
]
# The role's own entries, between the directory and the seal check (the menu as it was by role name).
BY_ROLE: dict[Role | None, list[tuple[str, str]]] = {
    None: [],
    Role.CITIZEN: CITIZEN,
    Role.REGISTRAR: REGISTRAR,
    Role.CLINICIAN: [DESK, BOOKS, REFERRALS],
    Role.RESPONSIBLE_THERAPIST: [DESK, BOOKS, REFERRALS],
    Role.EMPLOYER: [("/medbook/workers", "Workers' clearance")],
    Role.FUND_ADMIN: [
        ("/representations/new", "Record a legal representation"),
        ("/attachment/dashboard", "Attachment campaign"),
        ("/oversight/reads", "Unusual read volume"),
        ("/oversight/jobs", "Scheduled jobs"),
        ("/medbook/infections", "Infections that bar work"),
        ("/accounts", "Accounts"),
        ("/clients", "Client applications"),
    ],
    Role.ENTITY_ADMIN: [
        ("/entity/sites", "Sites of my organization"),
        ("/accounts", "Accounts"),
        ("/clients", "Client applications"),
    ],
    Role.VERIFIER: [],
    Role.MIS_CLIENT: [],
}


def menu(html: str) -> list[tuple[str, str]]:
    """Return the (href, text) links of the main menu."""
    found = re.search(r'<nav class="main-nav"[^>]*>(.*?)</nav>', html, re.S)
    assert found, "the page has no main menu"
    return [(href, text.strip()) for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]*)</a>', found.group(1))]


def test_every_role_sees_the_menu_it_saw_by_role_name() -> None:
    assert set(BY_ROLE) == {None, *Role}
    template = environment("en").get_template("base.html")
    for role, own in BY_ROLE.items():
        actor = SimpleNamespace(role=role, display_name="Test") if role else None
        html = template.render(actor=actor, path="/", csrf="c", language_links=[], demo=False, request=None)
        login = [] if role else [("/login", "Log in")]
        assert menu(html) == [*OWN, *own, *SHARED, *login], role


@pytest.mark.parametrize(("role", "own"), [(Role.CITIZEN, CITIZEN), (Role.REGISTRAR, REGISTRAR)])
def test_a_citizen_and_a_registrar_see_their_entries(
    client: TestClient,
    make_actor: Callable[..., tuple[Actor, str]],
    seeded_entity: int,
    role: Role,
    own: list[tuple[str, str]],
) -> None:
    assert menu(client.get("/?lang=en").text) == [*OWN, *SHARED, ("/login", "Log in")]
    _, token = make_actor(role, entity_id=seeded_entity if role is Role.REGISTRAR else None)
    client.cookies.set(SESSION_COOKIE, token)
    assert menu(client.get("/?lang=en").text) == [*OWN, *own, *SHARED]
