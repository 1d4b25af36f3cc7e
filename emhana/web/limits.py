"""Bounded work per request: a body larger than its route's limit is refused (413) before anything parses it,
and JSON nested deeper than a sane depth is refused (400) before a parser recurses into it.

The limit of a request depends on its path only (``limit_for``): routes that take files (``UPLOADS``) get the
upload limit (the verifier's photo its own), the FHIR door the bundle limit, everything else the small one. A
``Content-Length`` over the limit is refused without reading a byte; a body without one (chunked) is counted as
it streams and refused at the first byte too many. Bodies that are not forms are read whole (they are small) and
their nesting checked before the route sees them, whatever their declared content type (the FHIR transaction
parses its body as JSON whatever the client says). A ``RecursionError`` left anywhere else (JSON in a form field)
is a 400 too, not a 500.

Refusals are problem+json with a stable code and kk/ru/en messages, OperationOutcome on the FHIR door.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path

from emhana.fhir.outcome import Issue, fhir_response, outcome
from emhana.kernel import errors
from emhana.kernel.config import Settings
from emhana.kernel.i18n import negotiate
from emhana.trust.seals.photo import MAX_UPLOAD as MAX_PHOTO
from emhana.web import problems

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("emhana.web")

FHIR_PREFIX = "/fhir/"
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers and the small fields around a file
# Routes that take files, with their own limit (None: EMHANA_MAX_UPLOAD_BYTES). tests/web/test_limits.py checks
# that every route declaring a File parameter is listed here.
UPLOADS: dict[str, int | None] = {
    "/api/v1/attachment/applications/written": None,  # scans of a written application (10 MB each, A-51)
    "/attachment/record": None,  # the registrar's page for the same
    "/api/v1/facilities/import": None,  # the Fund's CSV/JSON import (20 MB)
    "/verify": MAX_PHOTO + FORM_OVERHEAD,  # a phone photo of a QR code, anonymous
    "/api/v1/verify": MAX_PHOTO + FORM_OVERHEAD,
}
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
NO_BODY = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def _compiled(settings: Settings) -> list[tuple[re.Pattern[str], int]]:
    return [(compile_path(path)[0], limit or settings.max_upload_bytes) for path, limit in UPLOADS.items()]


def limit_for(path: str, settings: Settings, uploads: list[tuple[re.Pattern[str], int]] | None = None) -> int:
    """Return the largest body, in bytes, a request to a path may carry."""
    for pattern, limit in uploads if uploads is not None else _compiled(settings):
        if pattern.match(path):
            return limit
    if path.startswith(FHIR_PREFIX):
        return settings.max_fhir_body_bytes
    return settings.max_body_bytes


# A JSON string, or the rest of the text from an unterminated one (possessive: linear time on any input).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_ONE_KIND = bytes.maketrans(b"{}", b"[]")


def json_too_deep(body: bytes, limit: int) -> bool:
    """Tell whether a JSON text nests arrays and objects deeper than ``limit`` (or, malformed, would make a
    parser recurse that deep before it finds the error).

    Strings are dropped, then only brackets kept (objects and arrays alike); each round removes the innermost
    empty pairs, one level, so a well-formed text is gone after as many rounds as it is deep. What a malformed
    text leaves has no empty pair: a parser stops at its first closing bracket, so only the openings before it
    count. Everything runs in C over the bytes; a body with few brackets is not even scanned.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    skeleton = _STRING.sub(b"", body).translate(_ONE_KIND, _NOT_BRACKETS)
    for _ in range(limit):
        if not skeleton:
            return False
        shorter = skeleton.replace(b"[]", b"")
        if len(shorter) == len(skeleton):
            closing = skeleton.find(b"]")
            return (len(skeleton) if closing < 0 else closing) > limit
        skeleton = shorter
    return bool(skeleton)


def megabytes(size: int) -> str:
    """A byte count as megabytes for a message ("1", "32", "9.1", "0.016")."""
    return f"{size / (1024 * 1024):.2g}"


def too_large(limit: int) -> errors.BodyTooLarge:
    """The refusal of a body over ``limit`` bytes."""
    return errors.BodyTooLarge(limit=megabytes(limit))


FHIR_ISSUE = {400: "structure", 413: "too-costly", 429: "throttled"}


async def refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    exc: errors.RegistryError,
    settings: Settings,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer a request from a middleware, before any route: problem+json in the request's language, or an
    OperationOutcome on the FHIR door."""
    request = Request(scope, receive)
    lang = negotiate(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
        settings.default_language,
    )
    request.state.lang = lang
    response: Response
    if request.url.path.startswith(FHIR_PREFIX):
        issue = Issue(FHIR_ISSUE.get(exc.status, "exception"), exc.code, exc.template(), exc.params)
        response = fhir_response(outcome([issue], lang), exc.status, headers)
    else:
        response = problems.registry_problem(request, exc)
        response.headers.update(headers or {})
        for page in BROWSER_PAGES:  # a browser gets the HTML error page (web.render.install_error_pages)
            response = page(request, response)
    if exc.status == 413:
        response.headers["Connection"] = "close"  # the rest of the body is not read
    await response(scope, receive, send)


# Turns a problem+json answer into the HTML error page for a browser; web.render.install_error_pages adds it.
BROWSER_PAGES: list[Callable[[Request, Response], Response]] = []


class _Overflow(HTTPException):
    """Raised to the app by ``receive`` at the first byte over the limit (an HTTPException, so that FastAPI's
    body reading lets it through); the middleware answers 413 instead of whatever the app would."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyLimitMiddleware:
    """Refuse bodies over their route's limit before they are parsed, and JSON nested too deep."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.uploads = _compiled(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length_text = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if length_text is None and not chunked and scope.get("method") in NO_BODY:
            await self.app(scope, receive, send)
            return
        limit = limit_for(str(scope.get("path", "")), self.settings, self.uploads)
        length = int(length_text) if length_text and length_text.isdigit() else None
        if length is not None and length > limit:
            await refuse(scope, receive, send, too_large(limit), self.settings)
            return
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind in FORM_TYPES:
            await self._counted(scope, receive, send, limit)
            return
        body = await read_body(receive, limit)
        if body is None:
            await refuse(scope, receive, send, too_large(limit), self.settings)
            return
        depth = self.settings.max_json_depth
        if json_too_deep(body, depth):
            await refuse(scope, receive, send, errors.NestingTooDeep(limit=depth), self.settings)
            return
        await self.app(scope, replay(body, receive), send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Stream a form to the app, counting its bytes; at the first byte too many, answer 413."""
        size = 0
        overflow = False
        started = False

        async def counting() -> Message:
            nonlocal size, overflow
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    overflow = True
                    raise _Overflow()
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if overflow:
                return  # the app's own answer to the broken stream; ours goes out instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, guarded)
        except Exception:
            if not overflow or started:
                raise
        if overflow and not started:
            await refuse(scope, receive, send, too_large(limit), self.settings)


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """Read a whole request body of at most ``limit`` bytes (None when it is longer: reading stops there)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app a body already read, then whatever the server sends next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def install(app: Any, settings: Settings) -> None:
    """Add the body limits and make a ``RecursionError`` (JSON nested deep in a form field...) a 400."""
    depth = settings.max_json_depth

    async def _too_deep(request: Request, exc: Exception) -> Response:
        log.warning("recursion too deep while handling a request", exc_info=exc)
        return problems.registry_problem(request, errors.NestingTooDeep(limit=depth))

    app.add_exception_handler(RecursionError, _too_deep)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
