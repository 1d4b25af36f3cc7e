"""Routes of the audit domain: a person's own access log (issue 8, item 5)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from emhana.accounts.models import Account
from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.audit.models import AuditEvent
from emhana.web.deps import SessionDep, require

router = APIRouter(tags=["audit"])


class AccessOut(BaseModel):
    """One access to the person's data by someone else: who, in which role, when, what and why."""

    id: int
    at: dt.datetime
    who: str
    role: str
    action: str
    object_type: str
    purpose: str


@router.get("/me/access-log", response_model=list[AccessOut])
def my_access_log(
    session: SessionDep,
    actor: Annotated[Actor, require(Can.SEE_OWN_RECORDS)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, description="Only events older than this id")] = None,
) -> list[AccessOut]:
    """Return who read or changed the citizen's own data, latest first (the citizen's own acts are left out)."""
    if actor.person_id is None:
        return []
    stmt = (
        select(AuditEvent, Account)
        .outerjoin(Account, Account.id == AuditEvent.account_id)
        .where(
            AuditEvent.subject_person_id == actor.person_id,
            (AuditEvent.account_id.is_(None)) | (AuditEvent.account_id != actor.account_id),
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    return [
        AccessOut(
            id=e.id,
            at=e.at,
            who=a.display_name if a else "",
            role=a.role if a else "",
            action=e.action,
            object_type=e.object_type,
            purpose=e.purpose,
        )
        for e, a in session.execute(stmt)
    ]
