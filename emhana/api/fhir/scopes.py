"""System scopes enforced on /fhir/R4 (issue 17; docs/system-clients.md): a token that carries scopes (a system
client's, SMART Backend Services) may do only what they allow. One middleware decides from the method and the
path, before any route runs, for every route of the door whichever router holds it:

=================================================  ===========================================================
request                                            needs (SMART 2 letters; ``.read`` = rs, ``.write`` = cud)
=================================================  ===========================================================
``GET [T]/{id}``, ``[T]/{id}/_history[/{vid}]``     ``r`` on T (read, vread, instance history)
``GET [T]``, ``POST [T]/_search``, ``[T]/_history``  ``s`` on T (search, type history)
``GET _history``                                    ``s`` on ``*``
``POST [T]`` / ``PUT|PATCH [T]/{id}`` / ``DELETE``  ``c`` / ``u`` / ``d`` on T
``POST`` (transaction)                              ``c`` or ``u`` on every resource type in the Bundle
``Patient/{id}/$medbook``                           ``r`` on Patient and on each clinical type it carries
``$export`` (system, ``Patient/``, ``Group/{id}/``)  ``r`` on each type of ``_type`` (``*`` without it), and ``r``
                                                    on Patient or the Group
export status and files (``$export…/…``, ``bulk…``)  ``r`` on some type (the job itself belongs to its owner)
``[T]/$validate``, ``[T]/{id}/$validate``           ``c`` or ``u`` on T (a Bundle: on some type)
``metadata``, ``.well-known/…``, public routes      nothing: what anyone may read, a token may read
anything else                                       refused
=================================================  ===========================================================

Outside /fhir/R4 a scoped token opens only "who am I", signing out, the public routes and the interop routes
(``other_needs``). A refusal is 403 ``auth.insufficient_scope`` (an OperationOutcome on /fhir, problem+json
elsewhere). Scopes only narrow: the route's own role and organization gate still runs after this one. A person's
token (no scopes) passes untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emhana.accounts.service import Actor, actor_for_token, is_system_token
from emhana.accounts.smart.rules import allowed
from emhana.fhir.outcome import FhirError, Issue, error_response
from emhana.kernel.db import unit_of_work
from emhana.kernel.errors import NotAuthenticated
from emhana.kernel.i18n import N_, negotiate
from emhana.web.deps import bearer_token, declared_roles, iter_routes
from emhana.web.problems import problem

PREFIX = "/fhir/R4"
ANY = "any"  # "some resource type": any scope granting the permission, whatever its type
CLINICAL = ("Observation", "DiagnosticReport", "Immunization", "Condition")  # what a medical book carries
BULK_WORDS = ("bulk", "_bulk", "bulk-status", "bulkstatus", "bulk-files", "bulk-data", "export-status")
CODE = "auth.insufficient_scope"
ACCOUNT_PATHS = ("/api/v1/auth/me", "/api/v1/auth/logout")
MSG_INSUFFICIENT = N_("The token's scopes do not allow this request; it needs {needed}.")
MSG_UNMAPPED = N_("A client application's token may not make this request.")


@dataclass(frozen=True)
class Need:
    """One permission the request needs: any of the letters on a resource type (``*``: every type; ``any``:
    some type)."""

    resource: str
    letters: str

    def text(self) -> str:
        """Return the need as a scope a client could ask for."""
        return f"system/{'*' if self.resource == ANY else self.resource}.{self.letters}"


EXEMPT: tuple[Need, ...] = ()


def _types(value: str | None) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]


def _export(query: Mapping[str, str], *also: Need) -> tuple[Need, ...]:
    types = _types(query.get("_type"))
    return (*also, *(Need(t, "r") for t in types or ["*"]))


def _is_type(segment: str) -> bool:
    return segment[:1].isupper() and segment.isalnum()


def _bulk(parts: list[str]) -> bool:
    first = parts[0] if parts else ""
    return (first.startswith("$export") and (len(parts) > 1 or first != "$export")) or first in BULK_WORDS


def needs(
    method: str, parts: list[str], query: Mapping[str, str], bundle: Iterable[str] | None
) -> tuple[Need, ...] | None:
    """Return what a request needs (``EXEMPT``: nothing), or None when the door does not know the request (a
    scoped token is refused). ``parts`` are the path's segments after /fhir/R4; ``bundle`` the resource types
    of a transaction's entries (None: not known)."""
    n = len(parts)
    read = method in ("GET", "HEAD")
    if n == 0:
        if method == "POST":
            types = sorted(set(bundle or ()))
            return tuple(Need(t, "cu") for t in types) or (Need(ANY, "cu"),)
        return None
    first = parts[0]
    if first in ("metadata", ".well-known"):
        return EXEMPT if read else None
    if _bulk(parts):
        return (Need(ANY, "r"),)
    if first == "$export" and n == 1 and method in ("GET", "POST"):
        return _export(query)
    if first == "_history" and n == 1 and read:
        return (Need("*", "s"),)
    if not _is_type(first):
        return None
    rtype = first
    if n == 1:
        return (Need(rtype, "s"),) if read else (Need(rtype, "c"),) if method == "POST" else None
    second = parts[1]
    if n == 2 and second == "_search" and method == "POST":
        return (Need(rtype, "s"),)
    if n == 2 and second == "_history" and read:
        return (Need(rtype, "s"),)
    if second == "$export" and n == 2 and method in ("GET", "POST"):
        return _export(query, Need(rtype, "r"))
    if second == "$validate" and n == 2 and method == "POST":
        return (Need(ANY if rtype == "Bundle" else rtype, "cu"),)
    if second.startswith(("$", "_")):
        return None
    if n == 2:
        return {
            "GET": (Need(rtype, "r"),),
            "HEAD": (Need(rtype, "r"),),
            "PUT": (Need(rtype, "u"),),
            "PATCH": (Need(rtype, "u"),),
            "DELETE": (Need(rtype, "d"),),
        }.get(method)
    third = parts[2]
    if third == "_history" and n in (3, 4) and read:
        return (Need(rtype, "r"),)
    if n == 3 and third == "$medbook" and rtype == "Patient" and method in ("GET", "POST"):
        return (Need("Patient", "r"), *(Need(t, "r") for t in CLINICAL))
    if n == 3 and third == "$export" and method in ("GET", "POST"):
        return _export(query, Need(rtype, "r"))
    if n == 3 and third == "$validate" and method == "POST":
        return (Need(ANY if rtype == "Bundle" else rtype, "cu"),)
    return None


