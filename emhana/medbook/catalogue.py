"""The catalogue of decreed groups (халықтың декреттелген тобы, docs/domain.md §3.7) as versioned data: the
packaged versions (C-51 verified and closed, C-52 unverified with per-item schedules, C-53), the version in force
on a day, the groups no longer in force, and the pure rule view of a version. The Fund's new versions are
written by ``group_versions``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from emhana.kernel.errors import GroupNotFound
from emhana.kernel.i18n import LANGUAGES, Localized
from emhana.medbook.models import DecreedGroup
from emhana.medbook.rules import EntryKind, GroupRule, Requirement, Schedule, Sex

DATA = Path(__file__).parent / "data" / "decreed_groups.json"


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
    """Return the entry kind of each catalogue item bound to one kind (the fluorography is an X-ray, the
    gynecologist an exam); the diagnosis items, recorded under either diagnosis kind, are not here."""
    return {code: str(item["kind"]) for code, item in _packaged()["items"].items() if "kind" in item}


def item_allowed_kinds() -> dict[str, frozenset[str]]:
    """Return every entry kind each item may be recorded under (one, or both diagnosis kinds)."""
    return {
        code: frozenset(item["kinds"]) if "kinds" in item else frozenset({str(item["kind"])})
        for code, item in _packaged()["items"].items()
    }


def group_names() -> dict[str, dict[str, str]]:
    """Return the kk/ru/en names of the packaged decreed groups (for messages naming a group code)."""
    return {g["code"]: {k: v for k, v in g.items() if k.startswith("name_")} for g in _packaged()["groups"]}


def _group_row(group: dict[str, Any], version: dict[str, Any], ends: str | None) -> dict[str, Any]:
    data = _packaged()
    return {
        "code": group["code"],
        "version": version["version"],
        "effective_from": dt.date.fromisoformat(version["effective_from"]),
        "effective_to": dt.date.fromisoformat(ends) if ends else None,
        "name_kk": group["name_kk"],
        "name_ru": group["name_ru"],
        "name_en": group["name_en"],
        "periodicity_months": version["periodicity_months"],
        "requirements": [dict(r) for r in data["scopes"][version["scope"]]],
        "verified": version["verified"],
        "source": version["source"],
    }


def default_group_rows() -> list[dict[str, Any]]:
    """Return every packaged version of the decreed groups (``data/decreed_groups.json``) as table rows.

    A version ends on its own ``effective_to`` (the 2015 scope, closed) or where the next version begins.
    Migration 0004a inserts these rows into a new database; 0020 brings an older one to the same rows.
    """
    rows = []
    for g in _packaged()["groups"]:
        versions = g["versions"]
        for i, v in enumerate(versions):
            ends = v.get("effective_to") or (versions[i + 1]["effective_from"] if i + 1 < len(versions) else None)
            rows.append(_group_row(g, v, ends))
    return rows


def seed_catalogue(session: Session) -> None:
    """Insert every packaged version of the groups that are not in the catalogue yet (tests, fresh databases)."""
    known = set(session.scalars(select(DecreedGroup.code)))
    for row in default_group_rows():
        if row["code"] not in known:
            session.add(DecreedGroup(**row))
    session.flush()


def requirement_of(item: Mapping[str, Any], *, verified: bool, source: str) -> Requirement:
    """Return the pure view of one stored item; an item without its own source or verified flag takes the
    version's, and the 2015 data's ``female_only`` reads as ``sex`` female."""
    sex = item.get("sex") or ("female" if item.get("female_only") else None)
    return Requirement(
        kind=EntryKind(item["kind"]),
        code=item["code"],
        infection=bool(item.get("infection", False)),
        months=item.get("months"),
        schedule=Schedule(item.get("schedule") or Schedule.PERIODIC),
        sex=Sex(sex) if sex else None,
        min_age=item.get("min_age"),
        max_age=item.get("max_age"),
        source=item.get("source") or source,
        verified=bool(item.get("verified", verified)),
    )


def rule_of(group: DecreedGroup) -> GroupRule:
    """Return the pure rule view of a stored group version."""
    return GroupRule(
        code=group.code,
        periodicity_months=group.periodicity_months,
        requirements=tuple(requirement_of(r, verified=group.verified, source=group.source) for r in group.requirements),
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
        raise GroupNotFound(group=_named(session, code), day=day.strftime("%d.%m.%Y"))
    return group


def _named(session: Session, code: str) -> Localized:
    """Return a group's kk/ru/en name for a message (its newest version's, else the packaged one's, else the code
    a caller gave: no name is known for it)."""
    row = session.scalar(
        select(DecreedGroup).where(DecreedGroup.code == code).order_by(DecreedGroup.version.desc()).limit(1)
    )
    names = {"kk": row.name_kk, "ru": row.name_ru, "en": row.name_en} if row else {}
    packaged = group_names().get(code, {})
    return Localized({lang: names.get(lang) or packaged.get(f"name_{lang}") or code for lang in LANGUAGES})


def list_in_force(*, session: Session, day: dt.date) -> list[DecreedGroup]:
    """Return every group's version in force on a day, by code."""
    return list(session.scalars(select(DecreedGroup).where(*_in_force(day)).order_by(DecreedGroup.code)))


def versions(*, session: Session, code: str) -> list[DecreedGroup]:
    """Return every version of a group, oldest first, or raise GroupNotFound."""
    found = list(session.scalars(select(DecreedGroup).where(DecreedGroup.code == code).order_by(DecreedGroup.version)))
    if not found:
        raise GroupNotFound(group=code, day="-")
    return found


def closed(*, session: Session, day: dt.date) -> list[DecreedGroup]:
    """Return the last version of every group that is no longer in force on a day (history, e.g. the 2015
    scope), by code."""
    live = set(session.scalars(select(DecreedGroup.code).where(*_in_force(day))))
    last: dict[str, DecreedGroup] = {}
    for g in session.scalars(
        select(DecreedGroup).where(DecreedGroup.effective_from <= day).order_by(DecreedGroup.code, DecreedGroup.version)
    ):
        if g.code not in live:
            last[g.code] = g
    return list(last.values())


def in_force_or_last(*, session: Session, code: str, day: dt.date) -> DecreedGroup:
    """Return the version in force on a day, else the last one that began before it (a book of a closed group,
    e.g. the 2015 scope, still has its results judged for infection, C-30); raise GroupNotFound for neither."""
    try:
        return in_force(session=session, code=code, day=day)
    except GroupNotFound:
        began = [g for g in versions(session=session, code=code) if g.effective_from <= day]
        if not began:
            raise
        return began[-1]
