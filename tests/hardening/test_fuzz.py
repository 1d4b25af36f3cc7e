"""API fuzzing with schemathesis over the whole OpenAPI, in process: no 5xx anywhere, and every 4xx is
application/problem+json with a stable ``code``.

Each operation runs as anonymous and as one role it admits (its declared roles, see emhana.web.deps);
the world holds participating entities, persons and policies so that small ids hit real rows.
Bounded: a few examples per operation (EMHANA_FUZZ_EXAMPLES raises it for a longer local run).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok

from emhana.accounts.roles import Role
from emhana.web.deps import declared_roles, iter_routes
from emhana.web.problems import PROBLEM_JSON
from tests.builders.attachment import Country

EXAMPLES = int(os.environ.get("EMHANA_FUZZ_EXAMPLES", "8"))
ANONYMOUS_EXAMPLES = 3

# Which role a protected route is fuzzed as, when it admits several (the most powerful first).
PREFERENCE = [
    Role.FUND_ADMIN,
    Role.ENTITY_ADMIN,
    Role.REGISTRAR,
    Role.RESPONSIBLE_THERAPIST,
    Role.CLINICIAN,
    Role.MIS_CLIENT,
    Role.VERIFIER,
    Role.EMPLOYER,
    Role.CITIZEN,
]


FHIR_JSON = "application/fhir+json"
OAUTH_TOKEN = "/api/v1/oauth/token"  # system clients' token endpoint: OAuth's JSON errors carry the registry's code


def problems_of(path: str, status: int, content_type: str, body: bytes) -> list[str]:
    """Return what is wrong with one answer (empty when it is acceptable).

    The FHIR facade (/fhir/…) may also answer errors as FHIR does: an OperationOutcome whose issue
    carries the same stable code as a coding; the OAuth token endpoint answers OAuth's JSON errors (RFC 6749
    §5.2) with the registry's code beside ``error``; everything answers problem+json with a code otherwise.
    """
    if status >= 500:
        return [f"server error {status}: {body[:300]!r}"]
    if not 400 <= status < 500:
        return []
    kind = content_type.split(";")[0].strip()
    if path.startswith("/fhir/") and kind == FHIR_JSON:
        doc = json.loads(body)
        codes = [c.get("code") for i in doc.get("issue", []) for c in i.get("details", {}).get("coding", [])]
        if doc.get("resourceType") != "OperationOutcome" or not any(codes):
            return [f"{status} OperationOutcome without a code: {doc}"]
        return []
    if path == OAUTH_TOKEN and kind == "application/json":  # RFC 6749 §5.2 fixes the media type of its errors
        doc = json.loads(body)
        if not doc.get("error") or not doc.get("code"):
            return [f"{status} OAuth error without its error or code: {doc}"]
        return []
    if kind != PROBLEM_JSON:
        return [f"{status} is {kind!r}, not problem+json: {body[:200]!r}"]
    doc = json.loads(body)
    if not isinstance(doc.get("code"), str) or not doc["code"]:
        return [f"{status} problem without a code: {doc}"]
    if doc.get("status") != status:
        return [f"{status} problem says status {doc.get('status')}"]
    return []


def role_for(app: Any, path: str, method: str) -> Role | None:
    for route_path, methods, dependant in iter_routes(app):
        if route_path == path and method.upper() in methods:
            roles = declared_roles(dependant.dependencies)
            if isinstance(roles, frozenset):
                return next(r for r in PREFERENCE if r in roles)
            return None
    return None


def fuzz(operation: Any, headers: dict[str, str], examples: int, statuses: Counter[str]) -> list[str]:
    """Run one operation's generated cases and return the distinct failures; count the statuses seen."""
    found: list[str] = []
    who = "as role" if headers else "anonymous"

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.headers = {**(case.headers or {}), **headers}
        try:
            response = case.call()
        except Exception as exc:  # the in-process client re-raises what the app answered with a 500
            messages = [f"server error 500: {type(exc).__name__}: {str(exc)[:200]}"]
            status = 500
        else:
            content_type = (response.headers.get("content-type") or [""])[0]
            messages = problems_of(operation.path, response.status_code, content_type, response.content)
            status = response.status_code
        statuses[f"{operation.method.upper()} {operation.path} {who} {status}"] += 1
        for problem in messages:
            message = f"{case.method} {case.formatted_path} {who}: {problem.splitlines()[0]}"
            if message not in found:
                found.append(message)

    try:
        run()
    except Unsatisfiable:
        pass
    return found


@pytest.fixture
def world(country: Country, person: Callable[..., int], seeded_entity: int) -> list[int]:
    """Entities with districts, the campaign policies and a few persons (ids 1… exist)."""
    return [person() for _ in range(3)]


def test_no_5xx_and_every_4xx_is_a_problem(app: FastAPI, world: list[int], auth: Callable[..., dict[str, str]]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    statuses: Counter[str] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        operations += 1
        role = role_for(app, operation.path, operation.method)
        failures += fuzz(operation, {}, ANONYMOUS_EXAMPLES if role else EXAMPLES, statuses)
        if role is not None:
            # A fresh token per operation: fuzzing POST /auth/logout revokes the token it is given.
            failures += fuzz(operation, auth(role), EXAMPLES, statuses)
    if os.environ.get("EMHANA_FUZZ_REPORT"):
        print("\n".join(f"{n:4} {k}" for k, n in sorted(statuses.items())))  # noqa: T201
    assert operations >= 60
    assert failures == [], "\n".join(failures)
    # The fuzzing got past the doors: many operations answered with a success at least once.
    succeeded = {k.rsplit(" ", 1)[0] for k in statuses if k.endswith((" 200", " 201", " 204"))}
    assert len(succeeded) >= 20, sorted(succeeded)


def test_the_answer_check_can_fail() -> None:
    problem = json.dumps({"code": "core.not_found", "status": 404}).encode()
    assert problems_of("/api/v1/x", 404, PROBLEM_JSON, problem) == []
    assert problems_of("/api/v1/x", 200, "text/html", b"<p>") == []
    assert problems_of("/api/v1/x", 500, PROBLEM_JSON, problem)
    assert problems_of("/api/v1/x", 404, "application/json", problem)
    assert problems_of("/api/v1/x", 422, PROBLEM_JSON, b'{"status": 422}')
    assert problems_of("/api/v1/x", 403, PROBLEM_JSON, problem)  # the body says another status
    outcome = {"resourceType": "OperationOutcome", "issue": [{"details": {"coding": [{"code": "core.not_found"}]}}]}
    assert problems_of("/fhir/R4/Patient/1", 404, FHIR_JSON, json.dumps(outcome).encode()) == []
    assert problems_of("/fhir/R4/Patient/1", 404, FHIR_JSON, b'{"resourceType": "OperationOutcome"}')
