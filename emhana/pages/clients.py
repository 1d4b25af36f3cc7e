"""Pages of MIS client applications (issue 17): the Fund registers one for any organization (named by its BIN),
an organization's administrator for its own; the client's page shows its client_id, takes its JWK set (pasted)
and its system scopes (checkboxes), and deactivates it. emhana.accounts.clients decides; a refused form comes back
with what was typed."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts import clients
from emhana.accounts.models import ClientApp
from emhana.accounts.roles import Can, Role
from emhana.accounts.rules import MSG_UNKNOWN_BIN
from emhana.accounts.service import Actor
from emhana.facilities.models import Entity
from emhana.facilities.service import get_entity_by_bin
from emhana.kernel.errors import NotFound, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, language, page_url, parse_page, render, render_error

router = APIRouter(include_in_schema=False)

Keeper = Annotated[Actor, require(Can.REGISTER_CLIENT_APPS)]
FormText = Annotated[str, Form(max_length=200)]
FormKeys = Annotated[str, Form(max_length=clients.MAX_JWKS_CHARS)]
FormScopes = Annotated[list[str], Form(max_length=50)]
PAGE = 50
DONE = {
    "registered": N_("The client application was registered."),
    "keys": N_("The key set was saved."),
    "scopes": N_("The scopes were saved; the client's tokens have ended."),
    "deactivated": N_("The client application was deactivated; its tokens have ended."),
}


def _entity_id_of(session: Session, actor: Actor, bin_: str) -> int | None:
    """The organization the Fund names by BIN (None for an organization's administrator: its own)."""
    if actor.role is not Role.FUND_ADMIN:
        return None
    try:
        return get_entity_by_bin(session=session, bin_=bin_.strip()).id
    except NotFound:
        raise clients.ClientInvalid(MSG_UNKNOWN_BIN) from None


def _entities(session: Session, ids: set[int]) -> dict[int, Entity]:
    return {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(ids or {0})))}


# What each offered scope lets the client do, in words beside the scope itself.
SCOPE_WORDS = {
    "system/Observation.c": N_("Send results of examinations and laboratory tests"),
    "system/DiagnosticReport.c": N_("Send X-ray reports"),
    "system/Immunization.c": N_("Send vaccinations"),
    "system/Condition.c": N_("Send diagnoses and past infections"),
    "system/Provenance.c": N_("Send the signatures of results"),
    "system/Patient.rs": N_("Read and search patients"),
    "system/Organization.rs": N_("Read and search healthcare organizations"),
    "system/Location.rs": N_("Read and search the sites of organizations"),
    "system/Practitioner.rs": N_("Read and search medical workers"),
    "system/PractitionerRole.rs": N_("Read and search the posts of medical workers"),
    "system/Observation.rs": N_("Read back results of examinations and laboratory tests"),
    "system/DiagnosticReport.rs": N_("Read back X-ray reports"),
    "system/Immunization.rs": N_("Read back vaccinations"),
    "system/Condition.rs": N_("Read back diagnoses and past infections"),
    "system/*.rs": N_("Read everything its organization may read"),
}


