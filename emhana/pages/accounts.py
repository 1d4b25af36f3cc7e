"""Pages of account administration: the Fund appoints each organization's administrator (the organization named
by its BIN), an organization's administrator appoints, re-roles and deactivates its own staff, either resets a
password to a one-time password shown once; and everyone's page to choose a new password (after a one-time
password, or at will). emhana.accounts.admin decides; a refused form comes back with what was typed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts import admin
from emhana.accounts.roles import Can, Role, may
from emhana.accounts.rules import MSG_UNKNOWN_BIN, PASSWORD_MIN, appointable_roles
from emhana.accounts.service import Actor, issue_token
from emhana.facilities.models import Entity
from emhana.facilities.service import get_entity_by_bin
from emhana.kernel.errors import AccountInvalid, InvalidInput, NotFound, PasswordChangeRequired, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.web.deps import SESSION_COOKIE, OptionalActor, SessionDep, public, require
from emhana.web.render import (
    MSG_CSRF,
    MSG_REFUSED,
    csrf_ok,
    language,
    page_url,
    parse_page,
    render,
    render_error,
    set_csrf_cookie,
)

router = APIRouter(include_in_schema=False)

Administrator = Annotated[Actor, require(Can.ADMINISTER_FUND_ACCOUNTS, Can.ADMINISTER_ENTITY_STAFF)]
FormText = Annotated[str, Form(max_length=200)]
PAGE = 50
NO_STORE = {"Cache-Control": "no-store"}
MSG_PASSWORDS_DIFFER = N_("The two new passwords differ; type the same password twice.")
DONE = {
    "role": N_("The role was changed; the account signs in again."),
    "deactivated": N_("The account was deactivated; its sessions have ended."),
}


def _entity_id_of(session: Session, bin_: str) -> int | None:
    """Return the organization of a BIN typed by the Fund (None when the field is empty)."""
    bin_ = bin_.strip()
    if not bin_:
        return None
    try:
        return get_entity_by_bin(session=session, bin_=bin_).id
    except NotFound:
        raise AccountInvalid(MSG_UNKNOWN_BIN) from None


def _role(value: str) -> Role:
    try:
        return Role(value.strip())
    except ValueError:
        raise InvalidInput() from None


def _accounts_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    typed: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
    q: str = "",
    page: str = "1",
    done: str = "",
) -> HTMLResponse:
    """Render the accounts the actor administers with the form to appoint one (keeping what was typed)."""
    page_no = parse_page(page)
    total, accounts = admin.listing(
        session=session, actor=actor, q=q.strip()[:100], limit=PAGE, offset=(page_no - 1) * PAGE
    )
    ids = {a.entity_id for a in accounts if a.entity_id is not None} | {actor.entity_id or 0}
    entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(ids)))}
    pages = max(1, -(-total // PAGE))
    lang = language(request)
    return render(
        request,
        "accounts/list.html",
        actor=actor,
        status=status,
        accounts=accounts,
        entities=entities,
        total=total,
        q=q.strip()[:100],
        roles=sorted(r.value for r in appointable_roles(actor.role)),
        fund=may(actor.role, Can.ADMINISTER_FUND_ACCOUNTS),
        own_entity=entities.get(actor.entity_id or 0),
        typed=typed or {"username": "", "display_name": "", "role": "", "bin": ""},
        error=error,
        done=translate(lang, DONE[done]) if done in DONE else "",
        prev_url=page_url(request, page=page_no - 1) if page_no > 1 else None,
        next_url=page_url(request, page=page_no + 1) if page_no < pages else None,
    )


def _issued_page(request: Request, actor: Actor, issued: admin.Issued, *, created: bool) -> HTMLResponse:
    response = render(
        request,
        "accounts/issued.html",
        actor=actor,
        account=issued.account,
        otp=issued.one_time_password,
        created=created,
    )
    response.headers.update(NO_STORE)
    return response


@router.get("/accounts", response_class=HTMLResponse)
def accounts(
    request: Request, session: SessionDep, actor: Administrator, q: str = "", page: str = "1", done: str = ""
) -> HTMLResponse:
    """Show the accounts the actor administers, searchable, with the form to appoint one."""
    return _accounts_page(request, session, actor, q=q, page=page, done=done)


@router.post("/accounts", response_class=HTMLResponse)
def create(
    request: Request,
    session: SessionDep,
    actor: Administrator,
    csrf: FormText = "",
    username: Annotated[str, Form(max_length=100)] = "",
    display_name: FormText = "",
    role: Annotated[str, Form(max_length=40)] = "",
    bin: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    """Appoint an account and show its one-time password once; a refusal keeps what was typed."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {"username": username.strip(), "display_name": display_name.strip(), "role": role, "bin": bin.strip()}
    try:
        new = admin.NewAccount(
            username=typed["username"],
            display_name=typed["display_name"],
            role=_role(role),
            entity_id=_entity_id_of(session, bin) if may(actor.role, Can.ADMINISTER_FUND_ACCOUNTS) else None,
        )
        issued = admin.create(session=session, actor=actor, new=new)
    except RegistryError as exc:
        return _refused(request, session, actor, exc, typed=typed)
    return _issued_page(request, actor, issued, created=True)


