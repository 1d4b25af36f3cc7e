"""Page rendering for the web door: per-language Jinja2 environments, labels, CSRF and HTML error pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import inspect
import json
import secrets
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana import __version__
from emhana.accounts.roles import Can, may
from emhana.accounts.service import Actor, actor_for_token
from emhana.facilities.models import Entity, Site
from emhana.kernel import clock
from emhana.kernel.db import reader
from emhana.kernel.errors import NotAuthenticated, OutsideKazakhstan
from emhana.kernel.i18n import LANGUAGE_NAMES, LANGUAGES, N_, translate, translations
from emhana.reference.models import Region
from emhana.reference.rules import in_kazakhstan
from emhana.web import limits
from emhana.web.deps import SESSION_COOKIE
from emhana.web.nextpath import current_page, referer_page

TEMPLATES = Path(__file__).parent / "templates"
CSRF_COOKIE = "csrf"
CSRF_FIELD = "csrf"
PAGE_SIZE = 20

# Labels of the stored codes (facilities.rules enums, accounts.roles); the catalogues translate them.
LABELS: dict[str, dict[str, str]] = {
    "site_kind": {
        "polyclinic": N_("Polyclinic"),
        "family_health_centre": N_("Family health centre"),
        "doctors_outpatient_clinic": N_("Doctor's outpatient clinic"),
        "feldsher_midwife_post": N_("Feldsher-midwife post"),
        "medical_point": N_("Medical point"),
    },
    "profile": {
        "gp": N_("General practitioner (GP)"),
        "therapist": N_("District internist"),
        "pediatric": N_("Pediatrician"),
    },
    "legal_form": {
        "state_enterprise_phv": N_("State enterprise with the right of economic management"),
        "state_institution": N_("State institution"),
        "llp": N_("Limited liability partnership"),
        "jsc": N_("Joint-stock company"),
        "individual_entrepreneur": N_("Individual entrepreneur"),
        "other": N_("Other legal form"),
    },
    "ownership": {
        "state": N_("State ownership"),
        "private": N_("Private ownership"),
    },
    "status": {
        "included": N_("Included"),
        "excluded": N_("Excluded"),
    },
    "program": {
        "gobmp": N_("GVFMC"),
        "osms": N_("CSHI"),
    },
    "program_long": {
        "gobmp": N_("Guaranteed Volume of Free Medical Care"),
        "osms": N_("Compulsory social health insurance"),
    },
    "role": {
        "citizen": N_("Citizen"),
        "registrar": N_("Registrar"),
        "clinician": N_("Clinician"),
        "responsible_therapist": N_("Responsible therapist"),
        "entity_admin": N_("Entity administrator"),
        "fund_admin": N_("Fund administrator"),
        "verifier": N_("Inspector"),
        "mis_client": N_("MIS client"),
        "employer": N_("Employer"),
    },
}

MSG_CSRF = N_("The form has expired or did not come from this site. Reload the page and try again.")
MSG_REFUSED = N_("Request refused")
MSG_NOT_FOUND_TITLE = N_("Page not found")
MSG_NOT_FOUND = N_("There is no such page. Check the address or start from the home page.")
MSG_ENTITY_NOT_FOUND = N_("There is no healthcare entity with this number in the database.")
MSG_LOGIN_FIRST = N_("Log in to see this page.")
MSG_SERVER_TITLE = N_("Something went wrong")
MSG_METHOD = N_("This address only receives forms. Go back to the page of the form and send it from there.")
MSG_FORM_INVALID = N_("The form is incomplete or not valid. Go back, check the fields and send it again.")
MSG_BAD_POINT = N_("Enter the latitude and longitude as decimal numbers, for example 51.128 and 71.430.")


class Localizer:
    """Language-bound helpers the templates call: names, addresses, labels, dates and distances."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def name(self, obj: Entity | Site) -> str:
        """Return the name in the page language: Kazakh for kk, Russian for ru and en."""
        return (obj.name_kk or obj.name_ru) if self.lang == "kk" else obj.name_ru

    def other_name(self, obj: Entity | Site) -> str:
        """Return the name in the other official language, or "" when it is the same."""
        other = obj.name_ru if self.lang == "kk" else obj.name_kk
        return "" if not other or other == self.name(obj) else other

    def address(self, site: Site) -> str:
        """Return the address in the page language (Russian when no Kazakh address is given)."""
        return (site.address_kk or site.address_ru) if self.lang == "kk" else site.address_ru

    def region(self, region: Region) -> str:
        """Return a region's name in the page language."""
        return {"kk": region.name_kk, "en": region.name_en}.get(self.lang, region.name_ru)

    def label(self, group: str, value: str) -> str:
        """Return the translated label of a stored code, or the code itself when it is unknown."""
        message = LABELS.get(group, {}).get(value)
        return translate(self.lang, message) if message else value

    def text(self, message: str, **params: Any) -> str:
        """Translate a catalogue message held in a variable (a message is never built from user data)."""
        return translate(self.lang, message, params)

    def date(self, value: dt.date | None) -> str:
        """Format a date as DD.MM.YYYY, the convention of Kazakhstan's documents."""
        return value.strftime("%d.%m.%Y") if value else ""

    def number(self, value: float, digits: int = 0) -> str:
        """Format a number with the page language's separators."""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.lang)

    def profiles(self, site: Site) -> list[tuple[str, int]]:
        """Return the translated profiles of a site's active districts with how many of each."""
        counts = Counter(d.profile for d in site.districts if d.active)
        return [(self.label("profile", p), n) for p, n in sorted(counts.items())]


