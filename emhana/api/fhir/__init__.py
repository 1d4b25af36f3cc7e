"""Thin doors: /fhir/R4 (read, search, transaction, $medbook, metadata) and /api/v1/interop (code map,
dead-letter queue, sync status). ``install`` adds both routers, the FHIR door's content negotiation, the
OperationOutcome rendering of errors on /fhir paths and the access-log filter that keeps search parameters (an
IIN) out of the logs.

Content negotiation under /fhir (FHIR R4 http.html#mime-type): the door speaks FHIR JSON only. ``_format``
(which overrides Accept) json, application/json or application/fhir+json is fine, any other (xml...) is 406; an
Accept header that admits no JSON (application/fhir+xml only) is 406; a body sent as XML (or RDF) is 415;
``_pretty=true`` indents the answer. Every error under /fhir is an OperationOutcome (JSON), whatever the Accept
header: the registry's problem+json answers (authentication, permissions, routing, validation) are turned into one,
their stable code kept in ``issue.details.coding`` and their headers (WWW-Authenticate, Allow) kept."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from emhana.api.fhir import bulk as bulk  # $export, its status and files, and Group
from emhana.api.fhir import ingested as ingested  # read back of what MIS sent (explicit types, _history first)
from emhana.api.fhir import resources as resources  # the read and search routes, registered first
from emhana.api.fhir import scopes
from emhana.api.fhir import transaction as transaction  # then the transaction
from emhana.api.fhir import validate as validate  # $validate (no write)
from emhana.api.fhir.interop import interop
from emhana.api.fhir.search import SUMMARY, _bad, parse_elements, router, subset
from emhana.fhir.outcome import (
    BAD_PARAMETER,
    FHIR_JSON,
    NOT_ACCEPTABLE,
    UNSUPPORTED_MEDIA,
    FhirError,
    Issue,
    error_response,
    outcome_from_texts,
)
from emhana.fhir.signature import load_trust
from emhana.kernel import errors
from emhana.kernel.i18n import negotiate
from emhana.web.problems import PROBLEM_JSON, language

__all__ = ["install", "wants_fhir"]


log = logging.getLogger("emhana.web")


class _HideQuery(logging.Filter):
    """Drop the query string of /fhir requests from uvicorn's access log: a search may carry an IIN."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and args[2].startswith("/fhir/"):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json", "application/json+fhir", "text/json"})
OTHER_BODIES = ("xml", "turtle", "rdf")  # FHIR's other formats: a body in one of them is 415
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def under_fhir(path: str) -> bool:
    """Tell whether a path belongs to the FHIR door (/fhir and below, existing routes or not)."""
    return path == "/fhir" or path.startswith("/fhir/")


def wants_fhir(request: Request) -> bool:
    """Tell whether a request is for the FHIR door, whose every answer, errors included, is FHIR JSON."""
    return under_fhir(request.url.path)


def _admits_json(accept: str) -> bool:
    """Tell whether an Accept header admits a JSON answer (a JSON type or a wildcard with q > 0)."""
    for part in accept.split(","):
        media, *options = (p.strip() for p in part.split(";"))
        q = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media and q > 0 and (media in ("*/*", "application/*") or media.endswith(("/json", "+json", "json+fhir"))):
            return True
    return False


def refusal(request: Request) -> FhirError | None:
    """Return the refusal of a request the door cannot answer in its format (406, 415) or format (400), or None."""
    fmt = request.query_params.get("_format")
    if fmt is not None:
        if fmt.split(";")[0].strip().lower() not in JSON_FORMATS:
            return FhirError(
                406, Issue("not-supported", "fhir.not_acceptable", NOT_ACCEPTABLE, {"found": fmt[:64]}, ("_format",))
            )
    elif not _admits_json(request.headers.get("accept", "") or "*/*") and "/$export-file/" not in request.url.path:
        # (a bulk export's file is NDJSON: its client asks for application/fhir+ndjson; docs/bulk-export.md)
        found = request.headers.get("accept", "")[:100]
        return FhirError(406, Issue("not-supported", "fhir.not_acceptable", NOT_ACCEPTABLE, {"found": found}))
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method in WITH_BODY and any(k in kind for k in OTHER_BODIES):
        return FhirError(415, Issue("not-supported", "fhir.unsupported_media", UNSUPPORTED_MEDIA, {"found": kind[:64]}))
    summary = request.query_params.get("_summary")
    if summary is not None and summary not in SUMMARY:
        return _bad("_summary", "one of " + ", ".join(SUMMARY))
    try:
        parse_elements(request.query_params.get("_elements"))
    except FhirError as exc:
        return exc
    if request.query_params.get("_pretty", "false") not in ("true", "false"):
        return FhirError(
            400,
            Issue(
                "invalid",
                "fhir.bad_parameter",
                BAD_PARAMETER,
                {"name": "_pretty", "reason": "true or false"},
                ("_pretty",),
            ),
        )
    return None


