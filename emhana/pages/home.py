"""Server-rendered pages: home, the public directory of healthcare entities, login and logout."""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from emhana.accounts.service import LocalAuthenticator, issue_token, revoke_token
from emhana.facilities import service
from emhana.facilities.rules import InclusionPeriod, InclusionStatus, Profile, status_on
from emhana.kernel import clock
from emhana.kernel.errors import BadCredentials, NotFound, PasswordChangeRequired
from emhana.kernel.i18n import translate
from emhana.pages.accounts import must_change_page
from emhana.reference.rules import is_kato_code
from emhana.web.deps import SESSION_COOKIE, OptionalActor, ReadSessionDep, SessionDep, public
from emhana.web.nextpath import safe_next
from emhana.web.render import (
    MSG_CSRF,
    MSG_ENTITY_NOT_FOUND,
    MSG_LOGIN_FIRST,
    MSG_NOT_FOUND_TITLE,
    MSG_REFUSED,
    PAGE_SIZE,
    csrf_ok,
    language,
    page_url,
    parse_page,
    read_point,
    regions,
    render,
    render_error,
    set_csrf_cookie,
)

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form(max_length=200)]


@router.get("/", response_class=HTMLResponse, dependencies=[public()])
def home(request: Request, actor: OptionalActor) -> HTMLResponse:
    """Say what emhana is and for whom, with the ways in."""
    return render(request, "home.html", actor=actor)


@router.get("/facilities", response_class=HTMLResponse, dependencies=[public()])
def directory(
    request: Request,
    session: ReadSessionDep,
    actor: OptionalActor,
    q: str = "",
    region: str = "",
    page: str = "1",
    lat: str = "",
    lon: str = "",
    profile: str = "",
) -> HTMLResponse:
    """Show the published list of participating entities, searchable, with a near-me search."""
    lang, day = language(request), clock.today()
    q, region = q.strip()[:100], region if is_kato_code(region) else ""
    page_no = parse_page(page)
    total, entities = service.list_participating(
        session=session, day=day, q=q, region=region or None, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    profile = profile if profile in {p.value for p in Profile} else ""
    near, near_error = None, ""
    if lat.strip() or lon.strip():
        point, near_error = read_point(lang, lat, lon)
        if point is not None:
            near = service.near(session=session, lat=point[0], lon=point[1], day=day, limit=10, profile=profile or None)
    region_names = regions(session, lang)
    return render(
        request,
        "facilities.html",
        actor=actor,
        q=q,
        region=region,
        regions=region_names,
        region_name=dict(region_names),
        total=total,
        entities=entities,
        page=page_no,
        pages=pages,
        prev_url=page_url(request, page=page_no - 1) if page_no > 1 else None,
        next_url=page_url(request, page=page_no + 1) if page_no < pages else None,
        lat=lat.strip(),
        lon=lon.strip(),
        profile=profile,
        profiles=[p.value for p in Profile],
        near=near,
        near_error=near_error,
    )


@router.get("/facilities/{entity_id}", response_class=HTMLResponse, dependencies=[public()])
def entity_page(request: Request, entity_id: str, session: ReadSessionDep, actor: OptionalActor) -> HTMLResponse:
    """Show one entity with its licences, inclusion history, sites and districts."""
    entity = None
    if entity_id.isdigit() and len(entity_id) < 19:
        with suppress(NotFound):
            entity = service.get_entity(session=session, entity_id=int(entity_id))
    if entity is None:
        return render_error(request, status=404, title=MSG_NOT_FOUND_TITLE, message=MSG_ENTITY_NOT_FOUND, actor=actor)
    current = status_on(
        [InclusionPeriod(InclusionStatus(p.status), p.effective_from, p.effective_to) for p in entity.inclusions],
        clock.today(),
    )
    region_names = dict(regions(session, language(request)))
    return render(
        request,
        "entity.html",
        actor=actor,
        entity=entity,
        current_status=current.value if current else "",
        region_name=region_names,
        sites=[s for s in entity.sites if s.active],
    )


@router.get("/login", response_class=HTMLResponse, dependencies=[public()])
def login_form(request: Request, actor: OptionalActor, next: str = "") -> HTMLResponse:  # noqa: A002
    """Show the login form; ``next`` is the local page to return to once signed in."""
    back = safe_next(next, "")
    notice = translate(language(request), MSG_LOGIN_FIRST) if back else ""
    return render(request, "login.html", actor=actor, username="", error="", notice=notice, next=back)


@router.post("/login", response_class=HTMLResponse, dependencies=[public()])
def login(
    request: Request,
    session: SessionDep,
    username: FormText = "",
    password: FormText = "",
    csrf: FormText = "",
    next: Annotated[str, Form(max_length=2000)] = "",  # noqa: A002
) -> Response:
    """Check the credentials, set the session cookie and go to ``next`` (a local page) or home; a wrong password
    re-renders the form."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF)
    authenticator: LocalAuthenticator = getattr(request.app.state, "authenticator", LocalAuthenticator())
    try:
        actor = authenticator.authenticate(session=session, username=username.strip(), password=password)
    except BadCredentials as exc:
        return render(
            request,
            "login.html",
            actor=None,
            status=401,
            username=username.strip(),
            error=translate(language(request), exc.template()),
            next=safe_next(next, ""),
        )
    except PasswordChangeRequired:  # a one-time password: its holder chooses their own first
        return must_change_page(request, username.strip())
    settings = request.app.state.settings
    ttl = dt.timedelta(minutes=settings.token_ttl_minutes)
    token = issue_token(session=session, actor=actor, ttl=ttl)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    set_csrf_cookie(request, response, session_token=token)  # bound to the new session, not the anonymous one
    return response


@router.post("/logout", dependencies=[public()])
def logout(request: Request, session: SessionDep, csrf: FormText = "") -> Response:
    """Revoke the session's token, clear the cookie and go home."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        revoke_token(session=session, token=token)
    settings = request.app.state.settings
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure)
    set_csrf_cookie(request, response, session_token="")  # the ended session's token is of no further use
    return response
