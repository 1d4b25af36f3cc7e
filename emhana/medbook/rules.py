"""Pure rules of the personal medical book (жеке медициналық кітапша, docs/domain.md §3): periodicity, work
clearance (жұмысқа жіберу), infection findings, canonical bytes for signing and correction differences.

No ORM, no HTTP, no clock: every function takes plain values and the day it is asked about.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Requirement:
    """One item a decreed group requires; ``infection`` items suspend clearance when positive (C-30)."""

    kind: EntryKind
    code: str
    female_only: bool = False
    infection: bool = False
    months: int | None = None  # overrides the group's periodicity (e.g. a vaccination)


@dataclass(frozen=True)
class GroupRule:
    """A decreed group's examination scope in force (C-22: per-group data, not code)."""

    code: str
    periodicity_months: int
    requirements: tuple[Requirement, ...]

    def applicable(self, sex: str) -> tuple[Requirement, ...]:
        """Return the requirements that apply to a person of a sex (gynecologist for women, C-51)."""
        return tuple(r for r in self.requirements if not r.female_only or sex == "female")


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


def assess(group: GroupRule, findings: Sequence[Finding], *, sex: str, today: dt.date) -> Assessment:
    """Decide work clearance (C-20, C-21).

    Granted only when every item the group requires of this person is present, current (its next due date,
    performed_on + periodicity, is after today) and without contraindication (positive or abnormal).
    The clearance is valid until the earliest next due date of the items.
    """
    missing, overdue, bad = [], [], []
    due: dict[str, dt.date] = {}
    for req in group.applicable(sex):
        found = latest(findings, req.kind, req.code, today)
        if found is None:
            missing.append(req.code)
            continue
        due[req.code] = add_months(found.performed_on, req.months or group.periodicity_months)
        if due[req.code] <= today:
            overdue.append(req.code)
        if found.result is None or found.result in CONTRAINDICATING:
            bad.append(req.code)
    granted = not (missing or overdue or bad)
    return Assessment(
        granted=granted,
        valid_until=min(due.values()) if granted and due else None,
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