def _refused(
    request: Request, session: Session, actor: Actor, exc: RegistryError, typed: dict[str, str] | None = None
) -> HTMLResponse:
    error = translate(language(request), exc.template(), exc.params)
    return _accounts_page(request, session, actor, typed=typed, error=error, status=exc.status)


@router.post("/accounts/{account_id}/role", response_class=HTMLResponse)
def set_role(
    request: Request,
    session: SessionDep,
    actor: Administrator,
    account_id: int,
    csrf: FormText = "",
    role: Annotated[str, Form(max_length=40)] = "",
    bin: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Give one of the actor's accounts another role (the Fund: also another organization, by BIN)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        account = admin.administered(session=session, actor=actor, account_id=account_id)
        entity_id = _entity_id_of(session, bin) if may(actor.role, Can.ADMINISTER_FUND_ACCOUNTS) else None
        admin.set_role(session=session, actor=actor, account=account, role=_role(role), entity_id=entity_id)
    except RegistryError as exc:
        return _refused(request, session, actor, exc)
    return RedirectResponse("/accounts?done=role", status_code=303)


@router.post("/accounts/{account_id}/deactivate", response_class=HTMLResponse)
def deactivate(
    request: Request, session: SessionDep, actor: Administrator, account_id: int, csrf: FormText = ""
) -> Response:
    """Deactivate one of the actor's accounts; its sessions end at once."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        account = admin.administered(session=session, actor=actor, account_id=account_id)
        admin.deactivate(session=session, actor=actor, account=account)
    except RegistryError as exc:
        return _refused(request, session, actor, exc)
    return RedirectResponse("/accounts?done=deactivated", status_code=303)


@router.post("/accounts/{account_id}/password-reset", response_class=HTMLResponse)
def reset_password(
    request: Request, session: SessionDep, actor: Administrator, account_id: int, csrf: FormText = ""
) -> HTMLResponse:
    """Reset one of the actor's accounts to a one-time password, shown once on the answer page."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        account = admin.administered(session=session, actor=actor, account_id=account_id)
        issued = admin.reset_password(session=session, actor=actor, account=account)
    except RegistryError as exc:
        return _refused(request, session, actor, exc)
    return _issued_page(request, actor, issued, created=False)


def password_page(
    request: Request, *, actor: Actor | None, username: str = "", error: str = "", notice: str = "", status: int = 200
) -> HTMLResponse:
    """Render the form to choose a new password (also what signing in with a one-time password shows)."""
    return render(
        request,
        "accounts/password.html",
        actor=actor,
        status=status,
        username=username,
        error=error,
        notice=notice,
        minimum=PASSWORD_MIN,
    )


@router.get("/password", response_class=HTMLResponse, dependencies=[public()])
def password_form(request: Request, actor: OptionalActor) -> HTMLResponse:
    """Show the form to choose a new password."""
    return password_page(request, actor=actor, username=actor.username if actor else "")


@router.post("/password", response_class=HTMLResponse, dependencies=[public()])
def change_password(
    request: Request,
    session: SessionDep,
    csrf: FormText = "",
    username: FormText = "",
    password: FormText = "",
    new_password: FormText = "",
    repeat: FormText = "",
) -> Response:
    """Prove the current (or one-time) password, set the new one and open a session; a refusal keeps the
    username, never a password."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF)
    lang, username = language(request), username.strip()
    if new_password != repeat:
        return password_page(
            request, actor=None, username=username, error=translate(lang, MSG_PASSWORDS_DIFFER), status=422
        )
    try:
        actor = admin.change_password(session=session, username=username, password=password, new_password=new_password)
    except RegistryError as exc:
        error = translate(lang, exc.template(), exc.params)
        return password_page(request, actor=None, username=username, error=error, status=exc.status)
    settings = request.app.state.settings
    ttl = dt.timedelta(minutes=settings.token_ttl_minutes)
    response = RedirectResponse("/", status_code=303)
    token = issue_token(session=session, actor=actor, ttl=ttl)
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


def must_change_page(request: Request, username: str) -> HTMLResponse:
    """What the login form answers to a right one-time password: the form to choose one's own."""
    notice = translate(language(request), PasswordChangeRequired.message)
    return password_page(request, actor=None, username=username, notice=notice)
