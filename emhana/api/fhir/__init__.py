"""Thin doors: /fhir/R4 (read, search, transaction, $medbook, metadata) and /api/v1/interop (code map,
dead-letter queue, sync status). ``install`` adds both routers, the OperationOutcome rendering of errors on
/fhir paths and the access-log filter that keeps search parameters (an IIN) out of the logs."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from emhana.api.fhir import resources as resources  # the read and search routes, registered first
from emhana.api.fhir import transaction as transaction  # then the transaction
from emhana.api.fhir.interop import interop
from emhana.api.fhir.search import router
from emhana.fhir.outcome import FHIR_JSON, FhirError, error_response, outcome_from_texts
from emhana.fhir.signature import load_trust
from emhana.web.problems import PROBLEM_JSON, language

__all__ = ["install", "wants_fhir"]


class _HideQuery(logging.Filter):
    """Drop the query string of /fhir requests from uvicorn's access log: a search may carry an IIN."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and args[2].startswith("/fhir/"):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def wants_fhir(request: Request) -> bool:
    """Tell whether a client speaks FHIR: it accepts or sends FHIR JSON, or names a ``_format``.

    Such a client gets authentication and routing errors as OperationOutcome; any other client of /fhir gets
    the registry's problem+json (FHIR's own errors are always OperationOutcome).
    """
    return (
        "fhir" in request.headers.get("accept", "")
        or "fhir" in request.headers.get("content-type", "")
        or "_format" in request.query_params
    )


def install(app: FastAPI) -> None:
    """Add the FHIR and interop routers, OperationOutcome errors for FHIR clients, and the log filter."""
    app.state.fhir_trust = load_trust(app.state.settings)
    app.include_router(router)
    app.include_router(interop, prefix="/api/v1")
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _HideQuery) for f in access.filters):
        access.addFilter(_HideQuery())

    @app.exception_handler(FhirError)
    async def _fhir_error(request: Request, exc: FhirError) -> JSONResponse:
        return error_response(exc, language(request))

    @app.middleware("http")
    async def _outcomes(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if (
            not request.url.path.startswith(router.prefix)
            or not wants_fhir(request)
            or response.headers.get("content-type", "").split(";")[0] != PROBLEM_JSON
        ):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        try:
            prob = json.loads(body)
        except ValueError:
            prob = {}
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        return JSONResponse(
            outcome_from_texts(
                response.status_code, str(prob.get("code", "core.error")), prob.get("messages") or {}, language(request)
            ),
            status_code=response.status_code,
            media_type=FHIR_JSON,
            headers=headers,
        )