@pass_context
def can(context: Context, capability: str) -> bool:
    """Tell whether the page's actor holds a capability of the role matrix (``{% if can("decide_application") %}``);
    nobody logged in holds none. An unknown capability name is a template error (ValueError)."""
    actor: Actor | None = context.get("actor")
    return actor is not None and may(actor.role, Can(capability))


@cache
def environment(lang: str) -> Environment:
    """Return the Jinja2 environment of a language, with its catalogue installed (cached)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html",)),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        loc=Localizer(lang),
        lang=lang,
        version=__version__,
        languages=LANGUAGE_NAMES,
        csrf_field=CSRF_FIELD,
        can=can,
        clock_now=kz_now,  # the demo strip shows the process clock (the demo's stands inside the campaign)
    )
    return env


def kz_now() -> dt.datetime:
    """Return the process clock's instant in Kazakhstan's time."""
    return clock.now().astimezone(clock.KZ_TIME)


def language(request: Request) -> str:
    """Return the negotiated language of a request."""
    lang = str(getattr(request.state, "lang", "ru"))
    return lang if lang in LANGUAGES else "ru"


def language_links(request: Request) -> list[tuple[str, str, str]]:
    """Return (code, endonym, URL) for each language: ``/language/{code}?next=`` the GET form of this page, so that
    a switch after a refused form shows that form's page again, never a POST URL answered by 405."""
    back = urlencode({"next": current_page(request)})
    return [(code, LANGUAGE_NAMES[code], f"/language/{code}?{back}") for code in LANGUAGES]


def login_url(request: Request) -> str:
    """Return the login page's URL that brings the person back to this page once signed in."""
    return f"/login?{urlencode({'next': current_page(request)})}"


