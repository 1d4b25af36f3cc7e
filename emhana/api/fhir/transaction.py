"""The FHIR transaction: an MIS posts a signed Bundle of one worker's results; refused bundles go to the
dead-letter queue."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.api.fhir.search import (
    MAX_BODY,
    router,
)
from emhana.audit.idempotency import run_once
from emhana.fhir import deadletter, inbound, systems
from emhana.fhir.inbound import Accepted, Rejected
from emhana.fhir.models import DeadLetter
from emhana.fhir.outcome import (
    DUPLICATE,
    TOO_LARGE,
    FhirError,
    Issue,
    fhir_response,
    outcome,
)
from emhana.fhir.signature import Trust, load_trust
from emhana.kernel import clock
from emhana.web.deps import SessionDep, require
from emhana.web.idempotency import IdempotencyKey
from emhana.web.problems import language

# --- Transaction ---------------------------------------------------------------------------------------

# An OperationOutcome issue's dead letter: sub-extensions letter and bundle (ids) and location (its address)
DEAD_LETTER = f"{systems.BASE}/StructureDefinition/dead-letter"


def trust_of(request: Request) -> Trust:
    """Return the trust anchors and CRLs of the app."""
    trust = getattr(request.app.state, "fhir_trust", None)
    return trust if isinstance(trust, Trust) else load_trust(request.app.state.settings)


def transaction_response(doc_entries: int, accepted: Accepted, lang: str) -> dict[str, Any]:
    """Return the transaction-response Bundle: one entry per request entry, in order."""
    entries: list[dict[str, Any]] = [{"response": {"status": "200 OK"}} for _ in range(doc_entries)]
    for r in accepted.results:
        response: dict[str, Any] = {
            "status": "201 Created" if r.created else "200 OK",
            "location": f"{r.resource_type}/{r.resource_id}/_history/{r.version}",
            "etag": f'W/"{r.version}"',
        }
        if not r.created:
            response["outcome"] = outcome(
                [
                    Issue(
                        "duplicate",
                        "fhir.duplicate",
                        DUPLICATE,
                        {},
                        (f"Bundle.entry[{r.position}]",),
                        severity="information",
                    )
                ],
                lang,
            )
        entries[r.position] = {"response": response}
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


@router.post("", status_code=200)
@router.post("/", status_code=200, include_in_schema=False)
async def transaction(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(Can.SUBMIT_FHIR_BUNDLE)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Ingest a signed transaction Bundle of one worker's results; refused bundles go to the dead-letter queue.

    With an Idempotency-Key a retry of the same bundle gets the first transaction-response (a refusal keeps
    no key); without one, a resent resource version is still written once (the inbound ledger)."""
    body = await request.body()
    now = clock.now()
    if len(body) > MAX_BODY:
        raise FhirError(413, Issue("too-costly", "fhir.too_large", TOO_LARGE, {"limit": MAX_BODY}, ("Bundle",)))
    lang = language(request)

    def run() -> tuple[int, dict[str, Any]]:
        accepted = inbound.ingest(session=session, actor=actor, body=body, trust=trust_of(request), now=now)
        return 200, transaction_response(accepted.entries, accepted, lang)

    fingerprint = {"bundle": hashlib.sha256(body).hexdigest()}
    try:
        status, answer = await run_in_threadpool(
            run_once, session=session, actor=actor, key=idempotency_key, payload=fingerprint, run=run
        )
    except Rejected as exc:
        session.rollback()  # nothing of the bundle stays; then, in the same request, its refusal is kept
        _, letters = deadletter.record_rejection(session=session, actor=actor, body=body, rejected=exc, now=now)
        return refusal_response(request, exc, letters, lang)
    return fhir_response(answer, status)


def letter_url(request: Request, letter_id: int) -> str:
    """Return the address of a dead letter in the interop API."""
    return str(request.base_url).rstrip("/") + f"/api/v1/interop/dead-letters/{letter_id}"


def refusal_response(request: Request, exc: Rejected, letters: list[DeadLetter], lang: str) -> Response:
    """Return the OperationOutcome of a refused bundle: each issue names its dead letter (extension ``dead-letter``:
    the letter, its bundle and the letter's address in the interop API) and ``Location`` the first letter."""
    body = outcome([f.issue for f in exc.findings], lang)
    for issue, letter in zip(body["issue"], letters, strict=True):
        issue["extension"] = [
            {
                "url": DEAD_LETTER,
                "extension": [
                    {"url": "letter", "valueString": str(letter.id)},
                    {"url": "bundle", "valueString": str(letter.bundle_id)},
                    {"url": "location", "valueUrl": letter_url(request, letter.id)},
                ],
            }
        ]
    headers = {"Location": letter_url(request, letters[0].id)} if letters else None
    return fhir_response(body, exc.status, headers=headers)
