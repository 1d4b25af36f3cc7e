"""Pure rules of the personal medical book (жеке медициналық кітапша, docs/domain.md §3): periodicity, work
clearance (жұмысқа жіберу), infection findings, canonical bytes for signing and correction differences.

No ORM, no HTTP, no clock: every function takes plain values and the day it is asked about.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class EntryKind(StrEnum):
    """Kinds of journal entries (C-12, C-13)."""

    SPECIALIST_EXAM = "specialist_exam"
    LAB_RESULT = "lab_result"
    XRAY = "xray"
    VACCINATION = "vaccination"
    PAST_INFECTION = "past_infection"
    SPECIALIST_DIAGNOSIS = "specialist_diagnosis"
    CLEARANCE = "clearance"
    REFERRAL = "referral"


CLINICAL_KINDS = frozenset(EntryKind) - {EntryKind.CLEARANCE, EntryKind.REFERRAL}
TESTED_KINDS = frozenset({EntryKind.SPECIALIST_EXAM, EntryKind.LAB_RESULT, EntryKind.XRAY})


class Result(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"
    NORMAL = "normal"
    ABNORMAL = "abnormal"


CONTRAINDICATING = frozenset({Result.POSITIVE, Result.ABNORMAL})


class ClearanceStatus(StrEnum):
    """The work-clearance mark (C-03, C-20); ``expired`` and ``none`` are derived, never written."""

    GRANTED = "granted"
    REFUSED = "refused"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    NONE = "none"


class Source(StrEnum):
    MANUAL = "manual"
    MIS = "mis"


class Language(StrEnum):
    """The owner chooses Kazakh or Russian (C-10)."""

    KK = "kk"
    RU = "ru"


class Schedule(StrEnum):
    """When a decreed group's item is required (C-53): at hiring, at every periodic examination, or only when an
    epidemic or medical indication names it."""

    AT_HIRING = "at_hiring"
    PERIODIC = "periodic"
    INDICATION = "indication"


class Occasion(StrEnum):
    """Why a worker is examined now: at hiring (preliminary, C-53) or periodically (C-21)."""

    AT_HIRING = "at_hiring"
    PERIODIC = "periodic"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


# Which items each occasion requires besides those an indication names (C-53).
REQUIRED_ON = {
    Occasion.AT_HIRING: frozenset({Schedule.AT_HIRING, Schedule.PERIODIC}),
    Occasion.PERIODIC: frozenset({Schedule.PERIODIC}),
}


@dataclass(frozen=True)
class Requirement:
    """One item a decreed group requires (C-22, C-53): when (``schedule``), how often (``months``, None = the
    group's periodicity), of whom (``sex``, ``min_age``/``max_age`` in full years, None = anyone), on what
    authority (``source``, ``verified``); ``infection`` items suspend clearance when positive (C-30)."""

    kind: EntryKind
    code: str
    infection: bool = False
    months: int | None = None
    schedule: Schedule = Schedule.PERIODIC
    sex: Sex | None = None
    min_age: int | None = None
    max_age: int | None = None
    source: str = ""
    verified: bool = False

    @property
    def female_only(self) -> bool:
        """The 2015 catalogue's flag (the gynecologist for women, C-51), read from ``sex``."""
        return self.sex is Sex.FEMALE

    def applies_to(self, sex: str, age: int | None) -> bool:
        """Tell whether the item applies to a person of a sex and an age (an unknown age: it applies)."""
        if self.sex is not None and sex != self.sex.value:
            return False
        if age is None:
            return True
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)

    def required(self, occasion: Occasion, indications: Collection[str]) -> bool:
        """Tell whether the occasion, or an indication naming the item, requires it (C-53)."""
        return self.schedule in REQUIRED_ON[occasion] or self.code in indications


@dataclass(frozen=True)
class GroupRule:
    """A decreed group's examination scope in force (C-22: per-group data, not code)."""

    code: str
    periodicity_months: int
    requirements: tuple[Requirement, ...]

    def applicable(
        self,
        sex: str,
        age: int | None = None,
        occasion: Occasion = Occasion.PERIODIC,
        indications: Collection[str] = (),
    ) -> tuple[Requirement, ...]:
        """Return the requirements of a person of a sex and an age on an occasion (the gynecologist for women,
        C-51; at hiring the at-hiring items too, C-53; items an indication names)."""
        return tuple(r for r in self.requirements if r.applies_to(sex, age) and r.required(occasion, indications))

    def months_of(self, requirement: Requirement) -> int:
        """Return an item's periodicity: its own, else the group's."""
        return requirement.months or self.periodicity_months


def _stricter(a: Requirement, b: Requirement, months_a: int, months_b: int) -> Requirement:
    """Merge one item two groups both require: the shorter periodicity, the earlier occasion, the wider
    applicability, and verified only when both say so."""
    order = (Schedule.PERIODIC, Schedule.AT_HIRING, Schedule.INDICATION)
    schedule = min(a.schedule, b.schedule, key=order.index)
    return Requirement(
        kind=a.kind,
        code=a.code,
        infection=a.infection or b.infection,
        months=min(months_a, months_b),
        schedule=schedule,
        sex=a.sex if a.sex == b.sex else None,
        min_age=None if a.min_age is None or b.min_age is None else min(a.min_age, b.min_age),
        max_age=None if a.max_age is None or b.max_age is None else max(a.max_age, b.max_age),
        source="; ".join(dict.fromkeys(s for s in (a.source, b.source) if s)),
        verified=a.verified and b.verified,
    )