def page_url(request: Request, **changes: Any) -> str:
    """Return the current path and query with some parameters replaced (None removes one)."""
    params = dict(request.query_params)
    params.pop("lang", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def render(request: Request, name: str, *, actor: Actor | None, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a template in the request's language; keep a valid CSRF cookie for the page's forms."""
    lang = language(request)
    token, fresh = csrf_token(request)
    settings = request.app.state.settings
    html = (
        environment(lang)
        .get_template(name)
        .render(
            request=request,
            actor=actor,
            csrf=token,
            language_links=language_links(request),
            demo=settings.demo_mode,
            path=request.url.path,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status)
    if fresh:
        set_csrf_cookie(request, response, token)
    return response


def render_error(
    request: Request, *, status: int, title: str, message: str, actor: Actor | None = None
) -> HTMLResponse:
    """Render an error page; title and message are catalogue msgids."""
    lang = language(request)
    return render(
        request,
        "error.html",
        actor=actor,
        status=status,
        title=translate(lang, title),
        message=translate(lang, message),
    )


def regions(session: Session, lang: str) -> list[tuple[str, str]]:
    """Return (KATO, name) of the regions, named and sorted in the page language."""
    loc = Localizer(lang)
    return sorted(((r.kato, loc.region(r)) for r in session.scalars(select(Region))), key=lambda r: r[1])


def parse_page(value: str) -> int:
    """Return a page number from the query (1 when it is missing or not a positive number)."""
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1


def parse_point(lat: str, lon: str) -> tuple[float, float] | None:
    """Return (lat, lon) typed into the near form, or None when either is not a finite number."""
    try:
        point = float(lat.replace(",", ".")), float(lon.replace(",", "."))
    except ValueError:
        return None
    return point if all(-180.0 <= v <= 180.0 for v in point) else None


def read_point(lang: str, lat: str, lon: str) -> tuple[tuple[float, float] | None, str]:
    """Return the point typed into a near form and "", or None and why it cannot be used, translated."""
    point = parse_point(lat, lon)
    if point is None:
        return None, translate(lang, MSG_BAD_POINT)
    if not in_kazakhstan(*point):
        return None, translate(lang, OutsideKazakhstan.message, {"lat": lat.strip(), "lon": lon.strip()})
    return point, ""


def _csrf_key(request: Request) -> bytes:
    secret: str = request.app.state.settings.secret_key
    if secret:
        return secret.encode()
    key: bytes | None = getattr(request.app.state, "csrf_key", None)
    if key is None:
        key = request.app.state.csrf_key = secrets.token_bytes(32)
    return key


def _binding(session_token: str) -> str:
    """The session a CSRF token belongs to: a hash of the session cookie ("" before sign-in)."""
    return hashlib.sha256(session_token.encode()).hexdigest() if session_token else ""


def _request_binding(request: Request) -> str:
    return _binding(request.cookies.get(SESSION_COOKIE, ""))


def _sign(key: bytes, nonce: str, binding: str) -> str:
    return hmac.new(key, f"{nonce}|{binding}".encode(), hashlib.sha256).hexdigest()[:32]


def _well_formed(key: bytes, token: str, binding: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and hmac.compare_digest(_sign(key, nonce, binding).encode(), signature.encode())


def csrf_token(request: Request) -> tuple[str, bool]:
    """Return the request's CSRF token and whether it is new (a missing, forged or other session's cookie is
    replaced)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if cookie and cookie.isascii() and _well_formed(_csrf_key(request), cookie, _request_binding(request)):
        return cookie, False
    made: str | None = getattr(request.state, "new_csrf", None)  # one new token per request, however often asked
    if made is None:
        made = request.state.new_csrf = new_csrf_token(request)
    return made, True


def new_csrf_token(request: Request, *, session_token: str | None = None) -> str:
    """Return a new CSRF token: a random nonce signed with the app's key and bound to the session (the request's
    session cookie, or ``session_token`` when the response is opening a new session)."""
    nonce = secrets.token_urlsafe(24)
    binding = _request_binding(request) if session_token is None else _binding(session_token)
    return f"{nonce}.{_sign(_csrf_key(request), nonce, binding)}"


def set_csrf_cookie(
    request: Request, response: Response, token: str | None = None, *, session_token: str | None = None
) -> None:
    """Set the double-submit CSRF cookie (a new token unless one is given; give ``session_token`` when the same
    response sets a new session cookie, so the token is bound to the new session)."""
    response.set_cookie(
        CSRF_COOKIE,
        token or new_csrf_token(request, session_token=session_token),
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.app.state.settings.cookie_secure,
    )


def csrf_ok(request: Request, submitted: str) -> bool:
    """Tell whether the form's CSRF field matches the cookie (double submit) and the cookie is ours and bound to
    this request's session: a token taken from one session (or from before sign-in) does not work in another."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not submitted or not (cookie.isascii() and submitted.isascii()):
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode()) and _well_formed(
        _csrf_key(request), cookie, _request_binding(request)
    )


def actor_from_cookie(request: Request) -> Actor | None:
    """Return the actor of the session cookie, or None (for pages rendered outside a route)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    factory = request.app.state.sessions
    # Read-only: no write lock on SQLite, so this (run on the event loop) never waits for a writer.
    session: Session = factory(bind=reader(factory.kw["bind"]))
    try:
        return actor_for_token(session=session, token=token)
    except NotAuthenticated:
        return None
    finally:
        session.close()


def wants_html(request: Request) -> bool:
    """Tell whether an error should be a page: not under /api/ or /fhir/, and the client accepts HTML."""
    path = request.url.path
    return not path.startswith(("/api/", "/fhir/")) and "text/html" in request.headers.get("accept", "")


def _problem_page(request: Request, response: Response) -> Response:
    """Turn a problem+json answer into the error page in the request's language (its detail is already in that
    language); anything else is returned as it is."""
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return response
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        return response
    status = int(body.get("status") or response.status_code)
    lang = language(request)
    title = MSG_NOT_FOUND_TITLE if status == 404 else MSG_SERVER_TITLE if status >= 500 else MSG_REFUSED
    message = str(body.get("detail") or "")
    if status == 404 and body.get("code") == "core.not_found":  # no such route; a missing record says which
        message = translate(lang, MSG_NOT_FOUND)
    elif status == 405:
        message = translate(lang, MSG_METHOD)
    elif status == 422 and body.get("code") in ("core.invalid_request", "core.invalid_json"):
        message = translate(lang, MSG_FORM_INVALID)
    try:
        actor = actor_from_cookie(request) if status < 500 and status not in (413, 429) else None
    except Exception:  # noqa: BLE001 -- the database may be what failed; the page is shown without the menu's actor
        actor = None
    page = render(
        request,
        "error.html",
        actor=actor,
        status=status,
        title=translate(lang, title),
        message=message,
        back=referer_page(request),
    )
    for name in ("allow", "retry-after"):
        if name in response.headers:
            page.headers[name] = response.headers[name]
    return page


def install_error_pages(app: FastAPI) -> None:
    """Answer a browser (Accept: text/html, outside /api/ and /fhir/) with an HTML page in its language wherever
    an API client gets problem+json: every installed exception handler is wrapped. A page that needs a login
    redirects to ``/login?next=`` this page; API clients keep problem+json.

    Call after ``problems.install(app)``: it wraps the handlers installed there.
    """
    for kind, previous in list(app.exception_handlers.items()):
        app.add_exception_handler(kind, _browser_handler(previous))
    if browser_page not in limits.BROWSER_PAGES:  # the refusals of the body and rate limits, before any route
        limits.BROWSER_PAGES.append(browser_page)


def browser_page(request: Request, response: Response) -> Response:
    """Return the HTML error page for a browser's problem+json answer, else the answer as it is."""
    if not wants_html(request):
        return response
    try:
        return _problem_page(request, response)
    except Exception:  # noqa: BLE001 -- an error page that cannot be drawn falls back to the problem itself
        return response


def _browser_handler(previous: Any) -> Any:
    async def handler(request: Request, exc: Exception) -> Response:
        if wants_html(request) and isinstance(exc, NotAuthenticated):
            return RedirectResponse(login_url(request), status_code=303)
        result = previous(request, exc)
        response: Response = await result if inspect.isawaitable(result) else result
        return browser_page(request, response)

    return handler
