"""The Fund's versions of decreed groups (§3.7, C-22, C-53): each item checked (its kind, its ages, its sex),
then added as a new version from its effective date, never edited; and the items of a version as the API and
the public catalogue page show them (every field resolved, unverified ones said so)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.kernel.errors import InvalidDates, InvalidRequirement, ItemKindMismatch
from emhana.kernel.i18n import LANGUAGES, N_
from emhana.medbook import catalogue
from emhana.medbook.labels import item_label, kind_label
from emhana.medbook.models import DecreedGroup
from emhana.medbook.rules import Schedule, Sex
from emhana.medbook.schemas import ClinicalKind, GroupIn, RequirementIn

REASON_VERSION_ORDER = N_("a new version must take effect after the version in force")
REASON_AGES = N_("the lowest age is above the highest age")
REASON_SEX = N_("an item for women only cannot be for men only")
REASON_TWICE = N_("the item is listed twice")


def check_requirements(requirements: list[RequirementIn]) -> None:
    """Refuse an item recorded under another kind than the catalogue's (C-13), ages that exclude everyone, a
    sex that contradicts ``female_only``, and an item listed twice; raise on the first."""
    kinds = catalogue.item_kinds()
    seen: set[str] = set()
    for r in requirements:
        expected, item = kinds.get(r.code), item_label(r.code)
        if expected is not None and expected != r.kind.value:
            raise ItemKindMismatch(item=item, kind=kind_label(r.kind.value), expected=kind_label(expected))
        if r.min_age is not None and r.max_age is not None and r.min_age > r.max_age:
            raise InvalidRequirement(item=item, reason=REASON_AGES)
        if r.female_only and r.sex is Sex.MALE:
            raise InvalidRequirement(item=item, reason=REASON_SEX)
        if r.code in seen:
            raise InvalidRequirement(item=item, reason=REASON_TWICE)
        seen.add(r.code)


def stored(r: RequirementIn) -> dict[str, Any]:
    """Return the item as the version stores it: ``female_only`` becomes ``sex``, defaults are left out but the
    schedule is always written."""
    row = r.model_dump(mode="json", exclude_defaults=True, exclude={"female_only"})
    if r.female_only:
        row["sex"] = Sex.FEMALE.value
    return row | {"kind": r.kind.value, "code": r.code, "schedule": r.schedule.value}


def add_version(*, session: Session, actor: Actor, data: GroupIn) -> DecreedGroup:
    """Add the Fund's new version of a group (or a new group); the previous version ends where it begins.

    Refused, with nothing written, when an item is inconsistent (``check_requirements``) or the version does
    not begin after the version in force.
    """
    check_requirements(data.requirements)
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
        requirements=[stored(r) for r in data.requirements],
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


def requirements_out(group: DecreedGroup) -> list[RequirementIn]:
    """Return a version's items with every field resolved (an item without its own source or verified flag
    has the version's), in the shape a new version takes, so a reader can send them back changed."""
    return [
        RequirementIn(
            kind=ClinicalKind(r.kind.value),
            code=r.code,
            female_only=r.female_only,
            infection=r.infection,
            months=r.months,
            schedule=r.schedule,
            sex=r.sex,
            min_age=r.min_age,
            max_age=r.max_age,
            source=r.source,
            verified=r.verified,
        )
        for r in catalogue.rule_of(group).requirements
    ]


SCHEDULES = {
    Schedule.AT_HIRING: N_("At hiring"),
    Schedule.PERIODIC: N_("Periodic"),
    Schedule.INDICATION: N_("By epidemic indication"),
}
SEXES = {None: N_("Women and men"), Sex.FEMALE: N_("Women"), Sex.MALE: N_("Men")}


@dataclass(frozen=True)
class ItemView:
    """One item of a version as the public catalogue shows it: its names, never its code."""

    names: dict[str, str]
    schedule: Schedule
    months: int | None  # how often a periodic item recurs; None for the one-off ones
    sex: Sex | None
    min_age: int | None
    max_age: int | None
    source: str
    source_no: int  # the item's source among the version's sources, from 1
    verified: bool


@dataclass(frozen=True)
class GroupView:
    """One version of a group as the public catalogue shows it."""

    names: dict[str, str]
    version: int
    effective_from: dt.date
    effective_to: dt.date | None
    periodicity_months: int
    source: str
    verified: bool
    items: list[ItemView]
    sources: list[str]  # the items' sources, each once, in order


def _view(group: DecreedGroup) -> GroupView:
    rule = catalogue.rule_of(group)
    sources = list(dict.fromkeys(r.source for r in rule.requirements))
    return GroupView(
        names={lang: getattr(group, f"name_{lang}") for lang in LANGUAGES},
        version=group.version,
        effective_from=group.effective_from,
        effective_to=group.effective_to,
        periodicity_months=group.periodicity_months,
        source=group.source,
        verified=group.verified,
        items=[
            ItemView(
                names={lang: item_label(r.code).in_language(lang) for lang in LANGUAGES},
                schedule=r.schedule,
                months=rule.months_of(r) if r.schedule is Schedule.PERIODIC else None,
                sex=r.sex,
                min_age=r.min_age,
                max_age=r.max_age,
                source=r.source,
                source_no=sources.index(r.source) + 1,
                verified=r.verified,
            )
            for r in rule.requirements
        ],
        sources=sources,
    )


def public_catalogue(*, session: Session, day: dt.date) -> tuple[list[GroupView], list[GroupView]]:
    """Return the groups in force on a day and, as history, the last version of those no longer in force (the
    2015 scope), each with its items by name and their schedule, periodicity, sex, ages, source and mark."""
    return (
        [_view(g) for g in catalogue.list_in_force(session=session, day=day)],
        [_view(g) for g in catalogue.closed(session=session, day=day)],
    )
