"""Pure rules of the FHIR door: dates, results, codes, canonical bytes, and the packaged code map."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from emhana.fhir import canonical, mapping, systems
from emhana.fhir.outcome import prune
from emhana.medbook.rules import EntryKind, Result
from emhana.medbook.schemas import CODE


def test_icd10_falls_back_to_its_category() -> None:
    coded = mapping.Coded(systems.ICD10, "A15.0", "x")
    assert mapping.lookup_keys(coded) == [(systems.ICD10, "A15.0"), (systems.ICD10, "A15")]
    assert mapping.lookup_keys(mapping.Coded(systems.LOINC, "625-4", "x")) == [(systems.LOINC, "625-4")]


@pytest.mark.parametrize(
    ("resource", "day"),
    [
        ({"effectiveDateTime": "2026-03-02T09:00:00+05:00"}, dt.date(2026, 3, 2)),
        ({"effectivePeriod": {"start": "2026-03-01"}}, dt.date(2026, 3, 1)),
        ({"occurrenceDateTime": "2025-11-20"}, dt.date(2025, 11, 20)),
        ({"onsetDateTime": "2019-05"}, None),  # a month alone does not date an examination
        ({"issued": "2026-03-05T10:00:00Z"}, dt.date(2026, 3, 5)),
        ({}, None),
    ],
)
def test_performed_on(resource: dict[str, object], day: dt.date | None) -> None:
    assert mapping.performed_on(resource) == day


@pytest.mark.parametrize(
    ("resource", "result"),
    [
        (
            {
                "resourceType": "Observation",
                "interpretation": [{"coding": [{"system": systems.INTERPRETATION, "code": "POS"}]}],
            },
            Result.POSITIVE,
        ),
        (
            {
                "resourceType": "Observation",
                "valueCodeableConcept": {"coding": [{"system": systems.SNOMED, "code": "260385009"}]},
            },
            Result.NEGATIVE,
        ),
        ({"resourceType": "Observation", "interpretation": [{"coding": [{"system": "urn:x", "code": "POS"}]}]}, None),
        (
            {
                "resourceType": "DiagnosticReport",
                "conclusionCode": [{"coding": [{"system": systems.SNOMED, "code": "263654008"}]}],
            },
            Result.ABNORMAL,
        ),
        ({"resourceType": "Immunization"}, None),
    ],
)
def test_result_of(resource: dict[str, object], result: Result | None) -> None:
    assert mapping.result_of(resource) == result


def test_the_packaged_map_names_known_kinds_and_valid_item_codes() -> None:
    import re

    rows = mapping.default_rows()
    assert len({(r["system"], r["code"], r["resource_type"]) for r in rows}) == len(rows)
    for r in rows:
        assert EntryKind(r["kind"]) and re.match(CODE, r["item_code"]), r
        assert r["resource_type"] in mapping.CLINICAL_TYPES


def test_signed_bytes_are_rfc8785_of_the_clinical_resources_only() -> None:
    entries: list[dict[str, Any]] = [
        {"resource": {"resourceType": "Observation", "b": 5.40, "a": "ә"}},
        {"resource": {"resourceType": "Provenance", "signature": []}},
    ]
    assert canonical.signed_bytes(entries) == '[{"a":"ә","b":5.4,"resourceType":"Observation"}]'.encode()


def test_prune_drops_empty_elements() -> None:
    assert prune({"a": "", "b": [], "c": {"d": ""}, "e": 0, "f": [{"g": ""}, "h"]}) == {"e": 0, "f": ["h"]}