def rule_for_groups(rules: Sequence[GroupRule]) -> GroupRule:
    """Return the scope of a worker in several decreed groups (two jobs): the union of their items; an item
    both require keeps the stricter reading (the shorter periodicity, C-54). Its periodicity is the shortest."""
    if not rules:
        raise ValueError("a worker's scope needs at least one decreed group")
    if len(rules) == 1:
        return rules[0]
    merged: dict[tuple[EntryKind, str], Requirement] = {}
    for rule in rules:
        for req in rule.requirements:
            own = replace(req, months=rule.months_of(req))
            key = (req.kind, req.code)
            seen = merged.get(key)
            merged[key] = own if seen is None else _stricter(seen, own, seen.months or 0, own.months or 0)
    return GroupRule(
        code="+".join(r.code for r in rules),
        periodicity_months=min(r.periodicity_months for r in rules),
        requirements=tuple(merged.values()),
    )


def age_on(birth_date: dt.date | None, day: dt.date) -> int | None:
    """Return a person's age in full years on a day (None when the birth date is unknown)."""
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True)
class Finding:
    """A current (not superseded) clinical journal entry, as the clearance rule sees it."""

    kind: EntryKind
    code: str
    performed_on: dt.date
    result: Result | None


@dataclass(frozen=True)
class Assessment:
    """The answer of the clearance rule: granted or not, why not, and until when."""

    granted: bool
    valid_until: dt.date | None
    missing: tuple[str, ...] = ()
    overdue: tuple[str, ...] = ()
    contraindicated: tuple[str, ...] = ()
    due: Mapping[str, dt.date] = field(default_factory=dict)


def add_months(day: dt.date, months: int) -> dt.date:
    """Return the same day ``months`` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def latest(findings: Iterable[Finding], kind: EntryKind, code: str, today: dt.date) -> Finding | None:
    """Return the most recent finding of an item performed on or before today."""
    chosen: Finding | None = None
    for f in findings:
        if f.kind == kind and f.code == code and f.performed_on <= today:
            if chosen is None or f.performed_on >= chosen.performed_on:
                chosen = f
    return chosen


def assess(
    group: GroupRule,
    findings: Sequence[Finding],
    *,
    sex: str,
    today: dt.date,
    age: int | None = None,
    occasion: Occasion = Occasion.PERIODIC,
    indications: Collection[str] = (),
) -> Assessment:
    """Decide work clearance (C-20, C-21, C-53).

    The items required are those of the person's sex and age that the occasion requires (at hiring: the
    at-hiring and periodic ones; periodically: the periodic ones) and those an indication names. Granted only
    when each is present, current (its next due date, performed_on + its own periodicity or the group's, is
    after today) and without contraindication (positive or abnormal). The clearance is valid until the
    earliest next due date of the periodic items (one-off items must only be current), or of all items when
    none is periodic.
    """
    missing, overdue, bad = [], [], []
    due: dict[str, dt.date] = {}
    ends: list[dt.date] = []
    required = group.applicable(sex, age, occasion, indications)
    for req in required:
        found = latest(findings, req.kind, req.code, today)
        if found is None:
            missing.append(req.code)
            continue
        due[req.code] = add_months(found.performed_on, group.months_of(req))
        if req.schedule is Schedule.PERIODIC:
            ends.append(due[req.code])
        if due[req.code] <= today:
            overdue.append(req.code)
        if found.result is None or found.result in CONTRAINDICATING:
            bad.append(req.code)
    granted = not (missing or overdue or bad)
    ends = ends or list(due.values())
    return Assessment(
        granted=granted,
        valid_until=min(ends) if granted and ends else None,
        missing=tuple(missing),
        overdue=tuple(overdue),
        contraindicated=tuple(bad),
        due=due,
    )


def suspends(group: GroupRule, kind: EntryKind, code: str, result: Result | None) -> bool:
    """Tell whether a result shows an infection or carrier state that suspends clearance at once (C-30)."""
    if result not in CONTRAINDICATING:
        return False
    return any(r.infection and r.kind == kind and r.code == code for r in group.requirements)


def not_in_future(day: dt.date, today: dt.date) -> bool:
    """Tell whether a date of an examination or test is not after today (a journal records the past)."""
    return day <= today


def status_on(status: str | None, valid_until: dt.date | None, today: dt.date) -> ClearanceStatus:
    """Return the clearance status a book shows on a day from its latest clearance entry (C-21)."""
    if status is None:
        return ClearanceStatus.NONE
    if status == ClearanceStatus.GRANTED and valid_until is not None and valid_until <= today:
        return ClearanceStatus.EXPIRED
    return ClearanceStatus(status)


def expires_within(valid_until: dt.date | None, today: dt.date, days: int) -> bool:
    """Tell whether a live clearance ends within ``days`` days (reminders to the owner and employer)."""
    return valid_until is not None and today < valid_until <= today + dt.timedelta(days=days)


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """Return the bytes that will be signed: RFC 8785-style JSON (sorted keys, no whitespace, UTF-8).

    Values are strings, integers, booleans, lists and null only, so RFC 8785's number rules never apply.
    """
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Return (field, old, new) for every field a correction changed, in field order (C-41)."""
    return [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
