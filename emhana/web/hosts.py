"""Which host this server is, for absolute links: from the configuration, never from a client's Host header.

Behind a reverse proxy a client chooses the Host header it sends; reflected into a FHIR Bundle.link or an
entry's fullUrl it would point a reader (or a cache) at another server. So:

- `EMHANA_PUBLIC_BASE_URL` set: every absolute link is built from it and the Host header is never read;
- `EMHANA_TRUSTED_HOSTS` set: a request naming a host outside that list (and the host of the public base URL) is
  refused with 400 problem+json `core.untrusted_host` before any route runs, as Django's ALLOWED_HOSTS does;
  the proxy passes the public name on (nginx: `proxy_set_header Host $host;`);
- neither set (development, tests): only a loopback Host (localhost, 127.0.0.1, ::1) is reflected; any other
  Host gets links to the address the server listens on (`EMHANA_HOST`:`EMHANA_PORT`), never the client's word.
"""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from emhana.fhir.outcome import Issue, fhir_response, outcome
from emhana.kernel.config import Settings
from emhana.kernel.i18n import N_, negotiate
from emhana.web import problems

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
MSG_UNTRUSTED_HOST = N_("This server does not answer to the host named in the request.")


def host_name(header: str) -> str:
    """Return the host of a Host header without its port, lower-case ("[::1]:8000" gives "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def matches(host: str, patterns: tuple[str, ...]) -> bool:
    """Tell whether a host is one of the patterns: an exact name, or "*.example.kz" for its subdomains."""
    return any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns)


def public_base(request: Request) -> str:
    """Return the absolute base URL of this server for links (no trailing slash; see the module docstring)."""
    settings: Settings = request.app.state.settings
    if settings.public_base_url:
        return settings.public_base_url
    host = host_name(request.headers.get("host", ""))
    trusted = settings.trusted_host_names()
    if host in LOOPBACK or (trusted and matches(host, trusted)):
        return str(request.base_url).rstrip("/")
    listen = settings.host if settings.host not in ("", "0.0.0.0", "::") else "localhost"
    return f"http://{listen}:{settings.port}"


class TrustedHostMiddleware:
    """Refuse a request whose Host header names a host outside EMHANA_TRUSTED_HOSTS (when that list is set)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.trusted = settings.trusted_host_names()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.trusted:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if matches(host_name(request.headers.get("host", "")), self.trusted):
            await self.app(scope, receive, send)
            return
        request.state.lang = negotiate(
            request.query_params.get("lang"),
            request.cookies.get("lang"),
            request.headers.get("accept-language"),
            self.settings.default_language,
        )
        response = problems.problem(request, status=400, code="core.untrusted_host", template=MSG_UNTRUSTED_HOST)
        if request.url.path == "/fhir" or request.url.path.startswith("/fhir/"):  # the FHIR door: OperationOutcome
            issue = Issue("invalid", "core.untrusted_host", MSG_UNTRUSTED_HOST)
            response = fhir_response(outcome([issue], request.state.lang), 400)
        await response(scope, receive, send)


def install(app: ASGIApp, settings: Settings) -> None:
    """Add the host check (outermost, so a foreign Host is refused before any other work)."""
    app.add_middleware(TrustedHostMiddleware, settings=settings)  # type: ignore[attr-defined]
