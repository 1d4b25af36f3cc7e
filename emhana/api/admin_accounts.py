"""Account administration in the JSON API: the Fund appoints organizations' administrators, an organization's
administrator its own staff (emhana.accounts.admin decides; these routes parse and answer)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from emhana.accounts import admin
from emhana.accounts.models import Account
from emhana.accounts.roles import Can, Role
from emhana.accounts.service import Actor
from emhana.web.deps import SessionDep, require
from emhana.web.idempotency import IdempotencyKey, idempotent_json

router = APIRouter(prefix="/accounts", tags=["accounts"])

Administrator = Annotated[Actor, require(Can.ADMINISTER_FUND_ACCOUNTS, Can.ADMINISTER_ENTITY_STAFF)]
NO_STORE = "no-store"


class AccountIn(BaseModel):
    """An account to create: an organization's administrator (by the Fund) or a member of staff (by the
    organization's administrator, always in its own organization)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=3, max_length=100)
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    entity_id: int | None = Field(
        default=None,
        ge=1,
        description="The organization; an organization's "
        "administrator may leave it out (its own organization is meant).",
    )


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    entity_id: int | None = Field(
        default=None,
        ge=1,
        description="Another organization (the Fund only); left out, the account keeps its organization.",
    )


class AccountOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    entity_id: int | None
    active: bool
    must_change_password: bool
    created_at: dt.datetime | None
    deactivated_at: dt.datetime | None


class IssuedOut(BaseModel):
    """An account with the one-time password to hand over: shown in this answer only, never again."""

    account: AccountOut
    one_time_password: str


class AccountsOut(BaseModel):
    total: int
    items: list[AccountOut]


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        entity_id=account.entity_id,
        active=account.active,
        must_change_password=account.must_change_password,
        created_at=account.created_at,
        deactivated_at=account.deactivated_at,
    )


def issued_out(issued: admin.Issued, response: Response) -> IssuedOut:
    response.headers["Cache-Control"] = NO_STORE
    return IssuedOut(account=account_out(issued.account), one_time_password=str(issued.one_time_password))


@router.get("", response_model=AccountsOut)
def list_accounts(
    session: SessionDep,
    actor: Administrator,
    q: Annotated[str, Query(max_length=100)] = "",
    role: Role | None = None,
    entity_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AccountsOut:
    """List the accounts the caller administers (the Fund: organizations' administrators and inspectors; an
    organization's administrator: its own staff)."""
    total, rows = admin.listing(
        session=session, actor=actor, q=q, role=role, entity_id=entity_id, limit=limit, offset=offset
    )
    return AccountsOut(total=total, items=[account_out(a) for a in rows])


@router.post("", response_model=IssuedOut, status_code=201)
def create_account(body: AccountIn, session: SessionDep, actor: Administrator, response: Response) -> IssuedOut:
    """Create an account with a one-time password; its holder chooses their own at the first sign-in
    (``POST /api/v1/auth/password``)."""
    new = admin.NewAccount(
        username=body.username, display_name=body.display_name, role=body.role, entity_id=body.entity_id
    )
    return issued_out(admin.create(session=session, actor=actor, new=new), response)


@router.get("/{account_id}", response_model=AccountOut)
def get_account(account_id: int, session: SessionDep, actor: Administrator) -> AccountOut:
    """Read one account the caller administers."""
    return account_out(admin.administered(session=session, actor=actor, account_id=account_id))


@router.post("/{account_id}/role", response_model=AccountOut)
def set_role(
    account_id: int, body: RoleIn, session: SessionDep, actor: Administrator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Give an account another role (or, for the Fund, another organization); its sessions end."""

    def run() -> tuple[int, dict[str, Any]]:
        account = admin.administered(session=session, actor=actor, account_id=account_id)
        changed = admin.set_role(
            session=session, actor=actor, account=account, role=body.role, entity_id=body.entity_id
        )
        return 200, account_out(changed).model_dump(mode="json")

    payload = {"account": account_id, **body.model_dump(mode="json")}
    return idempotent_json(session=session, actor=actor, key=idempotency_key, payload=payload, run=run)


@router.post("/{account_id}/deactivate", response_model=AccountOut)
def deactivate(
    account_id: int, session: SessionDep, actor: Administrator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Deactivate an account: its tokens and page sessions end at once."""

    def run() -> tuple[int, dict[str, Any]]:
        account = admin.administered(session=session, actor=actor, account_id=account_id)
        return 200, account_out(admin.deactivate(session=session, actor=actor, account=account)).model_dump(mode="json")

    return idempotent_json(session=session, actor=actor, key=idempotency_key, payload={"account": account_id}, run=run)


@router.post("/{account_id}/password-reset", response_model=IssuedOut)
def reset_password(account_id: int, session: SessionDep, actor: Administrator, response: Response) -> IssuedOut:
    """Replace the password with a one-time password shown in this answer only; the holder must choose a new
    one at the next sign-in, and the account's sessions end."""
    account = admin.administered(session=session, actor=actor, account_id=account_id)
    return issued_out(admin.reset_password(session=session, actor=actor, account=account), response)
