"""Account administration in the JSON API: the Fund appoints an organization's administrator, who appoints,
re-roles, resets and deactivates its own staff — never another organization's — and a deactivated account's
token stops at once."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from tests.builders.accounts import account_events, bearer, first_sign_in, two_orgs

MakeActor = Callable[..., tuple[Actor, str]]


def test_the_fund_and_an_organization_administrator_appoint_in_turn(
    client: TestClient, sessions: sessionmaker[Session], make_actor: MakeActor
) -> None:
    fund, fund_token = make_actor(Role.FUND_ADMIN)
    orgs = two_orgs(sessions, fund)
    made = client.post(
        "/api/v1/accounts",
        json={"username": "head.a", "display_name": "Head A", "role": "entity_admin", "entity_id": orgs.a},
        headers=bearer(fund_token),
    )
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    body = made.json()
    assert body["account"]["must_change_password"] and body["account"]["entity_id"] == orgs.a
    head = first_sign_in(client, "head.a", body["one_time_password"])
    clerk = client.post(
        "/api/v1/accounts", json={"username": "clerk.a", "display_name": "Clerk A", "role": "registrar"}, headers=head
    )
    assert clerk.status_code == 201 and clerk.json()["account"]["entity_id"] == orgs.a
    clerk_id = clerk.json()["account"]["id"]
    clerk_auth = first_sign_in(client, "clerk.a", clerk.json()["one_time_password"])
    assert client.get("/api/v1/auth/me", headers=clerk_auth).json()["role"] == "registrar"

    listed = client.get("/api/v1/accounts", headers=head).json()
    assert [a["username"] for a in listed["items"]] == ["clerk.a"]
    assert [a["username"] for a in client.get("/api/v1/accounts", headers=bearer(fund_token)).json()["items"]] == [
        "head.a"
    ]
    role = client.post(f"/api/v1/accounts/{clerk_id}/role", json={"role": "clinician"}, headers=head)
    assert role.status_code == 200 and role.json()["role"] == "clinician"
    assert client.get("/api/v1/auth/me", headers=clerk_auth).status_code == 401  # signs in again
    reset = client.post(f"/api/v1/accounts/{clerk_id}/password-reset", headers=head)
    assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
    clerk_auth = first_sign_in(client, "clerk.a", reset.json()["one_time_password"])
    assert client.get("/api/v1/auth/me", headers=clerk_auth).json()["role"] == "clinician"
    gone = client.post(f"/api/v1/accounts/{clerk_id}/deactivate", headers=head)
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=clerk_auth).status_code == 401
    assert [a for a, _, _ in account_events(sessions, clerk_id)] == [
        "account.created",
        "account.password_changed",
        "account.role_changed",
        "account.password_reset",
        "account.password_changed",
        "account.deactivated",
    ]


def test_another_organization_s_staff_and_the_fund_are_out_of_reach(
    client: TestClient, sessions: sessionmaker[Session], make_actor: MakeActor
) -> None:
    fund, fund_token = make_actor(Role.FUND_ADMIN)
    orgs = two_orgs(sessions, fund)
    _, head_a = make_actor(Role.ENTITY_ADMIN, entity_id=orgs.a)
    other, other_token = make_actor(Role.REGISTRAR, entity_id=orgs.b)
    for url in (f"/api/v1/accounts/{other.account_id}/deactivate", f"/api/v1/accounts/{fund.account_id}/deactivate"):
        refused = client.post(url, headers=bearer(head_a))
        assert refused.status_code == 404 and refused.json()["code"] == "accounts.not_found"
    missing = client.post("/api/v1/accounts/999999/deactivate", headers=bearer(head_a))
    assert missing.json() == {**refused.json(), "instance": missing.json().get("instance")}  # the same refusal
    assert client.get("/api/v1/auth/me", headers=bearer(other_token)).status_code == 200
    for body in (
        {"username": "x.user", "display_name": "X", "role": "registrar", "entity_id": orgs.b},
        {"username": "x.user", "display_name": "X", "role": "fund_admin"},
        {"username": "x.user", "display_name": "X", "role": "entity_admin"},
    ):
        resp = client.post("/api/v1/accounts", json=body, headers=bearer(head_a))
        assert resp.status_code == 403 and resp.json()["code"] == "accounts.role_not_allowed", body
    fund_made = client.post(
        "/api/v1/accounts",
        json={"username": "x.user", "display_name": "X", "role": "registrar", "entity_id": orgs.a},
        headers=bearer(fund_token),
    )
    assert fund_made.status_code == 403  # the Fund appoints administrators; they appoint their staff
    unbound = client.post(
        "/api/v1/accounts",
        json={"username": "x.user", "display_name": "X", "role": "entity_admin"},
        headers=bearer(fund_token),
    )
    assert unbound.status_code == 422 and unbound.json()["code"] == "accounts.invalid"


def test_choosing_a_password_proves_the_current_one(client: TestClient, make_actor: MakeActor) -> None:
    actor, _ = make_actor(Role.CLINICIAN, password="the-old-password")
    wrong = client.post(
        "/api/v1/auth/password",
        data={"username": actor.username, "password": "not-the-old-one", "new_password": "a-brand-new-password"},
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "auth.bad_credentials"
    weak = client.post(
        "/api/v1/auth/password",
        data={"username": actor.username, "password": "the-old-password", "new_password": "short"},
    )
    assert weak.status_code == 422 and weak.json()["code"] == "accounts.weak_password"
    ok = client.post(
        "/api/v1/auth/password",
        data={"username": actor.username, "password": "the-old-password", "new_password": "a-brand-new-password"},
    )
    assert ok.status_code == 204
    token = client.post("/api/v1/auth/token", data={"username": actor.username, "password": "a-brand-new-password"})
    assert token.status_code == 200
