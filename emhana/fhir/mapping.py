"""Pure rules that turn a validated clinical resource (plain JSON) into the facts of a journal entry.

The code-to-item table itself is data (``fhir_code_map``, seeded from ``data/code_map.csv`` by migration
0010 and edited by the Fund through the API); these functions only read the resource (C-12, C-13).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emhana.fhir import systems
from emhana.medbook.rules import Result

CLINICAL_TYPES = ("Observation", "DiagnosticReport", "Immunization", "Condition")
CODE_FIELD = {"Observation": "code", "DiagnosticReport": "code", "Immunization": "vaccineCode", "Condition": "code"}
DATA = Path(__file__).parent / "data" / "code_map.csv"

_INTERPRETATION = {
    "POS": Result.POSITIVE,
    "DET": Result.POSITIVE,
    "NEG": Result.NEGATIVE,
    "ND": Result.NEGATIVE,
    "N": Result.NORMAL,
    "A": Result.ABNORMAL,
    "AA": Result.ABNORMAL,
    "H": Result.ABNORMAL,
    "HH": Result.ABNORMAL,
    "L": Result.ABNORMAL,
    "LL": Result.ABNORMAL,
}
_SNOMED = {
    "10828004": Result.POSITIVE,
    "260373001": Result.POSITIVE,
    "260385009": Result.NEGATIVE,
    "260415000": Result.NEGATIVE,
    "17621005": Result.NORMAL,
    "263654008": Result.ABNORMAL,
}
_LOCAL = {r.value: r for r in Result}


@dataclass(frozen=True)
class Coded:
    """A (system, code) pair of a resource and where it stands (FHIRPath)."""

    system: str
    code: str
    expression: str


@dataclass(frozen=True)
class Facts:
    """What a journal entry needs from a resource besides the mapped kind and item."""

    performed_on: dt.date | None
    result: Result | None
    result_text: str
    codes: tuple[str, ...]


def default_rows() -> list[dict[str, str]]:
    """Return the packaged code map (``data/code_map.csv``) as table rows."""
    with DATA.open(encoding="utf-8", newline="") as fh:
        return [dict(row) for row in csv.DictReader(fh)]


def codings(resource: Mapping[str, Any], path: str) -> Iterator[Coded]:
    """Yield the codings of the resource's mapped concept in order, each with its FHIRPath location."""
    rtype = str(resource.get("resourceType", ""))
    name = CODE_FIELD.get(rtype)
    if name is None:
        return
    concept = resource.get(name) or {}
    for i, coding in enumerate(concept.get("coding") or []):
        if coding.get("system") and coding.get("code"):
            yield Coded(str(coding["system"]), str(coding["code"]), f"{path}.{name}.coding[{i}]")


def lookup_keys(coded: Coded) -> list[tuple[str, str]]:
    """Return the (system, code) keys to try for a coding: ICD-10 falls back to its category (A15.0 -> A15)."""
    keys = [(coded.system, coded.code)]
    if coded.system == systems.ICD10 and "." in coded.code:
        keys.append((coded.system, coded.code.split(".", 1)[0]))
    return keys


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None  # FHIR allows a year or a month alone; an examination needs its day
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def performed_on(resource: Mapping[str, Any]) -> dt.date | None:
    """Return the day the examination, test, vaccination or diagnosis took place."""
    for name in ("effectiveDateTime", "occurrenceDateTime", "onsetDateTime", "effectiveInstant"):
        if name in resource:
            return _date(resource[name])
    for name in ("effectivePeriod", "onsetPeriod"):
        if name in resource:
            return _date((resource[name] or {}).get("start"))
    for name in ("recordedDate", "issued"):
        if name in resource:
            return _date(resource[name])
    return None


def _from_concepts(concepts: list[Mapping[str, Any]]) -> Result | None:
    for concept in concepts:
        for coding in concept.get("coding") or []:
            system, code = coding.get("system"), str(coding.get("code", ""))
            if system == systems.INTERPRETATION and code in _INTERPRETATION:
                return _INTERPRETATION[code]
            if system == systems.SNOMED and code in _SNOMED:
                return _SNOMED[code]
            if system == systems.ITEM and code in _LOCAL:
                return _LOCAL[code]
    return None


def result_of(resource: Mapping[str, Any]) -> Result | None:
    """Return the result of an Observation (interpretation or coded value) or a DiagnosticReport (conclusion)."""
    rtype = resource.get("resourceType")
    if rtype == "Observation":
        found = _from_concepts(list(resource.get("interpretation") or []))
        if found is None and "valueCodeableConcept" in resource:
            found = _from_concepts([resource["valueCodeableConcept"]])
        return found
    if rtype == "DiagnosticReport":
        return _from_concepts(list(resource.get("conclusionCode") or []))
    return None


def _text(resource: Mapping[str, Any]) -> str:
    parts: list[str] = []
    if isinstance(resource.get("valueString"), str):
        parts.append(resource["valueString"])
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, Mapping) and "value" in quantity:
        parts.append(f"{quantity['value']} {quantity.get('unit') or quantity.get('code') or ''}".strip())
    if isinstance(resource.get("conclusion"), str):
        parts.append(resource["conclusion"])
    name = CODE_FIELD.get(str(resource.get("resourceType", "")), "")
    concept = resource.get(name) or {}
    if not parts and isinstance(concept.get("text"), str):
        parts.append(concept["text"])
    for note in resource.get("note") or []:
        if isinstance(note.get("text"), str):
            parts.append(note["text"])
    return "; ".join(parts)[:2000]


def facts(resource: Mapping[str, Any], path: str) -> Facts:
    """Return the date, result, text and codes of a clinical resource."""
    codes = tuple(dict.fromkeys(c.code for c in codings(resource, path)))[:10]
    return Facts(
        performed_on=performed_on(resource),
        result=result_of(resource),
        result_text=_text(resource),
        codes=tuple(c[:40] for c in codes),
    )


CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
# FHIR's clinical statuses of a Condition as a journal's diagnosis sees them (C-30): active ones may bar work.
_CLINICAL = {
    "active": "active",
    "recurrence": "active",
    "relapse": "active",
    "inactive": "resolved",
    "remission": "resolved",
    "resolved": "resolved",
}
NOT_A_DIAGNOSIS = frozenset({"refuted", "entered-in-error"})


def _status_codes(concept: Any, system: str) -> list[str]:
    if not isinstance(concept, Mapping):
        return []
    return [
        str(c.get("code", ""))
        for c in concept.get("coding") or []
        if isinstance(c, Mapping) and c.get("system", system) == system
    ]


def clinical_status(resource: Mapping[str, Any]) -> str | None:
    """Return a Condition's clinical status as the journal records it (active or resolved), or None when it
    has none we know (active, recurrence, relapse -> active; inactive, remission, resolved -> resolved)."""
    for code in _status_codes(resource.get("clinicalStatus"), CONDITION_CLINICAL):
        if code in _CLINICAL:
            return _CLINICAL[code]
    return None


def refuted(resource: Mapping[str, Any]) -> str | None:
    """Return a Condition's verification status when it says the condition is not there (refuted,
    entered-in-error), else None."""
    return next(
        (c for c in _status_codes(resource.get("verificationStatus"), CONDITION_VERIFICATION) if c in NOT_A_DIAGNOSIS),
        None,
    )


def icd10_codes(resource: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """Return the ICD-10 codes of a resource's coded concept, in order, without repeats."""
    return tuple(dict.fromkeys(c.code[:40] for c in codings(resource, path) if c.system == systems.ICD10))[:10]
