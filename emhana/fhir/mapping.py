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
from emhana.kernel.clock import kz_date
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
    """Return the day in Kazakhstan of a FHIR date or dateTime: an instant keeps its instant (``…T20:30:00Z`` is
    the next day at UTC+5), a date alone is that day."""
    if not isinstance(value, str) or len(value) < 10:
        return None  # FHIR allows a year or a month alone; an examination needs its day
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # FHIR requires a zone with a time; one without is read as Kazakhstan's time
    return kz_date(moment) if moment.tzinfo is not None else moment.date()


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


def _quantity(quantity: Any) -> str:
    if not isinstance(quantity, Mapping) or "value" not in quantity:
        return ""
    unit = quantity.get("unit") or quantity.get("code") or ""
    return f"{quantity.get('comparator', '')}{quantity['value']} {unit}".strip()


def _concept_text(concept: Any) -> str:
    if not isinstance(concept, Mapping):
        return ""
    if isinstance(concept.get("text"), str):
        return str(concept["text"])
    shown = [str(c["display"]) for c in concept.get("coding") or [] if isinstance(c, Mapping) and c.get("display")]
    return ", ".join(shown)


def value_text(resource: Mapping[str, Any]) -> str:
    """Return an Observation's value as text (value[x]: string, quantity, number, boolean, concept, range, ratio,
    time, dateTime, period), or a DiagnosticReport's conclusion; empty when it has none."""
    parts: list[str] = []
    for name in ("valueString", "valueTime", "valueDateTime", "conclusion"):
        if isinstance(resource.get(name), str) and resource[name].strip():
            parts.append(resource[name])
    if isinstance(resource.get("valueInteger"), int | float) and not isinstance(resource.get("valueInteger"), bool):
        parts.append(str(resource["valueInteger"]))
    if isinstance(resource.get("valueBoolean"), bool):
        parts.append("true" if resource["valueBoolean"] else "false")
    parts.append(_quantity(resource.get("valueQuantity")))
    parts.append(_concept_text(resource.get("valueCodeableConcept")))
    value_range = resource.get("valueRange")
    if isinstance(value_range, Mapping):
        parts.append(
            " - ".join(p for p in (_quantity(value_range.get("low")), _quantity(value_range.get("high"))) if p)
        )
    ratio = resource.get("valueRatio")
    if isinstance(ratio, Mapping):
        parts.append("/".join(p for p in (_quantity(ratio.get("numerator")), _quantity(ratio.get("denominator"))) if p))
    period = resource.get("valuePeriod")
    if isinstance(period, Mapping):
        parts.append(" - ".join(str(period[k]) for k in ("start", "end") if isinstance(period.get(k), str)))
    return "; ".join(p for p in parts if p)


def has_value(resource: Mapping[str, Any]) -> bool:
    """Tell whether a result resource says something: a result we read (interpretation, coded value or
    conclusion code) or a value (``value_text``). An Observation or a report without one is no result."""
    return result_of(resource) is not None or bool(value_text(resource))


def _text(resource: Mapping[str, Any]) -> str:
    parts: list[str] = []
    if value := value_text(resource):
        parts.append(value)
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
