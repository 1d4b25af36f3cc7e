"""The FHIR transaction: an MIS posts a signed Bundle of one worker's results; refused bundles go to the
dead-letter queue."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Request, Response

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.api.fhir.search import (
    MAX_BODY,
    router,
)
from emhana.fhir import deadletter, inbound
from emhana.fhir.inbound import Accepted, Rejected
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
from emhana.web.problems import language

# --- Transaction ---------------------------------------------------------------------------------------


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
    request: Request, session: SessionDep, actor: Annotated[Actor, require(Can.SUBMIT_FHIR_BUNDLE)]
) -> Response:
    """Ingest a signed transaction Bundle of one worker's results; refused bundles go to the dead-letter queue."""
    body = await request.body()
    now = clock.now()
    if len(body) > MAX_BODY:
        raise FhirError(413, Issue("too-costly", "fhir.too_large", TOO_LARGE, {"limit": MAX_BODY}, ("Bundle",)))
    try:
        accepted = inbound.ingest(session=session, actor=actor, body=body, trust=trust_of(request), now=now)
    except Rejected as exc:
        session.rollback()
        deadletter.record_rejection(session=session, actor=actor, body=body, rejected=exc, now=now)
        return fhir_response(outcome([f.issue for f in exc.findings], language(request)), exc.status)
    count = len(json.loads(body)["entry"])
    return fhir_response(transaction_response(count, accepted, language(request)))
