"""The role matrix admits, on every route, exactly the roles the routes admitted before it existed.

EXPECTED was captured from the routes' own role lists before they read emhana.accounts.roles (issue 13,
"one role matrix"): a change of who may call a route shows up here as a diff of this table, never silently.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from emhana.accounts.roles import MATRIX, Can, Role, roles_of
from emhana.web.deps import iter_routes

EXPECTED: dict[str, set[str]] = {  # the roles admitted (or public) -> the routes
    "public": {
        "GET /",
        "GET /api/v1/attachment/calendar/{year}",
        "GET /api/v1/attachment/deadline",
        "GET /api/v1/attachment/near/address",
        "GET /api/v1/attachment/near",
        "GET /api/v1/attachment/policies",
        "GET /api/v1/attachment/policies/{year}",
        "GET /api/v1/attachment/sites/{site_id}/free",
        "GET /api/v1/facilities/entities",
        "GET /api/v1/facilities/entities/{entity_id}",
        "GET /api/v1/facilities/entities/{entity_id}/practitioners",
        "GET /api/v1/facilities/export",
        "GET /api/v1/facilities/participant-lists",
        "GET /api/v1/facilities/participant-lists/{year}",
        "GET /participants",
        "GET /participants/{year}",
        "GET /api/v1/facilities/near",
        "GET /api/v1/medbook/groups",
        "GET /api/v1/medbook/groups/{code}/versions",
        "GET /api/v1/medbook/infection-rules",
        "GET /api/v1/ping",
        "POST /api/v1/oauth/token",  # SMART Backend Services: the client assertion is the credential (issue 17)
        "GET /fhir/R4/.well-known/smart-configuration",
        "GET /api/v1/reference/kato",
        "GET /api/v1/reference/kato/{code}",
        "GET /api/v1/reference/regions",
        "GET /facilities",
        "GET /facilities/{entity_id}",
        "GET /fhir/R4/metadata",
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
        "GET /password",
        "GET /trust/anchor.pem",
        "GET /trust/list",
        "GET /trust/revocations",
        "GET /verify",
        "POST /api/v1/auth/password",
        "POST /api/v1/auth/token",
        "POST /api/v1/identity/iin-check",
        "POST /api/v1/verify",
        "POST /login",
        "POST /login/eds",
        "POST /login/eds/challenge",
        "POST /login/eds/demo",
        "POST /logout",
        "POST /password",
        "POST /verify",
    },
    "citizen": {
        "GET /api/v1/attachment/me",
        "GET /api/v1/attachment/near/mine",
        "GET /api/v1/me/access-log",
        "GET /api/v1/me/person",
        "GET /api/v1/medbook/me",
        "GET /api/v1/medbook/me/reads",
        "GET /attachment/clinics",
        "GET /attachment/my",
        "GET /attachment/notifications",
        "GET /me/reads",
        "GET /me/notifications",
        "GET /attachment/apply",
        "GET /api/v1/attachment/persons/{person_id}/outlook",
        "GET /medbook/my",
        "GET /medbook/my/book.pdf",
        "POST /attachment/apply",
        "GET /attachment/applications/{application_id}/to-sign",
        "POST /attachment/apply/to-sign",
        "POST /attachment/applications/{application_id}/signature",
        "POST /attachment/applications/{application_id}/sign-demo",
        "POST /attachment/notifications",
        "POST /medbook/my/language",
        "PUT /api/v1/medbook/me/language",
    },
    "employer": {
        "GET /api/v1/medbook/employer/workers",
        "GET /medbook/workers",
    },
    "fund_admin": {
        "POST /api/v1/facilities/participant-lists",
        "GET /fund/entities",
        "GET /fund/entities/{entity_id}",
        "POST /fund/entities/{entity_id}",
        "POST /fund/entities/{entity_id}/contract",
        "GET /fund/entities/{entity_id}/redistribution",
        "POST /fund/entities/{entity_id}/redistribution",
        "GET /fund/participants",
        "POST /fund/participants",
        "GET /attachment/snapshots/new",
        "POST /attachment/snapshots/new",
        "GET /attachment/snapshots/{snapshot_id}",
        "GET /attachment/snapshots/{snapshot_id}/persons.csv",
        "GET /oversight/reads",
        "GET /oversight/jobs",
        "GET /api/v1/attachment/capitation/snapshots",
        "GET /api/v1/attachment/capitation/snapshots/{snapshot_id}/export",
        "GET /api/v1/attachment/capitation/snapshots/{snapshot_id}/persons",
        "GET /api/v1/notify/outbox",
        "GET /attachment/dashboard",
        "GET /attachment/policies",
        "GET /attachment/policies/new",
        "GET /attachment/snapshots",
        "POST /api/v1/attachment/capitation/snapshots",
        "POST /api/v1/attachment/entities/{entity_id}/redistribute",
        "POST /api/v1/attachment/jobs/daily",
        "POST /api/v1/attachment/persons/{person_id}/detach",
        "POST /api/v1/attachment/policies",
        "POST /api/v1/facilities/entities",
        "POST /api/v1/facilities/entities/{entity_id}/inclusions",
        "POST /api/v1/facilities/import",
        "POST /api/v1/medbook/employers",
        "POST /api/v1/medbook/groups",
        "POST /api/v1/medbook/infection-rules",
        "POST /api/v1/medbook/infection-rules/{rule_id}/end",
        "GET /medbook/infections",
        "POST /medbook/infections",
        "POST /medbook/infections/{rule_id}/end",
        "POST /api/v1/notify/deliver",
        "POST /attachment/policies/new",
        "PUT /api/v1/attachment/policies/{year}",
        "PUT /api/v1/interop/code-map",
    },
    "mis_client": {
        "POST /fhir/R4",
        "POST /fhir/R4/",
        "POST /fhir/R4/Bundle/$validate",
    },
    "registrar": {
        "GET /api/v1/attachment/queue",
        "GET /attachment/population",
        "GET /attachment/queue",
        "GET /attachment/record",
        "POST /api/v1/attachment/applications/written",
        "POST /api/v1/attachment/applications/{application_id}/decision",
        "POST /attachment/applications/{application_id}/decision",
        "POST /attachment/record",
        "POST /attachment/record/lookup",
    },
    "responsible_therapist": {
        "POST /api/v1/medbook/books",
        "POST /api/v1/medbook/books/{book_id}/clearance",
        "POST /medbook/desk/books/{book_id}/clearance",
        "GET /medbook/desk/issue",
        "POST /medbook/desk/issue",
    },
    "citizen registrar": {
        "GET /api/v1/attachment/applications/{application_id}/notice.pdf",
        "GET /api/v1/attachment/applications/{application_id}/notice.sig",
        "POST /api/v1/attachment/applications",
    },
    "clinician responsible_therapist": {
        "GET /medbook/desk",
        "GET /medbook/desk/books/{book_id}",
        "GET /medbook/desk/books",
        "POST /api/v1/medbook/books/lookup",
        "POST /api/v1/medbook/entries/{entry_id}/correction",
        "POST /medbook/desk/books/{book_id}/correction",
        "POST /medbook/desk/books/{book_id}/entries",
        "POST /medbook/desk/books/{book_id}/entries/{entry_id}/sign-demo",
        "POST /medbook/desk/find",
        "POST /api/v1/medbook/books/{book_id}/examinations",
        "POST /api/v1/medbook/examinations/{examination_id}/close",
        "POST /api/v1/medbook/books/{book_id}/jobs",
        "POST /api/v1/medbook/books/{book_id}/jobs/{employment_id}/end",
        "GET /medbook/desk/books/{book_id}/jobs",
        "POST /medbook/desk/books/{book_id}/jobs",
        "POST /medbook/desk/books/{book_id}/jobs/{employment_id}/end",
        "POST /medbook/desk/books/{book_id}/examinations",
    },
    "entity_admin": {
        "GET /entity/sites",
        "POST /entity/sites/{site_id}",
        "POST /entity/sites/{site_id}/districts",
        "POST /entity/sites/{site_id}/districts/{district_id}",
        "POST /entity/practitioners",
        "POST /entity/posts/{post_id}/end",
    },
    "entity_admin fund_admin": {
        "GET /accounts",
        "GET /api/v1/clients",
        "GET /api/v1/clients/{client_id}",
        "GET /clients",
        "GET /clients/{client_id}",
        "POST /api/v1/clients",
        "POST /api/v1/clients/{client_id}/deactivate",
        "PUT /api/v1/clients/{client_id}/jwks",
        "PUT /api/v1/clients/{client_id}/scopes",
        "POST /clients",
        "POST /clients/{client_id}/deactivate",
        "POST /clients/{client_id}/jwks",
        "POST /clients/{client_id}/scopes",
        "GET /api/v1/accounts",
        "GET /api/v1/accounts/{account_id}",
        "POST /accounts",
        "POST /accounts/{account_id}/deactivate",
        "POST /accounts/{account_id}/password-reset",
        "POST /accounts/{account_id}/role",
        "POST /api/v1/accounts",
        "POST /api/v1/accounts/{account_id}/deactivate",
        "POST /api/v1/accounts/{account_id}/password-reset",
        "POST /api/v1/accounts/{account_id}/role",
        "POST /api/v1/facilities/entities/{entity_id}/practitioners",
        "POST /api/v1/interop/bundles/{bundle_id}/discard",
        "POST /api/v1/interop/bundles/{bundle_id}/replay",
        "POST /api/v1/medbook/entities/{entity_id}/responsible",
    },
    "fund_admin registrar": {
        "GET /api/v1/attachment/applications/{application_id}/documents/{document_id}",
        "POST /api/v1/persons",
        "POST /api/v1/representations",
        "GET /representations/new",
        "POST /representations/new",
    },
    "citizen clinician responsible_therapist": {
        "GET /api/v1/medbook/books/{book_id}",
    },
    "citizen fund_admin registrar": {
        "GET /api/v1/attachment/applications/{application_id}",
        "GET /attachment/applications/{application_id}",
    },
    "clinician mis_client responsible_therapist": {
        "GET /fhir/R4/Patient/{rid}/$medbook",
        "GET /fhir/R4/Condition",  # read back (issue 17)
        "GET /fhir/R4/Condition/{rid}",  # read back (issue 17)
        "GET /fhir/R4/Condition/{rid}/_history",  # read back (issue 17)
        "GET /fhir/R4/Condition/{rid}/_history/{vid}",  # read back (issue 17)
        "POST /fhir/R4/Condition/_search",  # read back (issue 17)
        "GET /fhir/R4/DiagnosticReport",  # read back (issue 17)
        "GET /fhir/R4/DiagnosticReport/{rid}",  # read back (issue 17)
        "GET /fhir/R4/DiagnosticReport/{rid}/_history",  # read back (issue 17)
        "GET /fhir/R4/DiagnosticReport/{rid}/_history/{vid}",  # read back (issue 17)
        "POST /fhir/R4/DiagnosticReport/_search",  # read back (issue 17)
        "GET /fhir/R4/Immunization",  # read back (issue 17)
        "GET /fhir/R4/Immunization/{rid}",  # read back (issue 17)
        "GET /fhir/R4/Immunization/{rid}/_history",  # read back (issue 17)
        "GET /fhir/R4/Immunization/{rid}/_history/{vid}",  # read back (issue 17)
        "POST /fhir/R4/Immunization/_search",  # read back (issue 17)
        "GET /fhir/R4/Observation",  # read back (issue 17)
        "GET /fhir/R4/Observation/{rid}",  # read back (issue 17)
        "GET /fhir/R4/Observation/{rid}/_history",  # read back (issue 17)
        "GET /fhir/R4/Observation/{rid}/_history/{vid}",  # read back (issue 17)
        "POST /fhir/R4/Observation/_search",  # read back (issue 17)
        "POST /api/v1/medbook/books/{book_id}/entries",
    },
    "clinician registrar responsible_therapist": {
        "GET /api/v1/medbook/referrals/incoming",
        "GET /medbook/referrals",
        "POST /api/v1/medbook/referrals/{entry_id}/acknowledge",
        "POST /medbook/referrals/{entry_id}/acknowledge",
    },
    "employer fund_admin responsible_therapist": {
        "GET /api/v1/medbook/reminders",
    },
    "entity_admin fund_admin mis_client": {
        "GET /api/v1/interop/code-map",
        "GET /api/v1/interop/dead-letters",
        "GET /api/v1/interop/dead-letters/{letter_id}",
        "GET /api/v1/interop/sync-status",
    },
    "entity_admin fund_admin responsible_therapist": {
        "POST /api/v1/trust/seals/revoke",
        "POST /api/v1/trust/seals/supersede",
    },
    "clinician entity_admin fund_admin responsible_therapist": {
        "GET /api/v1/medbook/entities/{entity_id}/responsible",
    },
    "clinician fund_admin registrar responsible_therapist": {
        "POST /api/v1/persons/lookup",
    },
    "citizen clinician fund_admin registrar responsible_therapist": {
        "GET /api/v1/attachment/persons/{person_id}",
        "GET /api/v1/persons/{person_id}",
        "GET /api/v1/persons/{person_id}/representations",
    },
    "clinician entity_admin mis_client registrar responsible_therapist": {
        "GET /api/v1/signatures/{kind}/{record_id}/to-sign",
        "POST /api/v1/signatures/{kind}/{record_id}",
    },
    "clinician fund_admin mis_client registrar responsible_therapist": {
        "GET /fhir/R4/Patient",
        "GET /fhir/R4/Patient/{rid}",
        "POST /fhir/R4/Patient/_search",
    },
    "clinician entity_admin fund_admin mis_client registrar responsible_therapist": {
        "GET /fhir/R4/Practitioner",
        "GET /fhir/R4/Practitioner/{rid}",
        "GET /fhir/R4/Practitioner/_history",
        "GET /fhir/R4/Practitioner/{rid}/_history",
        "GET /fhir/R4/Practitioner/{rid}/_history/{vid}",
        "POST /fhir/R4/Practitioner/_search",
        # FHIR Bulk Data $export (docs/bulk-export.md): who exports what is decided inside (fhir/bulk.py)
        "GET /fhir/R4/$export",
        "GET /fhir/R4/Group/{entity_id}",
        "GET /fhir/R4/Group/{entity_id}/$export",
        "GET /fhir/R4/$export-status/{export_id}",
        "DELETE /fhir/R4/$export-status/{export_id}",
        "GET /fhir/R4/$export-file/{export_id}/{file_id}",
    },
    "citizen clinician employer entity_admin fund_admin mis_client registrar responsible_therapist verifier": {
        "GET /api/v1/auth/me",
        "POST /api/v1/auth/logout",
    },
}


def declarations(dependencies: list[Any]) -> list[frozenset[Role] | str]:
    """Every role set (or "public") a route's dependencies declare, nested ones included."""
    found: list[frozenset[Role] | str] = []
    for dep in dependencies:
        roles = getattr(getattr(dep, "call", None), "emhana_roles", None)
        if roles is not None:
            found.append(roles)
        found.extend(declarations(getattr(dep, "dependencies", [])))
    return found