def missing(scopes: frozenset[str], wanted: tuple[Need, ...]) -> tuple[Need, ...]:
    """Return the needs granted scopes leave unmet."""
    out: list[Need] = []
    for need in wanted:
        if need.resource == ANY:
            held = set().union(*(allowed(scopes, r) for r in _scope_types(scopes)))
        else:
            held = set(allowed(scopes, need.resource))
        if not held & set(need.letters):
            out.append(need)
    return tuple(out)


def _scope_types(scopes: frozenset[str]) -> set[str]:
    return {s.split("/", 1)[1].split(".", 1)[0] for s in scopes if s.startswith("system/") and "." in s}


def bundle_types(body: bytes) -> list[str] | None:
    """Return the resource types of a transaction Bundle's entries, or None when the body says nothing clear."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than any parser should follow
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("entry"), list):
        return None
    types: list[str] = []
    for entry in doc["entry"]:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(rtype, str) or not _is_type(rtype):
            return None
        types.append(rtype)
    return types or None


def route_table(app: Any) -> list[tuple[re.Pattern[str], frozenset[str], bool]]:
    """Return every route of the app in routing order: its path pattern, methods and whether it is public."""
    table: list[tuple[re.Pattern[str], frozenset[str], bool]] = []
    for path, methods, dependant in iter_routes(app):
        pattern, _, _ = compile_path(path)
        table.append((pattern, frozenset(methods), declared_roles(dependant.dependencies) == "public"))
    return table


def is_public(table: list[tuple[re.Pattern[str], frozenset[str], bool]], method: str, path: str) -> bool:
    """Tell whether the route that answers a request (the first that matches, as routing goes) is public."""
    for pattern, methods, public in table:
        if method in methods and pattern.match(path):
            return public
    return False


def _actor(request: Request, token: str) -> Actor | None:
    with unit_of_work(request.app.state.sessions, read_only=True) as session:
        try:
            return actor_for_token(session=session, token=token)
        except NotAuthenticated:
            return None  # the route's own gate answers 401


def other_needs(method: str, path: str) -> tuple[Need, ...] | None:
    """Return what a request outside /fhir/R4 needs of a scoped token, or None (refused): "who am I" and signing
    out stay open, the interop routes an MIS watches (its dead letters, sync status) need a read scope to read
    and a create or update scope to replay or discard; nothing else of the JSON API or the pages is a system
    client's."""
    if path in ACCOUNT_PATHS:
        return EXEMPT
    if path.startswith("/api/v1/interop/"):
        return (Need(ANY, "r"),) if method in ("GET", "HEAD") else (Need(ANY, "cu"),) if method == "POST" else None
    return None


