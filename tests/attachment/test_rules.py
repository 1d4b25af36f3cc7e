"""Each attachment rule as a pure table test, named by its rule ID (docs/domain.md §1)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from emhana.attachment.capitation import parse_bands
from emhana.attachment.enums import AtuLevel, Cause, ChangeReason, Channel, Holder, Outcome, PlaceBasis, Review
from emhana.attachment.rules import (
    ApplicationFacts,
    DocumentFacts,
    age_on,
    begin_date,
    evaluate,
    same_atu,
    years_before,
)
from tests.builders.attachment_facts import (
    CURRENT,
    ID_CARD,
    IN_WINDOW,
    OUT_OF_WINDOW,
    POLICY,
    REP_ID,
    TARGET,
    D,
    facts,
    person,
    policy,
)


def code(f: ApplicationFacts) -> str | None:
    decision = evaluate(f)
    return decision.reason_code if decision.outcome is Outcome.REFUSE else decision.outcome.value


CASES: list[tuple[str, ApplicationFacts, str | None]] = [
    ("baseline: a voluntary change in the window", facts(), "approve"),
    #
    ("A-92 dead person", facts(person=person(D(1950, 1, 1), death_date=D(2025, 9, 1))), "attachment.person_dead"),
    ("A-92 death recorded after today", facts(person=person(D(1950, 1, 1), death_date=D(2025, 9, 11))), "approve"),
    #
    ("A-24 minor applies alone", facts(person=person(D(2010, 1, 1))), "attachment.representative_required"),
    (
        "A-24 minor through a valid representative",
        facts(person=person(D(2010, 1, 1)), by_self=False, representative_valid=True, documents=(ID_CARD, REP_ID)),
        "approve",
    ),
    ("A-24 adult turned 18 today applies alone", facts(person=person(D(2007, 9, 10))), "approve"),
    (
        "A-65 someone who is not a representative",
        facts(by_self=False, representative_valid=False, documents=(ID_CARD, REP_ID)),
        "attachment.representative_required",
    ),
    #
    ("A-60 no identity document", facts(documents=()), "attachment.document_required"),
    (
        "A-60 only a pension certificate",
        facts(documents=(DocumentFacts("pension_certificate", Holder.PERSON, None),)),
        "attachment.document_required",
    ),
    (
        "A-60 expired document presented in person",
        facts(channel=Channel.IN_PERSON, documents=(ID_CARD, DocumentFacts("passport", Holder.PERSON, D(2025, 1, 1)))),
        "attachment.document_expired",
    ),
    (
        "A-60 eGov: an old expired record beside a valid one",
        facts(documents=(ID_CARD, DocumentFacts("passport", Holder.PERSON, D(2025, 1, 1)))),
        "approve",
    ),
    (
        "A-60 eGov: every record expired",
        facts(documents=(DocumentFacts("id_card", Holder.PERSON, D(2025, 9, 9)),)),
        "attachment.document_expired",
    ),
    (
        "A-60 document expiring today is still valid",
        facts(documents=(DocumentFacts("id_card", Holder.PERSON, IN_WINDOW),)),
        "approve",
    ),
    (
        "A-65 representative without own document",
        facts(person=person(D(2022, 1, 1)), by_self=False, representative_valid=True, documents=(ID_CARD,)),
        "attachment.document_required",
    ),
    #
    (
        "A-14 EAEU migrant without insurance",
        facts(person=person(D(1990, 1, 1), category="eaeu_migrant")),
        "attachment.insurance_required",
    ),
    (
        "A-14 EAEU migrant with an expired contract",
        facts(
            person=person(D(1990, 1, 1), category="eaeu_migrant"),
            documents=(ID_CARD, DocumentFacts("insurance_contract", Holder.PERSON, D(2025, 8, 31))),
        ),
        "attachment.insurance_required",
    ),
    (
        "A-14 EAEU migrant with a valid contract",
        facts(
            person=person(D(1990, 1, 1), category="eaeu_migrant"),
            documents=(ID_CARD, DocumentFacts("insurance_contract", Holder.PERSON, D(2026, 6, 30))),
        ),
        "approve",
    ),
    (
        "A-15 temporary foreigner without insurance",
        facts(person=person(D(1990, 1, 1), category="temporary_foreigner")),
        "attachment.insurance_required",
    ),
    # A-04, B-06
    (
        "A-04 entity not in the database",
        facts(target=dataclasses.replace(TARGET, entity_participating=False)),
        "attachment.entity_not_participating",
    ),
    (
        "B-06 entity's Fund contract ended",
        facts(target=dataclasses.replace(TARGET, contract_to=D(2025, 6, 30))),
        "attachment.entity_not_participating",
    ),
    #
    (
        "A-01 already attached to this district",
        facts(current=dataclasses.replace(CURRENT, district_id=7)),
        "attachment.already_attached",
    ),
    #
    ("A-32 voluntary change after the window", facts(day=OUT_OF_WINDOW), "attachment.campaign_closed"),
    ("A-32 the window's last day counts", facts(day=D(2025, 11, 1)), "approve"),
    ("A-32 the day before the window", facts(day=D(2025, 8, 31)), "attachment.campaign_closed"),
    ("A-33 year-round policy", facts(day=OUT_OF_WINDOW, policy=policy(year_round=True)), "approve"),
    ("first attachment outside the window (L, on)", facts(day=OUT_OF_WINDOW, current=None), "approve"),
    (
        "first attachment outside the window (L, off)",
        facts(day=OUT_OF_WINDOW, current=None, policy=policy(first_attachment_any_time=False)),
        "attachment.campaign_closed",
    ),
    (
        "A-42 closure of the current organization",
        facts(
            day=OUT_OF_WINDOW,
            reason=ChangeReason.CLOSURE,
            current=dataclasses.replace(CURRENT, entity_participating=False),
        ),
        "approve",
    ),
    (
        "A-42 closure claimed but the organization takes part",
        facts(day=OUT_OF_WINDOW, reason=ChangeReason.CLOSURE),
        "attachment.reason_not_valid",
    ),
    (
        "A-42 relocation goes to a registrar",
        facts(day=OUT_OF_WINDOW, reason=ChangeReason.RELOCATION),
        "needs_registrar",
    ),
    (
        "A-42 relocation verified by a registrar",
        facts(day=OUT_OF_WINDOW, reason=ChangeReason.RELOCATION, reviewed=True),
        "approve",
    ),
    #
    ("A-21 work basis allowed", facts(basis=PlaceBasis.WORK), "approve"),
    (
        "A-21 work basis switched off",
        facts(basis=PlaceBasis.WORK, policy=policy(allow_work_basis=False)),
        "attachment.basis_not_allowed",
    ),
    ("A-24 study basis for an 18-year-old", facts(basis=PlaceBasis.STUDY, person=person(D(2007, 1, 1))), "approve"),
    (
        "A-24 study basis under 18",
        facts(
            basis=PlaceBasis.STUDY,
            person=person(D(2008, 1, 1)),
            by_self=False,
            representative_valid=True,
            documents=(ID_CARD, REP_ID),
        ),
        "attachment.basis_not_allowed",
    ),
    (
        "A-23 actual residence for a child of 4",
        facts(
            basis=PlaceBasis.ACTUAL_RESIDENCE,
            person=person(D(2021, 9, 11)),
            by_self=False,
            representative_valid=True,
            documents=(ID_CARD, REP_ID),
        ),
        "approve",
    ),
    (
        "A-23 actual residence for a child of 5",
        facts(
            basis=PlaceBasis.ACTUAL_RESIDENCE,
            person=person(D(2020, 9, 10)),
            by_self=False,
            representative_valid=True,
            documents=(ID_CARD, REP_ID),
        ),
        "attachment.basis_not_allowed",
    ),
    (
        "A-23 switched off",
        facts(
            basis=PlaceBasis.ACTUAL_RESIDENCE,
            person=person(D(2023, 1, 1)),
            by_self=False,
            representative_valid=True,
            documents=(ID_CARD, REP_ID),
            policy=policy(children_under_5_actual_residence=False),
        ),
        "attachment.basis_not_allowed",
    ),
    #
    ("A-20 no address of the chosen basis", facts(address_kato=None), "attachment.address_missing"),
    (
        "A-20 another ATU",
        facts(address_kato="351000000", target=dataclasses.replace(TARGET, site_kato="353200000")),
        "attachment.atu_mismatch",
    ),
    (
        "A-20 oblast-level ATU (configuration)",
        facts(
            address_kato="351000000",
            target=dataclasses.replace(TARGET, site_kato="353200000"),
            policy=policy(atu_level=AtuLevel.OBLAST),
        ),
        "approve",
    ),
    (
        "A-22 border territory goes to a registrar",
        facts(address_kato="351000000", target=dataclasses.replace(TARGET, site_kato="353200000"), border_claim=True),
        "needs_registrar",
    ),
    (
        "A-22 border exception switched off",
        facts(
            address_kato="351000000",
            target=dataclasses.replace(TARGET, site_kato="353200000"),
            border_claim=True,
            policy=policy(border_exception=False),
        ),
        "attachment.atu_mismatch",
    ),
    #
    (
        "A-81 child to a therapist district",
        facts(
            person=person(D(2015, 1, 1)),
            by_self=False,
            representative_valid=True,
            documents=(ID_CARD, REP_ID),
            target=dataclasses.replace(TARGET, profile="therapist"),
        ),
        "attachment.profile_mismatch",
    ),
    (
        "A-81 adult to a pediatric district",
        facts(target=dataclasses.replace(TARGET, profile="pediatric")),
        "attachment.profile_mismatch",
    ),
    #
    ("A-41 one change a year, one used", facts(voluntary_changes_this_year=1), "attachment.change_limit"),
    (
        "A-41 two changes a year, one used",
        facts(voluntary_changes_this_year=1, policy=policy(max_voluntary_changes_per_year=2)),
        "approve",
    ),
    (
        "A-41 A-42 changes do not count",
        facts(
            voluntary_changes_this_year=5,
            day=OUT_OF_WINDOW,
            reason=ChangeReason.CLOSURE,
            current=dataclasses.replace(CURRENT, entity_participating=False),
        ),
        "approve",
    ),
    #
    ("A-80 no free place", facts(target=dataclasses.replace(TARGET, attached=10)), "attachment.capacity_exceeded"),
    (
        "A-71 capacity rule switched off",
        facts(target=dataclasses.replace(TARGET, attached=10), policy=policy(capacity_check=False)),
        "approve",
    ),
    #
    ("A-51 written application goes to a registrar", facts(channel=Channel.WRITTEN), "needs_registrar"),
    # Order: the first failing rule in the documented order decides.
    (
        "order: dead beats expired document and closed window",
        facts(day=OUT_OF_WINDOW, person=person(D(1950, 1, 1), death_date=D(2025, 1, 1)), documents=()),
        "attachment.person_dead",
    ),
]


@pytest.mark.parametrize(("case", "f", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule(case: str, f: ApplicationFacts, expected: str) -> None:
    assert code(f) == expected, case


def test_a05_voluntary_change_takes_effect_on_1_january() -> None:
    decision = evaluate(facts())
    assert decision.cause is Cause.VOLUNTARY_CHANGE and decision.begin_date == D(2026, 1, 1)
    assert begin_date(POLICY, Cause.VOLUNTARY_CHANGE, D(2026, 1, 5)) == D(2026, 1, 6)


def test_other_attachments_begin_tomorrow_so_no_past_day_changes() -> None:
    first = evaluate(facts(current=None, day=OUT_OF_WINDOW))
    assert first.cause is Cause.FIRST_ATTACHMENT and first.begin_date == OUT_OF_WINDOW + dt.timedelta(days=1)
    year_round = evaluate(facts(day=OUT_OF_WINDOW, policy=policy(year_round=True)))
    assert year_round.cause is Cause.VOLUNTARY_CHANGE and year_round.begin_date == D(2025, 12, 11)


def test_a14_migrant_is_attached_for_the_contract_term() -> None:
    decision = evaluate(
        facts(
            person=person(D(1990, 1, 1), category="eaeu_migrant"),
            documents=(ID_CARD, DocumentFacts("insurance_contract", Holder.PERSON, D(2026, 6, 30))),
        )
    )
    assert decision.insured_until == D(2026, 6, 30)
    assert evaluate(facts()).insured_until is None


def test_review_items_are_listed() -> None:
    decision = evaluate(
        facts(
            channel=Channel.WRITTEN,
            address_kato="351000000",
            border_claim=True,
            target=dataclasses.replace(TARGET, site_kato="353200000"),
        )
    )
    assert decision.outcome is Outcome.NEEDS_REGISTRAR
    assert decision.review == (Review.BORDER, Review.WRITTEN)


@pytest.mark.parametrize(
    ("a", "b", "level", "same"),
    [
        ("711210000", "711410000", AtuLevel.DISTRICT, True),  # D-23: Astana's city districts are one ATU
        ("751110000", "750000000", AtuLevel.DISTRICT, True),  # Almaty
        ("791110000", "711110000", AtuLevel.DISTRICT, False),  # Shymkent vs Astana
        ("351000000", "351010000", AtuLevel.DISTRICT, True),  # Karaganda city administration
        ("351000000", "353200000", AtuLevel.DISTRICT, False),  # Karaganda city vs Abai district
        ("351000000", "353200000", AtuLevel.OBLAST, True),
        ("101033102", "101000000", AtuLevel.DISTRICT, True),  # a village of Semey city administration
    ],
)
def test_a20_same_atu(a: str, b: str, level: AtuLevel, same: bool) -> None:
    assert same_atu(a, b, level) is same


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (D(2000, 2, 29), D(2018, 2, 28), 17),
        (D(2000, 2, 29), D(2018, 3, 1), 18),
        (D(2007, 9, 10), D(2025, 9, 10), 18),
        (D(2007, 9, 11), D(2025, 9, 10), 17),
    ],
)
def test_age_on(born: dt.date, day: dt.date, age: int) -> None:
    assert age_on(born, day) == age
    assert (born <= years_before(day, 18)) is (age >= 18)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("0-4,5-14,15-17,18-39,40-64,65+", True),
        ("0+", True),
        ("0-17,18+", True),
        ("1-4,5+", False),  # must start at 0
        ("0-4,6+", False),  # gap
        ("0-4,5-14", False),  # last band must be open
        ("0-4,x,5+", False),
        ("", False),
    ],
)
def test_a121_age_bands(text: str, ok: bool) -> None:
    if ok:
        assert parse_bands(text)[0].low == 0
    else:
        with pytest.raises(ValueError):
            parse_bands(text)
