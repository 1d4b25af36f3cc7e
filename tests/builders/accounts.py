"""Account administration in tests: two organizations, signing in through the API, and the audit of accounts."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.facilities.service import apply_records, get_entity_by_bin
from tests.builders.facilities import entity_record

BIN_A, BIN_B = "150340001236", "990240001233"
NEW_PASSWORD = "a-long-enough-password"


@dataclass(frozen=True)
class Orgs:
    a: int
    b: int


def two_orgs(sessions: sessionmaker[Session], fund: Actor) -> Orgs:
    """Register organizations A and B (by the Fund) and return their ids."""
    with sessions.begin() as s:
        apply_records(session=s, actor=fund, records=[entity_record(BIN_A), entity_record(BIN_B)])
        return Orgs(get_entity_by_bin(session=s, bin_=BIN_A).id, get_entity_by_bin(session=s, bin_=BIN_B).id)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: TestClient, username: str, password: str) -> dict[str, str]:
    """Sign in through the API and return the Authorization header (the sign-in must succeed)."""
    resp = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return bearer(resp.json()["access_token"])


def first_sign_in(client: TestClient, username: str, one_time_password: str) -> dict[str, str]:
    """Sign in with a one-time password the way its holder must: choose a new password, then sign in."""
    refused = client.post("/api/v1/auth/token", data={"username": username, "password": one_time_password})
    assert refused.status_code == 403 and refused.json()["code"] == "auth.password_change_required", refused.text
    changed = client.post(
        "/api/v1/auth/password",
        data={"username": username, "password": one_time_password, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204, changed.text
    return sign_in(client, username, NEW_PASSWORD)


def account_events(sessions: sessionmaker[Session], account_id: int) -> list[tuple[str, int | None, str]]:
    """The audit events of an account: (action, acting account, the state after)."""
    with sessions() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "account", AuditEvent.object_id == str(account_id))
            .order_by(AuditEvent.id)
        )
        return [(e.action, e.account_id, e.purpose) for e in rows]
