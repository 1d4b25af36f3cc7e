"""Campaign policies as versioned data (A-34): the seeded years, the policy in force on a day, and the
Fund's creation of the next campaign. A policy is frozen once its window has opened."""

from __future__ import annotations

import csv
import datetime as dt
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment.enums import AtuLevel
from emhana.attachment.models import CampaignPolicy
from emhana.attachment.rules import Policy
from emhana.attachment.schemas import PolicyIn
from emhana.audit.service import record_event
from emhana.kernel import clock
from emhana.kernel.errors import InvalidInput, NotFound, PolicyExists, PolicyLocked, VersionConflict

DATA = Path(__file__).parent / "data"
FLAGS = (
    "year_round",
    "allow_work_basis",
    "allow_study_basis_18plus",
    "border_exception",
    "children_under_5_actual_residence",
    "capacity_check",
    "first_attachment_any_time",
)
# Flags added by migration 0013 (A-23 pregnant women, A-26 home visits): migration 0003 seeds the rows
# with FLAGS only, before these columns exist; 0013 gives the existing rows the same values as the CSV.
LATER_FLAGS = ("pregnant_actual_residence", "care_at_home_by_applicant")
ALL_FLAGS = FLAGS + LATER_FLAGS


def default_policy_rows(flags: tuple[str, ...] = FLAGS) -> list[dict[str, Any]]:
    """Return the packaged campaign policies (``data/policies.csv``) as table rows, with the given flags
    (by default those of migration 0003, which seeds them)."""
    with (DATA / "policies.csv").open(encoding="utf-8", newline="") as fh:
        rows = []
        for r in csv.DictReader(fh):
            row: dict[str, Any] = {
                "year": int(r["year"]),
                "window_start": dt.date.fromisoformat(r["window_start"]),
                "window_end": dt.date.fromisoformat(r["window_end"]),
                "effective_date": dt.date.fromisoformat(r["effective_date"]) if r["effective_date"] else None,
                "max_voluntary_changes_per_year": int(r["max_voluntary_changes_per_year"]),
                "atu_level": r["atu_level"],
                "source": r["source"],
                "version": 1,
            }
            row.update({flag: r[flag].strip().lower() == "true" for flag in flags})
            rows.append(row)
        return rows


def seed_default_policies(session: Session) -> None:
    """Insert the packaged policies whose year is not in the table yet."""
    present = set(session.scalars(select(CampaignPolicy.year)))
    for row in default_policy_rows(ALL_FLAGS):
        if row["year"] not in present:
            session.add(CampaignPolicy(**row))
    session.flush()
    forget_policies(session)


def to_rules(row: CampaignPolicy) -> Policy:
    """Return the pure-rules view of a stored policy."""
    return Policy(
        year=row.year,
        window_start=row.window_start,
        window_end=row.window_end,
        effective_date=row.effective_date,
        year_round=row.year_round,
        max_voluntary_changes_per_year=row.max_voluntary_changes_per_year,
        allow_work_basis=row.allow_work_basis,
        allow_study_basis_18plus=row.allow_study_basis_18plus,
        border_exception=row.border_exception,
        children_under_5_actual_residence=row.children_under_5_actual_residence,
        pregnant_actual_residence=row.pregnant_actual_residence,
        care_at_home_by_applicant=row.care_at_home_by_applicant,
        capacity_check=row.capacity_check,
        first_attachment_any_time=row.first_attachment_any_time,
        atu_level=AtuLevel(row.atu_level),
    )


CLOSED = Policy(year=1, window_start=dt.date.min, window_end=dt.date.min, effective_date=None)


# Per process and database: the policy of a year whose window has opened. Such a row can no longer be
# changed (update_policy refuses it) and, being its year's own row, no later row can take its place, so
# it is read once. Writes through this module drop the database's entries (create, update, seed).
_FROZEN: weakref.WeakKeyDictionary[Engine, dict[int, Policy]] = weakref.WeakKeyDictionary()
_FROZEN_LOCK = threading.Lock()


def _engine_of(session: Session) -> Engine | None:
    bind = session.get_bind()
    engine = getattr(bind, "engine", None)
    return engine if isinstance(engine, Engine) else None


def forget_policies(where: Session | Engine) -> None:
    """Drop the cached policies of a database (called on every policy write; tests call it when they
    empty the tables behind the application's back)."""
    engine = where if isinstance(where, Engine) else _engine_of(where)
    if engine is not None:
        with _FROZEN_LOCK:
            _FROZEN.pop(engine, None)


def policy_for(session: Session, day: dt.date) -> Policy:
    """Return the policy in force on a day: its year's, else the latest earlier one (whose window is over)."""
    engine = _engine_of(session)
    cached = _FROZEN.get(engine, {}).get(day.year) if engine is not None else None
    if cached is not None:
        return cached
    row = session.scalar(
        select(CampaignPolicy).where(CampaignPolicy.year <= day.year).order_by(CampaignPolicy.year.desc()).limit(1)
    )
    if row is None:
        return CLOSED
    policy = to_rules(row)
    if engine is not None and row.year == day.year and row.window_start <= clock.today():
        with _FROZEN_LOCK:
            _FROZEN.setdefault(engine, {})[day.year] = policy
    return policy


def list_policies(session: Session) -> list[CampaignPolicy]:
    """Return every campaign policy, oldest first."""
    return list(session.scalars(select(CampaignPolicy).order_by(CampaignPolicy.year)))


def get_policy(session: Session, year: int) -> CampaignPolicy:
    """Return the policy of a year or raise NotFound."""
    row = session.scalar(select(CampaignPolicy).where(CampaignPolicy.year == year))
    if row is None:
        raise NotFound()
    return row


def _fields(data: PolicyIn) -> dict[str, Any]:
    """Return the column values of a policy request (effective date 1 January of the next year, A-05)."""
    values = data.model_dump()
    values["atu_level"] = data.atu_level.value
    if values["effective_date"] is None and not data.year_round:
        values["effective_date"] = dt.date(data.year + 1, 1, 1)
    return values


def create_policy(*, session: Session, actor: Actor, data: PolicyIn, today: dt.date) -> CampaignPolicy:
    """Create the campaign of a coming year (the Fund); a year whose window has opened cannot be created."""
    if session.scalar(select(CampaignPolicy.id).where(CampaignPolicy.year == data.year)) is not None:
        raise PolicyExists(year=data.year)
    if data.window_start <= today:
        raise PolicyLocked(year=data.year)
    row = CampaignPolicy(**_fields(data), version=1, created_by=actor.account_id)
    session.add(row)
    session.flush()
    forget_policies(session)
    record_event(
        session=session, actor=actor, action="policy.create", object_type="campaign_policy", object_id=str(row.year)
    )
    return row


def update_policy(
    *, session: Session, actor: Actor, year: int, data: PolicyIn, expected_version: int, today: dt.date
) -> CampaignPolicy:
    """Change a campaign that has not opened yet; past and running campaigns stay as they were."""
    row = session.scalar(select(CampaignPolicy).where(CampaignPolicy.year == year).with_for_update())
    if row is None:
        raise NotFound()
    if row.version != expected_version:
        raise VersionConflict()
    if data.year != year:
        raise InvalidInput()
    if row.window_start <= today or data.window_start <= today:
        raise PolicyLocked(year=year)
    for key, value in _fields(data).items():
        setattr(row, key, value)
    row.version += 1
    session.flush()
    forget_policies(session)
    record_event(
        session=session, actor=actor, action="policy.update", object_type="campaign_policy", object_id=str(row.year)
    )
    return row
