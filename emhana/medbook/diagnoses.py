"""Pure rules of diagnoses in a medical book (C-12, C-30): the form of an ICD-10 code, which infection rule covers
it, and whether an active diagnosis bars work in a worker's decreed groups.

No ORM, no clock: the rules in force and the list of known ICD-10 categories are given by the caller
(emhana.medbook.infections reads them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from emhana.kernel.i18n import N_

# A letter, two digits, and optionally a point with one or two digits (A15, A15.0, Z22.1; national extensions
# such as K35.30 have two).
ICD10 = re.compile(r"^[A-Z][0-9]{2}(?:\.[0-9]{1,2})?$")
CATEGORY = re.compile(r"^[A-Z][0-9]{2}$")
RANGE = re.compile(r"^([A-Z][0-9]{2})-([A-Z][0-9]{2})$")

REASON_FORM = N_("an ICD-10 code is a letter, two digits and optionally a point and one or two digits, e.g. A15.0")
REASON_UNKNOWN = N_("ICD-10 has no such category of infectious diseases or carrier states")
REASON_RANGE = N_("a range joins two categories of one letter, the first not after the second, e.g. B65-B83")


class ClinicalStatus(StrEnum):
    """A diagnosis is active (it may bar work) or resolved (history, C-31)."""

    ACTIVE = "active"
    RESOLVED = "resolved"


class RuleKind(StrEnum):
    DIAGNOSIS = "diagnosis"
    CARRIER = "carrier"


@dataclass(frozen=True)
class Known:
    """The ICD-10 codes we can check: categories of the letters listed, and subcategories of some categories."""

    letters: frozenset[str]
    categories: frozenset[str]
    subcategories: Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class InfectionRule:
    """A diagnosis or carrier state that bars work while active (C-30); no groups = every decreed group."""

    code: str
    kind: RuleKind
    names: Mapping[str, str]  # language -> name
    groups: tuple[str, ...] = ()


def normalize(code: str) -> str:
    """Return a code as ICD-10 writes it: upper case, without spaces (a15.0 -> A15.0)."""
    return code.strip().upper().replace(" ", "")


def category(code: str) -> str:
    """Return the three-character category of a code (A15.0 -> A15)."""
    return normalize(code)[:3]


def code_problem(code: str, known: Known) -> str | None:
    """Return why a diagnosis code is not acceptable (a msgid), or None when it is.

    The form is checked always; the category (and for some categories the subcategory) only for the letters
    whose list we hold, so a well-formed code of another chapter is accepted as it is.
    """
    value = normalize(code)
    if not ICD10.match(value):
        return REASON_FORM
    if value[0] not in known.letters and value[:3] not in known.subcategories:
        return None
    if value[0] in known.letters and value[:3] not in known.categories:
        return REASON_UNKNOWN
    subs = known.subcategories.get(value[:3])
    if subs is not None and "." in value and value[:5] not in subs:
        return REASON_UNKNOWN
    return None


def rule_code_problem(code: str, known: Known) -> str | None:
    """Return why a rule's code is not acceptable: a code (category or subcategory) or a range of categories."""
    value = normalize(code)
    found = RANGE.match(value)
    if found is None:
        return code_problem(value, known)
    first, last = found.groups()
    if first[0] != last[0] or first > last:
        return REASON_RANGE
    return code_problem(first, known) or code_problem(last, known)


def covers(rule_code: str, code: str) -> bool:
    """Tell whether a rule's code covers a diagnosis code: its category (A15 covers A15.0), a range of categories
    (B65-B83 covers B77.0) or a subcategory (Z22.1 covers Z22.1, not Z22.0)."""
    rule, value = normalize(rule_code), normalize(code)
    found = RANGE.match(rule)
    if found is not None:
        first, last = found.groups()
        return first <= value[:3] <= last
    if CATEGORY.match(rule):
        return value == rule or value.startswith(rule + ".")
    return value == rule or value.startswith(rule)


def barring(
    rules: Iterable[InfectionRule], code: str, status: ClinicalStatus | str | None, groups: Collection[str]
) -> InfectionRule | None:
    """Return the rule by which a diagnosis bars work now in any of the worker's decreed groups, or None.

    Only an active diagnosis bars work; a resolved one is history (C-30, C-31). A rule without groups bars
    every decreed group.
    """
    if status != ClinicalStatus.ACTIVE:
        return None
    for rule in rules:
        if covers(rule.code, code) and (not rule.groups or any(g in rule.groups for g in groups)):
            return rule
    return None


def first_barring(
    rules: Iterable[InfectionRule], codes: Iterable[str], status: ClinicalStatus | str | None, groups: Collection[str]
) -> tuple[str, InfectionRule] | None:
    """Return the first of a diagnosis entry's codes that bars work with its rule, or None."""
    listed = list(rules)
    for code in codes:
        rule = barring(listed, code, status, groups)
        if rule is not None:
            return code, rule
    return None


@dataclass(frozen=True)
class Diagnosis:
    """A current diagnosis entry of a book, as the clearance rule sees it; ``order`` is its place in the journal."""

    codes: tuple[str, ...]
    status: str | None
    performed_on: dt.date
    order: int


def _resolves(rule: InfectionRule, code: str, resolved: Diagnosis) -> bool:
    """Tell whether a resolved diagnosis ends an active one: the same code, or the same category when the rule
    bars a whole category or range (A15.0 resolved ends A15.1; Z22.0 resolved does not end Z22.1)."""
    by_category = CATEGORY.match(rule.code) is not None or RANGE.match(rule.code) is not None
    return any(c == code or (by_category and category(c) == category(code)) for c in resolved.codes)


def standing_bar(
    rules: Iterable[InfectionRule], found: Iterable[Diagnosis], groups: Collection[str]
) -> tuple[str, InfectionRule] | None:
    """Return the active diagnosis (code and rule) that bars work in any of the groups and that no later
    resolved diagnosis ended, or None: clearance may not be granted over it (C-30, C-31)."""
    listed, entries = list(rules), sorted(found, key=lambda d: (d.performed_on, d.order))
    for i, entry in enumerate(entries):
        hit = first_barring(listed, entry.codes, entry.status, groups)
        if hit is None:
            continue
        code, rule = hit
        later = entries[i + 1 :]
        if not any(d.status == ClinicalStatus.RESOLVED and _resolves(rule, code, d) for d in later):
            return hit
    return None