def _list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    typed: dict[str, str] | None = None,
    typed_scopes: list[str] | None = None,
    error: str = "",
    status: int = 200,
    page: str = "1",
) -> HTMLResponse:
    """Render the client applications the actor keeps with the form to register one (keeping what was typed)."""
    page_no = parse_page(page)
    total, rows = clients.listing(session=session, actor=actor, limit=PAGE, offset=(page_no - 1) * PAGE)
    entities = _entities(session, {c.entity_id for c in rows} | {actor.entity_id or 0})
    pages = max(1, -(-total // PAGE))
    return render(
        request,
        "clients/list.html",
        actor=actor,
        status=status,
        rows=rows,
        total=total,
        entities=entities,
        fund=actor.role is Role.FUND_ADMIN,
        own_entity=entities.get(actor.entity_id or 0),
        typed=typed or {"name": "", "bin": "", "jwks": ""},
        chosen=set(typed_scopes if typed_scopes is not None else clients.PUSH_AND_READ),
        offered=clients.OFFERED_SCOPES,
        scope_words=SCOPE_WORDS,
        error=error,
        prev_url=page_url(request, page=page_no - 1) if page_no > 1 else None,
        next_url=page_url(request, page=page_no + 1) if page_no < pages else None,
    )


def _client_page(
    request: Request,
    session: Session,
    actor: Actor,
    client: ClientApp,
    *,
    jwks: str | None = None,
    scopes: list[str] | None = None,
    error: str = "",
    status: int = 200,
    done: str = "",
) -> HTMLResponse:
    entity = session.get(Entity, client.entity_id)
    shown = jwks if jwks is not None else json.dumps(json.loads(client.jwks or '{"keys": []}'), indent=1)
    chosen = set(scopes if scopes is not None else client.scopes.split())
    return render(
        request,
        "clients/client.html",
        actor=actor,
        status=status,
        client=client,
        entity=entity,
        key_ids=clients.key_ids(client),
        jwks=shown,
        chosen=chosen,
        offered=[*clients.OFFERED_SCOPES, *sorted(chosen - set(clients.OFFERED_SCOPES))],
        scope_words=SCOPE_WORDS,
        error=error,
        done=translate(language(request), DONE[done]) if done in DONE else "",
        token_url=f"{request.base_url}api/v1/oauth/token",
    )


def _error(request: Request, exc: RegistryError) -> str:
    return translate(language(request), exc.template(), exc.params)


@router.get("/clients", response_class=HTMLResponse)
def client_list(request: Request, session: SessionDep, actor: Keeper, page: str = "1") -> HTMLResponse:
    """Show the client applications the actor keeps, with the form to register one."""
    return _list_page(request, session, actor, page=page)


@router.post("/clients", response_class=HTMLResponse)
def register(
    request: Request,
    session: SessionDep,
    actor: Keeper,
    csrf: FormText = "",
    name: FormText = "",
    bin: Annotated[str, Form(max_length=20)] = "",
    jwks: FormKeys = "",
    scope: FormScopes = [],  # noqa: B006  (FastAPI reads a form list so; it is never mutated)
) -> Response:
    """Register a client application and open its page; a refusal keeps what was typed."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {"name": name.strip(), "bin": bin.strip(), "jwks": jwks}
    try:
        new = clients.NewClient(
            name=typed["name"], entity_id=_entity_id_of(session, actor, bin), jwks=jwks, scopes=tuple(scope)
        )
        client = clients.register(session=session, actor=actor, new=new)
    except RegistryError as exc:
        return _list_page(
            request, session, actor, typed=typed, typed_scopes=scope, error=_error(request, exc), status=exc.status
        )
    return RedirectResponse(f"/clients/{client.client_id}?done=registered", status_code=303)


@router.get("/clients/{client_id}", response_class=HTMLResponse)
def client_page(request: Request, session: SessionDep, actor: Keeper, client_id: str, done: str = "") -> HTMLResponse:
    """Show one client application: its client_id, organization, keys, scopes, and the forms to change them."""
    client = clients.kept(session=session, actor=actor, client_id=client_id)
    return _client_page(request, session, actor, client, done=done)


@router.post("/clients/{client_id}/jwks", response_class=HTMLResponse)
def set_keys(
    request: Request, session: SessionDep, actor: Keeper, client_id: str, csrf: FormText = "", jwks: FormKeys = ""
) -> Response:
    """Replace the client's JWK set with the pasted one; a refusal keeps what was pasted."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    client = clients.kept(session=session, actor=actor, client_id=client_id)
    try:
        clients.set_keys(session=session, actor=actor, client=client, jwks=jwks)
    except RegistryError as exc:
        return _client_page(request, session, actor, client, jwks=jwks, error=_error(request, exc), status=exc.status)
    return RedirectResponse(f"/clients/{client.client_id}?done=keys", status_code=303)


@router.post("/clients/{client_id}/scopes", response_class=HTMLResponse)
def set_scopes(
    request: Request,
    session: SessionDep,
    actor: Keeper,
    client_id: str,
    csrf: FormText = "",
    scope: FormScopes = [],  # noqa: B006
) -> Response:
    """Replace the client's scopes with the ticked ones."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    client = clients.kept(session=session, actor=actor, client_id=client_id)
    try:
        clients.set_scopes(session=session, actor=actor, client=client, scopes=scope)
    except RegistryError as exc:
        return _client_page(
            request, session, actor, client, scopes=scope, error=_error(request, exc), status=exc.status
        )
    return RedirectResponse(f"/clients/{client.client_id}?done=scopes", status_code=303)


@router.post("/clients/{client_id}/deactivate", response_class=HTMLResponse)
def deactivate(request: Request, session: SessionDep, actor: Keeper, client_id: str, csrf: FormText = "") -> Response:
    """Deactivate the client application: its tokens end at once."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    client = clients.kept(session=session, actor=actor, client_id=client_id)
    clients.deactivate(session=session, actor=actor, client=client)
    return RedirectResponse(f"/clients/{client.client_id}?done=deactivated", status_code=303)