def admitted(dependencies: list[Any]) -> str:
    """The roles a route admits (those every declaration admits), spelt as in EXPECTED."""
    declared = declarations(dependencies)
    sets = [d for d in declared if not isinstance(d, str)]
    if not declared:
        return "undeclared"
    if not sets:
        return "public"
    return " ".join(sorted(role.value for role in frozenset.intersection(*sets)))


def test_every_route_admits_the_roles_it_admitted_before(app: FastAPI) -> None:
    expected = {route: roles for roles, routes in EXPECTED.items() for route in routes}
    now = {
        f"{method} {path}": admitted(dependant.dependencies)
        for path, methods, dependant in iter_routes(app)
        for method in methods
    }
    changed = {k: (expected.get(k), now.get(k)) for k in expected.keys() | now.keys() if expected.get(k) != now.get(k)}
    assert changed == {}


def test_every_capability_is_held_by_a_role() -> None:
    assert set(MATRIX) == set(Can)
    assert all(MATRIX[c] for c in Can)


def test_roles_of_is_the_union() -> None:
    assert roles_of(Can.SIGN_MEDBOOK_ENTRY, Can.SIGN_NOTICE) == MATRIX[Can.SIGN_MEDBOOK_ENTRY] | MATRIX[Can.SIGN_NOTICE]
    assert roles_of(Can.USE_ACCOUNT) == frozenset(Role)


def test_every_capability_is_read_somewhere() -> None:
    """No capability is dead: each is named outside the matrix (by a route, a page or a service)."""
    root = Path(__file__).resolve().parents[2] / "emhana"
    text = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py") if p != root / "accounts" / "roles.py")
    unread = [c.name for c in Can if not re.search(rf"\bCan\.{c.name}\b", text)]
    assert unread == []
