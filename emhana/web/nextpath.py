"""Where a page sends the person next: only a path of this site ("/attachment/my?year=2026"), never another host.

Used by the login form (``next``: back to the page that asked for a login) and the language links
(``/language/{code}?next=``: back to the page in the new language). Anything else, an absolute URL, a
protocol-relative ``//host``, a backslash trick or a control character, falls back to the default.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.routing import Match

MAX_LENGTH = 2000


def safe_next(value: str | None, default: str = "/") -> str:
    """Return ``value`` when it is a local path (with its query), else ``default``."""
    if not value or len(value) > MAX_LENGTH or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _has_get_route(request: Request, path: str) -> bool:
    """Tell whether the app answers GET on a path (the same URL is then safe to load again)."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return True
    return False


def current_page(request: Request, *, drop: tuple[str, ...] = ("lang",)) -> str:
    """Return the local URL that shows this page again by GET: the path and query of a GET request; after a form
    (POST), the page the form was sent from (a Referer of this site), else the same path when it answers GET,
    else home."""
    path = request.url.path
    if request.method in ("GET", "HEAD"):
        query = [(k, v) for k, v in request.query_params.multi_items() if k not in drop]
        return safe_next(f"{path}?{urlencode(query)}" if query else path)
    back = referer_page(request, drop=drop)
    if back:
        return back
    return safe_next(path) if _has_get_route(request, path) else "/"


def referer_page(request: Request, *, drop: tuple[str, ...] = ("lang",)) -> str:
    """Return the local page the request came from (its Referer, when of this site), or ""."""
    referer = urlsplit(request.headers.get("referer", ""))
    if not (referer.netloc and referer.netloc == request.url.netloc and referer.path):
        return ""
    query = [(k, v) for k, v in parse_qsl(referer.query, keep_blank_values=True) if k not in drop]
    return safe_next(f"{referer.path}?{urlencode(query)}" if query else referer.path, "")
