"""MIS client applications in the JSON API (issue 17): the Fund registers them for any organization, an
organization's administrator for its own; each acts through its own account and authenticates with SMART Backend
Services (a JWT signed with a key of its JWK set). emhana.accounts.clients decides; these routes parse and answer.
Errors are problem+json with the stable codes ``clients.*``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from emhana.accounts import clients
from emhana.accounts.models import ClientApp
from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.web.deps import SessionDep, require
from emhana.web.idempotency import IdempotencyKey, idempotent_json

router = APIRouter(prefix="/clients", tags=["clients"])

Keeper = Annotated[Actor, require(Can.REGISTER_CLIENT_APPS)]


class JwkSet(BaseModel):
    """A JWK set of public keys (RFC 7517): RSA keys with alg RS384 or EC P-384 keys with alg ES384, each with
    its kid. Private keys (a JWK with ``d``) are refused."""

    model_config = ConfigDict(extra="allow")

    keys: list[dict[str, Any]] = Field(min_length=1, max_length=clients.MAX_KEYS)


class ClientIn(BaseModel):
    """A client application to register, bound to one organization."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="The MIS's name as the organization knows it.")
    entity_id: int | None = Field(
        default=None, ge=1, description="The organization; an organization's administrator may leave it out."
    )
    jwks: JwkSet | None = Field(default=None, description="Its public keys; they may also be set later.")
    scopes: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list,
        max_length=50,
        description="System scopes it may be granted, e.g. system/Observation.c, system/Patient.rs, system/*.rs.",
    )


class ScopesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[Annotated[str, Field(max_length=100)]] = Field(max_length=50)


class ClientOut(BaseModel):
    client_id: str
    name: str
    entity_id: int
    account_id: int
    jwks: dict[str, Any]
    key_ids: list[str]
    scopes: list[str]
    active: bool
    created_at: dt.datetime | None


class ClientsOut(BaseModel):
    total: int
    items: list[ClientOut]


def client_out(client: ClientApp) -> ClientOut:
    return ClientOut(
        client_id=client.client_id,
        name=client.name,
        entity_id=client.entity_id,
        account_id=client.account_id,
        jwks=json.loads(client.jwks or '{"keys": []}'),
        key_ids=clients.key_ids(client),
        scopes=client.scopes.split(),
        active=client.active,
        created_at=client.created_at,
    )


@router.get("", response_model=ClientsOut)
def list_clients(
    session: SessionDep,
    actor: Keeper,
    entity_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ClientsOut:
    """List the client applications the caller keeps (the Fund: all, or one organization's; an organization's
    administrator: its own organization's), newest first."""
    total, rows = clients.listing(session=session, actor=actor, entity_id=entity_id, limit=limit, offset=offset)
    return ClientsOut(total=total, items=[client_out(c) for c in rows])


@router.post("", response_model=ClientOut, status_code=201)
def register(
    body: ClientIn, session: SessionDep, actor: Keeper, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Register a client application: its ``client_id`` is in the answer; it signs its assertions with a key of
    its JWK set and obtains tokens at the token endpoint of /fhir/R4/.well-known/smart-configuration."""

    def run() -> tuple[int, dict[str, Any]]:
        new = clients.NewClient(
            name=body.name,
            entity_id=body.entity_id,
            jwks=body.jwks.model_dump_json() if body.jwks is not None else None,
            scopes=tuple(body.scopes),
        )
        return 201, client_out(clients.register(session=session, actor=actor, new=new)).model_dump(mode="json")

    payload = body.model_dump(mode="json")
    return idempotent_json(session=session, actor=actor, key=idempotency_key, payload=payload, run=run)


@router.get("/{client_id}", response_model=ClientOut)
def get_client(client_id: str, session: SessionDep, actor: Keeper) -> ClientOut:
    """Read one client application the caller keeps."""
    return client_out(clients.kept(session=session, actor=actor, client_id=client_id))


@router.put("/{client_id}/jwks", response_model=ClientOut)
def set_keys(client_id: str, body: JwkSet, session: SessionDep, actor: Keeper) -> ClientOut:
    """Replace the client's JWK set (a key rotation: publish the new key beside the old one, then drop the old)."""
    client = clients.kept(session=session, actor=actor, client_id=client_id)
    return client_out(clients.set_keys(session=session, actor=actor, client=client, jwks=body.model_dump_json()))


@router.put("/{client_id}/scopes", response_model=ClientOut)
def set_scopes(client_id: str, body: ScopesIn, session: SessionDep, actor: Keeper) -> ClientOut:
    """Replace the system scopes the client may be granted; its live tokens end."""
    client = clients.kept(session=session, actor=actor, client_id=client_id)
    return client_out(clients.set_scopes(session=session, actor=actor, client=client, scopes=body.scopes))


@router.post("/{client_id}/deactivate", response_model=ClientOut)
def deactivate(
    client_id: str, session: SessionDep, actor: Keeper, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Deactivate the client application: its tokens end at once and no new one is issued."""

    def run() -> tuple[int, dict[str, Any]]:
        client = clients.kept(session=session, actor=actor, client_id=client_id)
        return 200, client_out(clients.deactivate(session=session, actor=actor, client=client)).model_dump(mode="json")

    return idempotent_json(session=session, actor=actor, key=idempotency_key, payload={"client": client_id}, run=run)
