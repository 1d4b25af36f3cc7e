"""Read models of who reads identity data: the accounts flagged to the Fund for unusual read volume, and a
person's own log of who read or changed their data (issue 14). The flags themselves are written by
``service.flag_read_volume`` at read time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account
from emhana.audit.models import AuditEvent
from emhana.identity.service import FLAG_ACTION
from emhana.kernel import clock


@dataclass(frozen=True)
class Flagged:
    """An account flagged on a day: who, for which organization, how many reads against which limit."""

    at: dt.datetime
    day: dt.date
    account_id: int
    username: str
    display_name: str
    role: str
    entity_id: int | None
    reads: int | None
    limit: int | None


@dataclass(frozen=True)
class Access:
    """One read or change of a person's data by someone else: when, who, in which role, what and why."""

    at: dt.datetime
    who: str
    role: str
    action: str
    purpose: str
    entity_id: int | None = None  # the organization the reader's account acts for (none for the Fund, a citizen)


def _counts(purpose: str) -> tuple[int | None, int | None]:
    reads, _, limit = purpose.partition(" > ")
    return (int(reads) if reads.isdigit() else None, int(limit) if limit.isdigit() else None)


def flagged_accounts(*, session: Session, limit: int = 200) -> list[Flagged]:
    """Return the latest read-volume flags, newest first, with the account behind each."""
    rows = session.execute(
        select(AuditEvent, Account)
        .join(Account, Account.id == AuditEvent.account_id)
        .where(AuditEvent.action == FLAG_ACTION)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    out = []
    for e, a in rows:
        at = e.at if e.at.tzinfo is not None else e.at.replace(tzinfo=dt.UTC)  # SQLite gives naive UTC back
        reads, cap = _counts(e.purpose)
        out.append(
            Flagged(
                at=at,
                day=clock.kz_date(at),
                account_id=a.id,
                username=a.username,
                display_name=a.display_name,
                role=a.role,
                entity_id=a.entity_id,
                reads=reads,
                limit=cap,
            )
        )
    return out


def access_log(*, session: Session, person_id: int, account_id: int, limit: int = 200) -> list[Access]:
    """Return who read or changed a person's data, newest first, leaving out the person's own acts."""
    rows = session.execute(
        select(AuditEvent, Account)
        .outerjoin(Account, Account.id == AuditEvent.account_id)
        .where(
            AuditEvent.subject_person_id == person_id,
            AuditEvent.account_id.is_(None) | (AuditEvent.account_id != account_id),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return [
        Access(
            at=e.at if e.at.tzinfo is not None else e.at.replace(tzinfo=dt.UTC),
            who=a.display_name if a else "",
            role=a.role if a else "",
            action=e.action,
            purpose=e.purpose,
            entity_id=a.entity_id if a else None,
        )
        for e, a in rows
    ]