class ScopeGate:
    """Refuse, before any route runs, a request its token's system scopes do not allow (see the module's
    docstring; outside /fhir/R4 see ``other_needs``)."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi
        self.table: list[tuple[re.Pattern[str], frozenset[str], bool]] | None = None

    def _table(self) -> list[tuple[re.Pattern[str], frozenset[str], bool]]:
        if self.table is None:  # every route is registered before the first request
            self.table = route_table(self.fastapi)
        return self.table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        request = Request(scope, receive)
        token = bearer_token(request) if path and not path.startswith("/static/") else None
        # Only a system client's token can carry scopes, and it says so by its form: people's requests (pages,
        # the JSON API) pass without a lookup here.
        actor = await run_in_threadpool(_actor, request, token) if token and is_system_token(token) else None
        if actor is None or actor.scopes is None:
            await self.app(scope, receive, send)
            return
        fhir = path == PREFIX or path.startswith(PREFIX + "/")
        method = scope["method"]
        body: bytes | None = None
        if fhir:
            parts = [unquote(p) for p in path[len(PREFIX) :].split("/") if p]
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            types: list[str] | None = None
            if not parts and method == "POST":
                body = await _read(receive)
                types = bundle_types(body)
            wanted = needs(method, parts, query, types)
        else:
            wanted = other_needs(method, path)
        unmet = (Need(ANY, "cruds"),) if wanted is None else missing(actor.scopes, wanted)  # unmapped: refused
        if unmet and not is_public(self._table(), method, path):
            response = _refusal(request, self.fastapi, fhir, unmet if wanted is not None else None)
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive) if body is not None else receive, send)


def _refusal(request: Request, app: FastAPI, fhir: bool, unmet: tuple[Need, ...] | None) -> Response:
    """Return the 403 of a request beyond the token's scopes: an OperationOutcome on /fhir, problem+json
    elsewhere, with the scopes it would need when the request is one a scope can allow."""
    lang = negotiate(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
        app.state.settings.default_language,
    )
    template, params = (
        (MSG_INSUFFICIENT, {"needed": " ".join(n.text() for n in unmet)}) if unmet else (MSG_UNMAPPED, {})
    )
    if fhir:
        return error_response(FhirError(403, Issue("forbidden", CODE, template, params)), lang)
    request.state.lang = lang
    return problem(request, status=403, code=CODE, template=template, params=params)


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def install(app: FastAPI) -> None:
    """Add the scope gate to the app (inside the body limits, so a bundle it reads is already bounded)."""
    app.add_middleware(ScopeGate, fastapi=app)
