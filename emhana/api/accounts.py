"""Auth routes: OAuth2 password form for bearer tokens, choosing a new password, the current account, logout."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from emhana.accounts import admin
from emhana.accounts.roles import Can
from emhana.accounts.service import Actor, Authenticator, issue_token, revoke_token
from emhana.api.oauth import password_grant_only
from emhana.web.deps import SessionDep, bearer_token, public, require

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class MeOut(BaseModel):
    username: str
    role: str
    display_name: str
    entity_id: int | None


@router.post("/token", response_model=TokenOut, dependencies=[public(), Depends(password_grant_only)])
def token(request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    """Exchange a username and password for a bearer token."""
    authenticator: Authenticator = request.app.state.authenticator
    actor = authenticator.authenticate(session=session, username=form.username, password=form.password)
    ttl = dt.timedelta(minutes=request.app.state.settings.token_ttl_minutes)
    access = issue_token(session=session, actor=actor, ttl=ttl)
    return TokenOut(access_token=access, expires_in=int(ttl.total_seconds()), role=actor.role.value)


@router.post("/password", status_code=204, dependencies=[public()])
def change_password(
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=200)],
    new_password: Annotated[str, Form(max_length=200)],
) -> None:
    """Choose a new password, proving the current one (or the one-time password an administrator gave: such
    a password opens no session until this is done). Every session of the account ends; ask for a new token."""
    admin.change_password(session=session, username=username.strip(), password=password, new_password=new_password)


@router.get("/me", response_model=MeOut)
def me(actor: Annotated[Actor, require(Can.USE_ACCOUNT)]) -> MeOut:
    """Return the current account."""
    return MeOut(
        username=actor.username, role=actor.role.value, display_name=actor.display_name, entity_id=actor.entity_id
    )


@router.post("/logout", status_code=204, dependencies=[require(Can.USE_ACCOUNT)])
def logout(request: Request, session: SessionDep) -> None:
    """Revoke the token of this request."""
    tok = bearer_token(request)
    if tok:
        revoke_token(session=session, token=tok)
