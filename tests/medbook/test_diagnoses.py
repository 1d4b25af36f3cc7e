"""The pure rules of diagnoses (C-12, C-30): the form of an ICD-10 code and its category, which rule covers a
code, and whether an active diagnosis bars work in a worker's decreed groups (a resolved one never does)."""

from __future__ import annotations

import datetime as dt

import pytest

from emhana.medbook import diagnoses as d
from emhana.medbook.diagnoses import ClinicalStatus, Diagnosis, InfectionRule, RuleKind
from emhana.medbook.infections import default_rule_rows, known_codes

KNOWN = d.Known(
    letters=frozenset({"A", "B"}),
    categories=frozenset({"A00", "A15", "A16", "B65", "B77", "B83", "B86"}),
    subcategories={"Z22": frozenset({"Z22.0", "Z22.1", "Z22.3"})},
)
TB = InfectionRule("A15", RuleKind.DIAGNOSIS, {"en": "Respiratory tuberculosis"})
WORMS = InfectionRule("B65-B83", RuleKind.DIAGNOSIS, {"en": "Helminthiases"})
TYPHOID_CARRIER = InfectionRule("Z22.0", RuleKind.CARRIER, {"en": "Carrier of typhoid"})
STAPH = InfectionRule("Z22.3", RuleKind.CARRIER, {"en": "Carrier of staphylococci"}, groups=("catering", "children"))
RULES = [TB, WORMS, TYPHOID_CARRIER, STAPH]


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("A15.0", None),
        ("a15.0", None),  # written in lower case: read as ICD-10 writes it
        ("A15", None),
        ("Z22.1", None),
        ("J45.9", None),  # another chapter: its form only is checked
        ("K35.30", None),  # a national extension's two digits
        ("A15.", d.REASON_FORM),
        ("A1", d.REASON_FORM),
        ("15.0", d.REASON_FORM),
        ("A15.0.1", d.REASON_FORM),
        ("AA15", d.REASON_FORM),
        ("", d.REASON_FORM),
        ("A45", d.REASON_UNKNOWN),  # ICD-10 has no A45
        ("B99.1", d.REASON_UNKNOWN),  # not in this test's short list
        ("Z22.7", d.REASON_UNKNOWN),
    ],
)
def test_the_form_and_category_of_a_code(code: str, problem: str | None) -> None:
    assert d.code_problem(code, KNOWN) == problem


def test_the_packaged_icd10_list_holds_chapter_one_and_its_gaps() -> None:
    known = known_codes()
    for code in ("A00", "A09", "A15", "A19", "A36", "A54", "B15", "B35", "B65", "B83", "B86", "B99", "Z22.1"):
        assert d.code_problem(code, known) is None, code
    for code in ("A10", "A45", "A47", "A61", "A72", "A76", "B28", "B62", "B84", "B93", "Z22.X"):
        assert d.code_problem(code, known) is not None, code
    # every packaged rule's code is itself acceptable
    assert all(d.rule_code_problem(row["code"], known) is None for row in default_rule_rows())


def test_rule_codes_are_codes_or_ranges_of_one_letter() -> None:
    assert d.rule_code_problem("B65-B83", KNOWN) is None
    assert d.rule_code_problem("B83-B65", KNOWN) == d.REASON_RANGE
    assert d.rule_code_problem("A15-B83", KNOWN) == d.REASON_RANGE
    assert d.rule_code_problem("B65-B84", KNOWN) == d.REASON_UNKNOWN


@pytest.mark.parametrize(
    ("rule", "code", "covered"),
    [
        ("A15", "A15.0", True),
        ("A15", "A15", True),
        ("A15", "A16.0", False),
        ("A15", "A150", False),
        ("B65-B83", "B77.0", True),
        ("B65-B83", "B65", True),
        ("B65-B83", "B83.9", True),
        ("B65-B83", "B85.0", False),
        ("Z22.0", "Z22.0", True),
        ("Z22.0", "Z22.1", False),
        ("Z22.0", "Z22", False),  # a category does not name the carrier state
    ],
)
def test_a_rule_covers_its_category_range_or_subcategory(rule: str, code: str, covered: bool) -> None:
    assert d.covers(rule, code) is covered


def test_an_active_diagnosis_bars_work_and_a_resolved_one_is_history() -> None:
    assert d.barring(RULES, "A15.0", ClinicalStatus.ACTIVE, {"catering"}) == TB
    assert d.barring(RULES, "A15.0", "active", {"water"}) == TB  # no groups: every decreed group
    assert d.barring(RULES, "A15.0", ClinicalStatus.RESOLVED, {"catering"}) is None
    assert d.barring(RULES, "A15.0", None, {"catering"}) is None
    assert d.barring(RULES, "J45.9", ClinicalStatus.ACTIVE, {"catering"}) is None  # no rule: asthma


def test_a_rule_with_groups_bars_only_those_groups() -> None:
    assert d.barring(RULES, "Z22.3", ClinicalStatus.ACTIVE, {"catering"}) == STAPH
    assert d.barring(RULES, "Z22.3", ClinicalStatus.ACTIVE, {"water", "children"}) == STAPH  # a second job
    assert d.barring(RULES, "Z22.3", ClinicalStatus.ACTIVE, {"water"}) is None
    assert d.first_barring(RULES, ["J45", "B77.0"], ClinicalStatus.ACTIVE, {"water"}) == ("B77.0", WORMS)


def _dx(codes: tuple[str, ...], status: str, day: int, order: int) -> Diagnosis:
    return Diagnosis(codes=codes, status=status, performed_on=dt.date(2026, 3, day), order=order)


def test_clearance_stays_barred_until_a_later_resolved_diagnosis_ends_it() -> None:
    active = _dx(("A15.0",), "active", 2, 1)
    assert d.standing_bar(RULES, [active], {"catering"}) == ("A15.0", TB)
    assert d.standing_bar(RULES, [active, _dx(("A15.1",), "resolved", 9, 2)], {"catering"}) is None  # same category
    assert d.standing_bar(RULES, [_dx(("A15.0",), "resolved", 1, 0), active], {"catering"}) == ("A15.0", TB)  # before
    assert d.standing_bar(RULES, [active, _dx(("A16.0",), "resolved", 9, 2)], {"catering"}) == ("A15.0", TB)
    # a carrier state is ended by the same subcategory only
    carrier = _dx(("Z22.0",), "active", 2, 1)
    assert d.standing_bar(RULES, [carrier, _dx(("Z22.1",), "resolved", 9, 2)], {"catering"}) == (
        "Z22.0",
        TYPHOID_CARRIER,
    )
    assert d.standing_bar(RULES, [carrier, _dx(("Z22.0",), "resolved", 9, 2)], {"catering"}) is None
    assert d.standing_bar(RULES, [_dx(("A15.0",), "resolved", 2, 1)], {"catering"}) is None
