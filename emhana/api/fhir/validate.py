"""``POST [base]/Bundle/$validate`` (FHIR R4 operation Resource-validate): an MIS checks a transaction Bundle
before it sends it. The answer is an OperationOutcome with every finding of the checks that need no write (JSON,
a transaction Bundle, accepted resource types, FHIR R4 structure and types, each with its FHIRPath location), or
one information issue when there is none; 200 either way, as the operation defines (the validation was done).
Nothing is written, nothing goes to the dead-letter queue. The body is the Bundle itself or a Parameters
resource with the Bundle in its ``resource`` parameter; validation against a nominated ``profile`` is not
offered and is refused. The checks that need the registry (the worker, the code map, the signature) run only on
the transaction itself."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from emhana.accounts.roles import Can
from emhana.api.fhir.search import MAX_BODY, router
from emhana.fhir.inbound import Rejected, parse
from emhana.fhir.outcome import (
    BAD_PARAMETER,
    NOT_VALIDATED,
    TOO_LARGE,
    VALID,
    FhirError,
    Issue,
    fhir_response,
    outcome,
)
from emhana.web.deps import require
from emhana.web.problems import language


def _unwrapped(body: bytes) -> bytes:
    """Return the resource to validate: the body, or the ``resource`` parameter of a Parameters body."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return body  # ``parse`` names the problem
    if not isinstance(doc, dict) or doc.get("resourceType") != "Parameters":
        return body
    params: list[Any] = [p for p in doc.get("parameter") or [] if isinstance(p, dict)]
    if any(p.get("name") == "profile" for p in params):
        raise _no_profile()
    resources = [p.get("resource") for p in params if p.get("name") == "resource"]
    if len(resources) != 1 or not isinstance(resources[0], dict):
        raise FhirError(
            400,
            Issue(
                "required",
                "fhir.nothing_to_validate",
                NOT_VALIDATED,
                {"found": "Parameters"},
                ("Parameters.parameter",),
            ),
        )
    return json.dumps(resources[0]).encode()


def _no_profile() -> FhirError:
    return FhirError(
        400,
        Issue(
            "not-supported",
            "fhir.bad_parameter",
            BAD_PARAMETER,
            {"name": "profile", "reason": "validation against a nominated profile is not offered"},
            ("profile",),
        ),
    )


@router.post("/Bundle/$validate", dependencies=[require(Can.SUBMIT_FHIR_BUNDLE)])
async def validate_bundle(request: Request) -> JSONResponse:
    """Validate a transaction Bundle without writing anything: an OperationOutcome of every finding."""
    if "profile" in request.query_params:
        raise _no_profile()
    body = await request.body()
    if len(body) > MAX_BODY:
        raise FhirError(413, Issue("too-costly", "fhir.too_large", TOO_LARGE, {"limit": MAX_BODY}, ("Bundle",)))
    try:
        parse(_unwrapped(body))
    except Rejected as exc:
        return fhir_response(outcome([f.issue for f in exc.findings], language(request)))
    valid = Issue("informational", "fhir.valid", VALID, {}, (), severity="information")
    return fhir_response(outcome([valid], language(request)))
