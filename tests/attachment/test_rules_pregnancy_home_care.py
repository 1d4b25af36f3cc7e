"""A-23 (M, pregnant women by actual residence) and A-26 (M, home visits outside the service zone) as pure
table tests, named by rule ID."""

from __future__ import annotations

import dataclasses

import pytest

from emhana.attachment.enums import AtuLevel, Outcome, PlaceBasis, Review
from emhana.attachment.rules import ApplicationFacts, care_at_home, check_basis, evaluate, outside_zone
from tests.builders.attachment_facts import ID_CARD, POLICY, REP_ID, TARGET, D, facts, person, policy

ACTUAL = PlaceBasis.ACTUAL_RESIDENCE
CHILD_OF_4: dict[str, object] = {"person": person(D(2021, 9, 11)), "by_self": False, "representative_valid": True}
OTHER_ATU: dict[str, object] = {
    "address_kato": "351000000",
    "target": dataclasses.replace(TARGET, site_kato="353200000"),
}


def outcome(f: ApplicationFacts) -> tuple[str, tuple[Review, ...]]:
    d = evaluate(f)
    return (d.reason_code or "?") if d.outcome is Outcome.REFUSE else d.outcome.value, d.review


BASIS_CASES = [
    # (rule, policy, basis, age, pregnant, refused?)
    ("A-23 pregnant woman by actual residence", POLICY, ACTUAL, 30, True, False),
    ("A-23 woman not declared pregnant", POLICY, ACTUAL, 30, False, True),
    ("A-23 pregnant flag switched off", policy(pregnant_actual_residence=False), ACTUAL, 30, True, True),
    ("A-23 pregnant minor (through a representative)", POLICY, ACTUAL, 16, True, False),
    ("A-23 child of 4, no pregnancy needed", POLICY, ACTUAL, 4, False, False),
    (
        "A-23 the pregnancy flag does not touch other bases",
        policy(pregnant_actual_residence=False),
        PlaceBasis.RESIDENCE_PERMANENT,
        30,
        True,
        False,
    ),
    (
        "A-23 children switched off, pregnancy still admits",
        policy(children_under_5_actual_residence=False),
        ACTUAL,
        30,
        True,
        False,
    ),
]


@pytest.mark.parametrize(
    ("rule", "pol", "basis", "age", "pregnant", "refused"), BASIS_CASES, ids=[c[0] for c in BASIS_CASES]
)
def test_a23_basis(rule: str, pol: object, basis: PlaceBasis, age: int, pregnant: bool, refused: bool) -> None:
    assert isinstance(pol, type(POLICY))
    error = check_basis(pol, basis, age, pregnant)
    assert (error is not None) is refused, rule
    if refused:
        assert error is not None and error.code == "attachment.basis_not_allowed"


EVAL_CASES = [
    (
        "A-23 declared pregnancy by actual residence waits for a registrar",
        facts(basis=ACTUAL, pregnant=True),
        ("needs_registrar", (Review.PREGNANCY,)),
    ),
    (
        "A-23 once reviewed it is approved",
        facts(basis=ACTUAL, pregnant=True, reviewed=True),
        ("approve", (Review.PREGNANCY,)),
    ),
    (
        "A-23 actual residence without a declared pregnancy is refused",
        facts(basis=ACTUAL),
        ("attachment.basis_not_allowed", ()),
    ),
    (
        "A-23 pregnant women switched off by the policy",
        facts(basis=ACTUAL, pregnant=True, policy=policy(pregnant_actual_residence=False)),
        ("attachment.basis_not_allowed", ()),
    ),
    ("A-23 a declared pregnancy with the permanent address needs no review", facts(pregnant=True), ("approve", ())),
    (
        "A-23 a child of 4 by actual residence needs no pregnancy review",
        facts(basis=ACTUAL, **CHILD_OF_4, documents=(ID_CARD, REP_ID)),
        ("approve", ()),
    ),
    (
        "A-23 with A-22: a pregnant woman in a border territory gets both reviews",
        facts(basis=ACTUAL, pregnant=True, border_claim=True, **OTHER_ATU),
        ("needs_registrar", (Review.BORDER, Review.PREGNANCY)),
    ),
]


@pytest.mark.parametrize(("rule", "f", "expected"), EVAL_CASES, ids=[c[0] for c in EVAL_CASES])
def test_a23_evaluate(rule: str, f: ApplicationFacts, expected: tuple[str, tuple[Review, ...]]) -> None:
    assert outcome(f) == expected, rule


ZONE_CASES = [
    ("A-26 same district: inside", "711410000", "711210000", AtuLevel.DISTRICT, False),  # Astana is one ATU
    ("A-26 another district: outside", "351000000", "353200000", AtuLevel.DISTRICT, True),
    ("A-26 oblast-level ATU: inside", "351000000", "353200000", AtuLevel.OBLAST, False),
    ("A-26 no address: not decided outside", None, "353200000", AtuLevel.DISTRICT, False),
]


@pytest.mark.parametrize(("rule", "address", "site", "level", "outside"), ZONE_CASES, ids=[c[0] for c in ZONE_CASES])
def test_a26_outside_zone(rule: str, address: str | None, site: str, level: AtuLevel, outside: bool) -> None:
    assert outside_zone(policy(atu_level=level), address_kato=address, site_kato=site) is outside, rule


def test_a26_decision_tells_outside_zone() -> None:
    reviewed = facts(border_claim=True, reviewed=True, **OTHER_ATU)
    assert evaluate(reviewed).outcome is Outcome.APPROVE and evaluate(reviewed).outside_zone
    assert not evaluate(facts()).outside_zone


CARE_CASES = [
    # (rule, applicant may choose, outside, requested, recorded by the registrar, expected)
    ("A-26 inside the zone: not applicable", True, False, True, True, None),
    ("A-26 registrar agrees", False, True, None, True, True),
    ("A-26 registrar refuses although asked", True, True, True, False, False),
    ("A-26 applicant's choice where the policy allows", True, True, True, None, True),
    ("A-26 applicant's choice ignored where the policy does not allow", False, True, True, None, False),
    ("A-26 nothing asked, nothing recorded: no", True, True, None, None, False),
]


@pytest.mark.parametrize(
    ("rule", "by_applicant", "outside", "requested", "recorded", "expected"), CARE_CASES, ids=[c[0] for c in CARE_CASES]
)
def test_a26_care_at_home(
    rule: str, by_applicant: bool, outside: bool, requested: bool | None, recorded: bool | None, expected: bool | None
) -> None:
    pol = policy(care_at_home_by_applicant=by_applicant)
    assert care_at_home(pol, outside=outside, requested=requested, recorded=recorded) is expected, rule
