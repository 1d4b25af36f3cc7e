"""The access matrix across organizations, run over every route and page of every door (JSON API, FHIR, pages).

Two organizations have every role each (tests/builders/organizations.py); A keeps a patient's medical book with a
positive syphilis result and her referral, and a written application with a document number. Then:
- every route answers an anonymous request with 401 (or a redirect to the login page) unless it is in PUBLIC;
- every GET route, called by each of B's accounts with A's record ids, never shows A's secrets (the patient's
  IIN and surname, the document number), and where it refuses, the refusal looks like the answer for an id that
  does not exist;
- A's own accounts do see them where they should (so this test can fail);
- an MIS client bound to no organization is refused at every route that admits MIS clients;
- writes by B on A's records are refused and change nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.medbook.models import JournalEntry
from emhana.web.deps import declared_roles, iter_routes
from tests.builders.clients import add_client
from tests.builders.medbook import NOW
from tests.builders.organizations import Across, two_organizations

MISSING = 987_654_321
CLIENT_OF_A = "Damu MIS of organization A"

# Routes open to everyone. Anything else must answer an anonymous request with 401 or send it to the login page.
PUBLIC = {
    "GET /",
    "GET /api/v1/attachment/calendar/{year}",
    "GET /api/v1/attachment/deadline",
    "GET /api/v1/attachment/near",
    "GET /api/v1/attachment/near/address",  # from a typed address: the reference data and the directory only
    "GET /api/v1/attachment/policies",
    "GET /api/v1/attachment/policies/{year}",
    "GET /api/v1/attachment/sites/{site_id}/free",
    "GET /api/v1/facilities/entities",
    "GET /api/v1/facilities/entities/{entity_id}",
    "GET /api/v1/facilities/entities/{entity_id}/practitioners",
    "GET /api/v1/facilities/export",
    "GET /api/v1/facilities/participant-lists",
    "GET /api/v1/facilities/participant-lists/{year}",
    "GET /api/v1/facilities/near",
    "GET /api/v1/medbook/groups",
    "GET /api/v1/medbook/groups/{code}/versions",
    "GET /api/v1/medbook/infection-rules",
    "GET /api/v1/ping",
    "POST /api/v1/oauth/token",  # SMART Backend Services: the signed client assertion is the credential
    "GET /fhir/R4/.well-known/smart-configuration",
    "GET /api/v1/reference/kato",
    "GET /api/v1/reference/kato/{code}",
    "GET /api/v1/reference/regions",
    "GET /facilities",
    "GET /facilities/{entity_id}",
    # The published lists of participating entities (B-02): organizations only, no personal data.
    "GET /participants",
    "GET /participants/{year}",
    "GET /fhir/R4/metadata",
    # The public directory on FHIR (issue 17, item 5): as the published list, no IIN; its versions too.
    "GET /fhir/R4/Organization",
    "GET /fhir/R4/Organization/{rid}",
    "POST /fhir/R4/Organization/_search",
    "GET /fhir/R4/Organization/_history",
    "GET /fhir/R4/Organization/{rid}/_history",
    "GET /fhir/R4/Organization/{rid}/_history/{vid}",
    "GET /fhir/R4/Location",
    "GET /fhir/R4/Location/{rid}",
    "POST /fhir/R4/Location/_search",
    "GET /fhir/R4/Location/_history",
    "GET /fhir/R4/Location/{rid}/_history",
    "GET /fhir/R4/Location/{rid}/_history/{vid}",
    "GET /fhir/R4/PractitionerRole",
    "GET /fhir/R4/PractitionerRole/{rid}",
    "POST /fhir/R4/PractitionerRole/_search",
    "GET /fhir/R4/PractitionerRole/_history",
    "GET /fhir/R4/PractitionerRole/{rid}/_history",
    "GET /fhir/R4/PractitionerRole/{rid}/_history/{vid}",
    "GET /language/{code}",
    "GET /login",
    "GET /medbook/groups",
    "GET /trust/anchor.pem",
    "GET /trust/list",
    "GET /trust/revocations",
    "GET /verify",
    "POST /api/v1/auth/token",
    "POST /api/v1/identity/iin-check",
    "POST /api/v1/verify",
    "POST /login",
    "POST /logout",
    # Signing in with EDS (issue 16, item 6): a one-time challenge, its signed answer, the demo PKI's button.
    "POST /login/eds",
    "POST /login/eds/challenge",
    "POST /login/eds/demo",
    "POST /verify",
    # Changing a one-time password: it opens no session, so the form proves the current password itself.
    "POST /api/v1/auth/password",
    "GET /password",
    "POST /password",
}
# Documentation and health routes FastAPI or the app adds without the dependency machinery.
UNDECLARED_OPEN = {"GET /openapi.json", "GET /docs", "GET /docs/oauth2-redirect", "GET /redoc"}

# Routes whose id names a record everyone may know exists (the public directory of healthcare entities).
PUBLIC_IDS = {"/api/v1/medbook/entities/{entity_id}/responsible"}

FILL = {
    "year": "2026",
    "site_id": str(MISSING),
    "code": "catering",
    "snapshot_id": str(MISSING),
    "bundle_id": str(MISSING),
    "letter_id": str(MISSING),  # a dead letter (its organization's operators and the Fund; issue 17)
    "examination_id": str(MISSING),
    "rule_id": str(MISSING),  # an infection rule: the Fund's list, no organization's record
    "post_id": str(MISSING),  # a practitioner's post (the entity admin's sites page)
    "district_id": str(MISSING),  # a district of a site (the entity admin's sites page)
    "export_id": str(MISSING),  # a FHIR bulk export (its owner's only; docs/bulk-export.md)
    "file_id": str(MISSING),  # a file of a FHIR bulk export
    "vid": "1",  # a version of a FHIR resource (vread)
}


@pytest.fixture
def across(
    client: TestClient,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
    at: Callable[[Any], None],
) -> Across:
    at(NOW)
    found = two_organizations(client, sessions, make_actor)
    found.ids["client_id"] = add_client(sessions, found.w.a, name=CLIENT_OF_A)  # A's MIS client application
    found.secrets.append(CLIENT_OF_A)
    return found


def routes(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    for path, methods, dependant in iter_routes(app):
        for method in sorted(methods - {"HEAD"}):
            yield method, path, declared_roles(dependant.dependencies)


def fill(path: str, ids: dict[str, Any], missing: bool = False) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in FILL:
            return FILL[name]
        return str(MISSING) if missing and name != "kind" else str(ids[name])

    return re.sub(r"\{(\w+)\}", value, path)


def closed(resp: Any) -> bool:
    return resp.status_code == 401 or (resp.status_code in (302, 303, 307) and "/login" in resp.headers["location"])


def code_of(resp: Any) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        if body.get("resourceType") == "OperationOutcome":
            issues = body.get("issue") or [{}]
            return str(issues[0].get("details", {}).get("coding", [{}])[0].get("code"))
        return body.get("code")
    return None


def test_only_declared_routes_are_open_to_everyone(app: FastAPI, client: TestClient, across: Across) -> None:
    wrong = []
    for method, path, declared in routes(app):
        key = f"{method} {path}"
        if key in UNDECLARED_OPEN:
            continue
        if (declared == "public") != (key in PUBLIC):
            wrong.append(f"{key}: declared {declared!r} but PUBLIC says {key in PUBLIC}")
            continue
        resp = client.request(method, fill(path, across.ids), follow_redirects=False)
        if key not in PUBLIC and not closed(resp):
            wrong.append(f"{key}: {resp.status_code} to an anonymous request")
    assert wrong == [], "\n".join(wrong)


def test_another_organizations_records_never_reach_b(app: FastAPI, client: TestClient, across: Across) -> None:
    leaks = []
    for method, path, declared in routes(app):
        if method != "GET" or not isinstance(declared, frozenset):
            continue
        for who, role in across.of("b").items() | {("other_employer", Role.EMPLOYER), ("stranger", Role.CITIZEN)}:
            if role not in declared:
                continue
            resp = client.get(fill(path, across.ids), headers=across.h[who], follow_redirects=False)
            shown = [s for s in across.secrets if s in resp.text]
            if shown:
                leaks.append(f"{who} GET {path}: {resp.status_code} shows {shown}")
            elif "{" in path and 400 <= resp.status_code < 500 and path not in PUBLIC_IDS:
                absent = client.get(fill(path, across.ids, missing=True), headers=across.h[who], follow_redirects=False)
                if (resp.status_code, code_of(resp)) != (absent.status_code, code_of(absent)):
                    leaks.append(
                        f"{who} GET {path}: {resp.status_code} {code_of(resp)}, but {absent.status_code} "
                        f"{code_of(absent)} for a missing id (tells that the record exists)"
                    )
    assert leaks == [], "\n".join(leaks)


# Where A's own accounts must see A's records: without these the test above could pass by seeing nothing.
SEEN_BY_A = {
    ("registrar_a", "/api/v1/attachment/applications/{application_id}"),
    ("registrar_a", "/api/v1/medbook/referrals/incoming"),
    ("clinician_a", "/api/v1/medbook/books/{book_id}"),
    ("clinician_a", "/medbook/desk/books/{book_id}"),
    ("clinician_a", "/medbook/desk/books"),
    ("mis_a", "/fhir/R4/Patient/{rid}/$medbook"),
    ("clinician_a", "/api/v1/medbook/referrals/incoming"),
    ("registrar_a", "/medbook/referrals"),
    ("admin_a", "/api/v1/clients/{client_id}"),
    ("admin_a", "/clients/{client_id}"),
    ("admin_a", "/clients"),
}


def test_a_sees_its_own_records(client: TestClient, across: Across) -> None:
    missing = [
        f"{who} {path}"
        for who, path in sorted(SEEN_BY_A)
        if not any(s in client.get(fill(path, across.ids), headers=across.h[who]).text for s in across.secrets)
    ]
    assert missing == []


def test_an_mis_client_bound_to_no_organization_is_refused_everywhere(
    app: FastAPI, client: TestClient, across: Across
) -> None:
    wrong = []
    for method, path, declared in routes(app):
        if not isinstance(declared, frozenset) or Role.MIS_CLIENT not in declared or path.startswith("/api/v1/auth/"):
            continue  # who am I and signing out stay open to it (checked below); signing out would end the test
        resp = client.request(method, fill(path, across.ids), headers=across.h["mis_none"], follow_redirects=False)
        if resp.status_code != 403 or code_of(resp) != "auth.no_organization":
            wrong.append(f"{method} {path}: {resp.status_code} {code_of(resp)}")
    assert wrong == [], "\n".join(wrong)
    assert client.get("/api/v1/auth/me", headers=across.h["mis_none"]).status_code == 200  # it can learn why


def test_b_cannot_write_on_as_records(client: TestClient, sessions: sessionmaker[Session], across: Across) -> None:
    ids = across.ids
    with sessions() as s:
        before = s.scalar(select(func.count()).select_from(JournalEntry))
    attempts = [
        ("registrar_b", f"/api/v1/attachment/applications/{ids['application_id']}/decision", {"decision": "approve"}),
        (
            "clinician_b",
            f"/api/v1/medbook/books/{ids['book_id']}/entries",
            {"kind": "lab_result", "item_code": "syphilis", "performed_on": "2026-03-05", "result": "negative"},
        ),
        (
            "mis_b",
            f"/api/v1/medbook/books/{ids['book_id']}/entries",
            {"kind": "lab_result", "item_code": "syphilis", "performed_on": "2026-03-05", "result": "negative"},
        ),
        ("therapist_b", f"/api/v1/medbook/books/{ids['book_id']}/clearance", {"decision": "granted"}),
        (
            "clinician_b",
            f"/api/v1/medbook/entries/{ids['entry_id']}/correction",
            {
                "kind": "lab_result",
                "item_code": "syphilis",
                "performed_on": "2026-03-02",
                "result": "negative",
                "reason": "typo",
            },
        ),
    ]
    wrong = []
    for who, path, body in attempts:
        etag = f'"application-{ids["application_id"]}-v1"'  # what A's registrar would send
        resp = client.post(path, headers={**across.h[who], "If-Match": etag}, json=body)
        if resp.status_code not in (403, 404):
            wrong.append(f"{who} POST {path}: {resp.status_code} {resp.text[:120]}")
    with sessions() as s:
        after = s.scalar(select(func.count()).select_from(JournalEntry))
    assert wrong == [], "\n".join(wrong)
    assert after == before


def test_reads_in_lists_are_logged_for_the_owner(
    client: TestClient, sessions: sessionmaker[Session], across: Across
) -> None:
    """The referral list shows the patient's IIN and finding: each such read is logged with its purpose."""
    assert client.get("/api/v1/medbook/referrals/incoming", headers=across.h["registrar_a"]).status_code == 200
    with sessions() as s:
        purposes = set(
            s.scalars(
                select(AuditEvent.purpose).where(
                    AuditEvent.subject_person_id == across.ids["person_id"], AuditEvent.action == "medbook.list.read"
                )
            )
        )
    assert purposes == {"referral after an infection finding"}
