"""The catalogue of decreed groups (халықтың декреттелген тобы, docs/domain.md §3.7) as versioned data: the
packaged seed (C-51 verified, C-52 unverified), the version in force on a day, and the Fund's new versions."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.kernel.errors import GroupNotFound, InvalidDates
from emhana.kernel.i18n import N_
from emhana.medbook.models import DecreedGroup
from emhana.medbook.rules import EntryKind, GroupRule, Requirement
from emhana.medbook.schemas import GroupIn

DATA = Path(__file__).parent / "data" / "decreed_groups.json"
REASON_VERSION_ORDER = N_("a new version must take effect after the version in force")


@cache
def _packaged() -> dict[str, Any]:
    with DATA.open(encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def item_names() -> dict[str, dict[str, str]]:
    """Return the kk/ru/en names of the catalogue's item codes (therapist, fluorography, ...)."""
    return {
        code: {k: v for k, v in item.items() if k.startswith("name_")} for code, item in _packaged()["items"].items()
    }


def item_kinds() -> dict[str, str]:
    """Return the entry kind of each catalogue item (the fluorography is an X-ray, the gynecologist an exam)."""
    return {code: str(item["kind"]) for code, item in _packaged()["items"].items()}


def group_names() -> dict[str, dict[str, str]]:
    """Return the kk/ru/en names of the packaged decreed groups (for messages naming a group code)."""
    return {g["code"]: {k: v for k, v in g.items() if k.startswith("name_")} for g in _packaged()["groups"]}


def default_group_rows() -> list[dict[str, Any]]:
    """Return the packaged decreed groups (``data/decreed_groups.json``) as version-1 table rows."""
    data = _packaged()
    rows = []
    for g in data["groups"]:
        rows.append(
            {
                "code": g["code"],
                "version": 1,
                "effective_from": dt.date.fromisoformat(g["effective_from"]),
                "effective_to": None,
                "name_kk": g["name_kk"],
                "name_ru": g["name_ru"],
                "name_en": g["name_en"],
                "periodicity_months": g["periodicity_months"],
                "requirements": list(data["scopes"][g["scope"]]),
                "verified": g["verified"],
                "source": g["source"],
            }
        )
    return rows


def seed_catalogue(session: Session) -> None:
    """Insert the packaged groups that are not in the catalogue yet (tests and fresh databases)."""
    known = set(session.scalars(select(DecreedGroup.code)))
    for row in default_group_rows():
        if row["code"] not in known:
            session.add(DecreedGroup(**row))
    session.flush()


def rule_of(group: DecreedGroup) -> GroupRule:
    """Return the pure rule view of a stored group version."""
    return GroupRule(
        code=group.code,
        periodicity_months=group.periodicity_months,
        requirements=tuple(
            Requirement(
                kind=EntryKind(r["kind"]),
                code=r["code"],
                female_only=bool(r.get("female_only", False)),
                infection=bool(r.get("infection", False)),
                months=r.get("months"),
            )
            for r in group.requirements
        ),
    )


def _in_force(day: dt.date):  # type: ignore[no-untyped-def]
    return (
        DecreedGroup.effective_from <= day,
        or_(DecreedGroup.effective_to.is_(None), DecreedGroup.effective_to > day),
    )


def in_force(*, session: Session, code: str, day: dt.date) -> DecreedGroup:
    """Return the version of a group in force on a day, or raise GroupNotFound."""
    group = session.scalar(
        select(DecreedGroup)
        .where(DecreedGroup.code == code, *_in_force(day))
        .order_by(DecreedGroup.version.desc())
        .limit(1)
    )
    if group is None:
        raise GroupNotFound(group=code, day=day.isoformat())
    return group


def list_in_force(*, session: Session, day: dt.date) -> list[DecreedGroup]:
    """Return every group's version in force on a day, by code."""
    return list(session.scalars(select(DecreedGroup).where(*_in_force(day)).order_by(DecreedGroup.code)))


def versions(*, session: Session, code: str) -> list[DecreedGroup]:
    """Return every version of a group, oldest first, or raise GroupNotFound."""
    found = list(session.scalars(select(DecreedGroup).where(DecreedGroup.code == code).order_by(DecreedGroup.version)))
    if not found:
        raise GroupNotFound(group=code, day="-")
    return found


def add_version(*, session: Session, actor: Actor, data: GroupIn) -> DecreedGroup:
    """Add the Fund's new version of a group (or a new group); the previous version ends where it begins."""
    current = session.scalar(
        select(DecreedGroup)
        .where(DecreedGroup.code == data.code, DecreedGroup.effective_to.is_(None))
        .order_by(DecreedGroup.version.desc())
        .limit(1)
    )
    last = (
        session.scalar(
            select(DecreedGroup.version)
            .where(DecreedGroup.code == data.code)
            .order_by(DecreedGroup.version.desc())
            .limit(1)
        )
        or 0
    )
    if current is not None:
        if data.effective_from <= current.effective_from:
            raise InvalidDates(reason=REASON_VERSION_ORDER)
        current.effective_to = data.effective_from
    group = DecreedGroup(
        code=data.code,
        version=last + 1,
        effective_from=data.effective_from,
        effective_to=None,
        name_kk=data.name_kk,
        name_ru=data.name_ru,
        name_en=data.name_en,
        periodicity_months=data.periodicity_months,
        requirements=[
            r.model_dump(mode="json", exclude_defaults=True) | {"kind": r.kind.value, "code": r.code}
            for r in data.requirements
        ],
        verified=data.verified,
        source=data.source,
        created_by=actor.account_id,
    )
    session.add(group)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="medbook.group_version",
        object_type="decreed_group",
        object_id=str(group.id),
        purpose=f"{group.code} v{group.version}",
    )
    return group