def _lang(request: Request) -> str:
    lang = getattr(request.state, "lang", None)
    if isinstance(lang, str):
        return lang
    settings = request.app.state.settings
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
        settings.default_language,
    )


def install(app: FastAPI) -> None:
    """Add the FHIR and interop routers, the door's negotiation and OperationOutcome errors, and the log filter."""
    app.state.fhir_trust = load_trust(app.state.settings)
    app.include_router(router)
    app.include_router(interop, prefix="/api/v1")
    scopes.install(app)  # system clients' tokens do only what their SMART scopes allow (before any route)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _HideQuery) for f in access.filters):
        access.addFilter(_HideQuery())

    @app.exception_handler(FhirError)
    async def _fhir_error(request: Request, exc: FhirError) -> JSONResponse:
        return error_response(exc, language(request))

    app.add_middleware(OutcomesMiddleware)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class OutcomesMiddleware:
    """The door's negotiation and OperationOutcome errors (plain ASGI: other paths pass untouched, and an answer
    under /fhir is held back only when it must be rewritten: a problem+json error, ``_pretty`` or a subset)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not under_fhir(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refused = refusal(request)
        if refused is not None:
            await error_response(refused, _lang(request))(scope, receive, send)
            return
        query = request.query_params
        pretty = query.get("_pretty") == "true"
        subsetting = "_summary" in query or "_elements" in query
        held: list[Message] = []  # the start of an answer to rewrite, then its body
        started = False

        async def send_outcome(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                kind = _content_type(message)
                shaped = message["status"] == 200 and subsetting  # a read's subset
                if kind == PROBLEM_JSON or ((pretty or shaped) and kind in (FHIR_JSON, "application/json")):
                    held.append(message)
                    return
                started = True
                await send(message)
            elif held and message["type"] == "http.response.body":
                held.append(message)
                if not message.get("more_body", False):
                    started = True
                    body = b"".join(m.get("body", b"") for m in held[1:])
                    out = _rewrite(
                        request, held[0], body, pretty=pretty, shaped=held[0]["status"] == 200 and subsetting
                    )
                    await out(scope, receive, send)
            else:
                await send(message)

        try:
            await self.app(scope, receive, send_outcome)
        except Exception:  # Starlette would answer it outside this middleware, as problem+json
            if started:
                raise
            log.exception("unexpected error")
            unexpected = errors.RegistryError()
            issue = Issue("exception", unexpected.code, unexpected.template(), unexpected.params, severity="fatal")
            await error_response(FhirError(500, issue), _lang(request))(scope, receive, send)


def _content_type(start: Message) -> str:
    for k, v in start.get("headers", ()):
        if k.lower() == b"content-type":
            return str(v.decode("latin-1").split(";")[0])
    return ""


def _rewrite(request: Request, start: Message, body: bytes, *, pretty: bool, shaped: bool) -> Response:
    """The answer as the door sends it: a problem+json error as an OperationOutcome, a read's subset, indented."""
    kind = _content_type(start)
    status = int(start["status"])
    headers = list(start.get("headers", ()))
    try:
        doc = json.loads(body)
    except ValueError:
        if kind != PROBLEM_JSON:
            return _rebuilt(status, headers, body, kind)
        doc = {}
    if kind == PROBLEM_JSON:
        prob = doc if isinstance(doc, dict) else {}
        doc = outcome_from_texts(
            status, str(prob.get("code", "core.error")), prob.get("messages") or {}, _lang(request)
        )
        kind = FHIR_JSON
    elif shaped and isinstance(doc, dict) and doc.get("resourceType") not in ("Bundle", "OperationOutcome"):
        query = request.query_params
        doc = subset(doc, query.get("_summary"), parse_elements(query.get("_elements")))
    text = json.dumps(doc, ensure_ascii=False, indent=2 if pretty else None, separators=None if pretty else (",", ":"))
    return _rebuilt(status, headers, text.encode(), kind)


def _rebuilt(status: int, headers: list[tuple[bytes, bytes]], body: bytes, kind: str) -> Response:
    """Return a response with a new body and media type, keeping the other headers (WWW-Authenticate, Allow,
    Set-Cookie...) of the one it replaces."""
    out = Response(body, status_code=status, media_type=kind)
    out.raw_headers.extend((k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type"))
    return out
