"""Pure rules of medical books: periodicity, clearance per decreed group (C-20, C-21, C-51, C-52), infection
suspension (C-30), canonical bytes and correction differences (C-41)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emhana.medbook.catalogue import default_group_rows, requirement_of, rule_of
from emhana.medbook.models import DecreedGroup
from emhana.medbook.rules import (
    ClearanceStatus,
    EntryKind,
    Finding,
    GroupRule,
    Occasion,
    Requirement,
    Result,
    Schedule,
    Sex,
    add_months,
    age_on,
    assess,
    canonical_bytes,
    difference,
    expires_within,
    rule_for_groups,
    status_on,
    suspends,
)

TODAY = dt.date(2026, 3, 10)
GROUPS = {r["code"]: rule_of(DecreedGroup(**r)) for r in default_group_rows()}


def clean(group: GroupRule, sex: str, on: dt.date = dt.date(2026, 3, 1)) -> list[Finding]:
    return [
        Finding(r.kind, r.code, on, Result.NORMAL if r.kind is EntryKind.SPECIALIST_EXAM else Result.NEGATIVE)
        for r in group.applicable(sex)
    ]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 3, 1), 12, dt.date(2027, 3, 1)),
        (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2026, 11, 15), 3, dt.date(2027, 2, 15)),
        (dt.date(2026, 12, 31), 6, dt.date(2027, 6, 30)),
    ],
)
def test_add_months_clamps_to_month_end(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_seed_marks_2015_scope_verified_and_the_working_list_unverified() -> None:
    rows = {r["code"]: r for r in default_group_rows()}
    assert rows["decreed_2015"]["verified"] is True and "C-51" in rows["decreed_2015"]["source"]
    working = [r for c, r in rows.items() if c != "decreed_2015"]
    assert len(working) == 8 and all(not r["verified"] and "C-52" in r["source"] for r in working)
    assert all(r["periodicity_months"] == 12 for r in rows.values())  # C-51: once a year


@pytest.mark.parametrize("code", sorted(GROUPS))
@pytest.mark.parametrize(("sex", "items"), [("female", 9), ("male", 8)])
def test_every_group_grants_a_complete_clean_scope_for_a_year(code: str, sex: str, items: int) -> None:
    group = GROUPS[code]
    assert len(group.applicable(sex)) == items  # the gynecologist only for women (C-51)
    verdict = assess(group, clean(group, sex), sex=sex, today=TODAY)
    assert verdict.granted and verdict.valid_until == dt.date(2027, 3, 1)


@pytest.mark.parametrize("code", sorted(GROUPS))
@pytest.mark.parametrize("missing", ["therapist", "fluorography", "intestinal_carriage", "staphylococcus_swab"])
def test_every_group_refuses_a_missing_item(code: str, missing: str) -> None:
    group = GROUPS[code]
    findings = [f for f in clean(group, "male") if f.code != missing]
    verdict = assess(group, findings, sex="male", today=TODAY)
    assert not verdict.granted and verdict.missing == (missing,) and verdict.valid_until is None


@pytest.mark.parametrize(
    ("performed", "today", "granted", "overdue"),
    [
        (dt.date(2025, 3, 11), TODAY, True, ()),  # due 2026-03-11: still current today
        (dt.date(2025, 3, 10), TODAY, False, ("helminths",)),  # due today: overdue
        (dt.date(2024, 1, 1), TODAY, False, ("helminths",)),
    ],
)
def test_periodicity_of_a_year(performed: dt.date, today: dt.date, granted: bool, overdue: tuple[str, ...]) -> None:
    group = GROUPS["catering"]
    findings = [
        f if f.code != "helminths" else Finding(f.kind, f.code, performed, f.result) for f in clean(group, "male")
    ]
    verdict = assess(group, findings, sex="male", today=today)
    assert verdict.granted is granted and verdict.overdue == overdue
    if granted:
        assert verdict.valid_until == dt.date(2026, 3, 11)  # the earliest next due date (C-21)


@pytest.mark.parametrize(
    ("code", "result"),
    [
        ("intestinal_carriage", Result.POSITIVE),
        ("therapist", Result.ABNORMAL),
        ("fluorography", Result.ABNORMAL),
        ("syphilis", Result.POSITIVE),
    ],
)
def test_a_contraindication_refuses(code: str, result: Result) -> None:
    group = GROUPS["food"]
    findings = clean(group, "female") + [
        Finding(next(r.kind for r in group.requirements if r.code == code), code, dt.date(2026, 3, 5), result)
    ]
    verdict = assess(group, findings, sex="female", today=TODAY)
    assert not verdict.granted and verdict.contraindicated == (code,)


def test_the_latest_result_counts_so_a_new_negative_test_clears_again() -> None:
    group = GROUPS["catering"]
    positive = Finding(EntryKind.LAB_RESULT, "intestinal_carriage", dt.date(2026, 3, 2), Result.POSITIVE)
    negative = Finding(EntryKind.LAB_RESULT, "intestinal_carriage", dt.date(2026, 3, 9), Result.NEGATIVE)
    base = [f for f in clean(group, "male", dt.date(2026, 3, 1)) if f.code != "intestinal_carriage"]
    assert not assess(group, [*base, positive], sex="male", today=TODAY).granted
    verdict = assess(group, [*base, positive, negative], sex="male", today=TODAY)
    assert verdict.granted and verdict.valid_until == dt.date(2027, 3, 1)
    future = Finding(EntryKind.LAB_RESULT, "intestinal_carriage", dt.date(2026, 4, 1), Result.NEGATIVE)
    assert not assess(group, [*base, positive, future], sex="male", today=TODAY).granted


def test_an_item_with_its_own_periodicity_shortens_the_clearance() -> None:
    group = GroupRule(
        "x",
        12,
        (
            Requirement(EntryKind.SPECIALIST_EXAM, "therapist"),
            Requirement(EntryKind.LAB_RESULT, "helminths", infection=True, months=6),
        ),
    )
    findings = [
        Finding(EntryKind.SPECIALIST_EXAM, "therapist", dt.date(2026, 3, 1), Result.NORMAL),
        Finding(EntryKind.LAB_RESULT, "helminths", dt.date(2026, 3, 1), Result.NEGATIVE),
    ]
    assert assess(group, findings, sex="male", today=TODAY).valid_until == dt.date(2026, 9, 1)


@pytest.mark.parametrize(
    ("kind", "code", "result", "expected"),
    [
        (EntryKind.LAB_RESULT, "intestinal_carriage", Result.POSITIVE, True),
        (EntryKind.LAB_RESULT, "staphylococcus_swab", Result.POSITIVE, True),
        (EntryKind.XRAY, "fluorography", Result.ABNORMAL, True),
        (EntryKind.LAB_RESULT, "intestinal_carriage", Result.NEGATIVE, False),
        (EntryKind.SPECIALIST_EXAM, "therapist", Result.ABNORMAL, False),  # a contraindication, not an infection
        (EntryKind.LAB_RESULT, "cholesterol", Result.POSITIVE, False),
        (EntryKind.LAB_RESULT, "helminths", None, False),
    ],
)
def test_which_results_suspend_at_once(kind: EntryKind, code: str, result: Result | None, expected: bool) -> None:
    assert suspends(GROUPS["catering"], kind, code, result) is expected


@pytest.mark.parametrize(
    ("status", "until", "expected"),
    [
        (None, None, ClearanceStatus.NONE),
        ("granted", dt.date(2026, 3, 11), ClearanceStatus.GRANTED),
        ("granted", TODAY, ClearanceStatus.EXPIRED),
        ("suspended", None, ClearanceStatus.SUSPENDED),
        ("refused", None, ClearanceStatus.REFUSED),
    ],
)
def test_status_on_a_day(status: str | None, until: dt.date | None, expected: ClearanceStatus) -> None:
    assert status_on(status, until, TODAY) is expected


@pytest.mark.parametrize(
    ("until", "days", "expected"),
    [
        (dt.date(2026, 3, 20), 30, True),
        (dt.date(2026, 4, 9), 30, True),
        (dt.date(2026, 4, 10), 30, False),
        (TODAY, 30, False),
        (None, 30, False),
    ],
)
def test_expiry_reminders_window(until: dt.date | None, days: int, expected: bool) -> None:
    assert expires_within(until, TODAY, days) is expected


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    assert canonical_bytes({"b": 1, "a": ["ж", None, True]}) == '{"a":["ж",null,true],"b":1}'.encode()
    assert canonical_bytes({"a": 1, "b": 2}) == canonical_bytes({"b": 2, "a": 1})


def test_difference_lists_changed_fields_only() -> None:
    old = {"performed_on": "2026-03-02", "result": "positive", "codes": []}
    new = {"performed_on": "2026-03-01", "result": "positive", "codes": ["A04.9"]}
    assert difference(old, new) == [("codes", [], ["A04.9"]), ("performed_on", "2026-03-02", "2026-03-01")]


# The catalogue's items as data (C-22, C-53): at hiring, periodic, by indication; own periodicity; sex; age.

FOOD = GROUPS["food"]


def test_at_hiring_needs_the_at_hiring_items_and_periodically_only_the_periodic_ones() -> None:
    at_hiring = {r.code for r in FOOD.applicable("male", 30, Occasion.AT_HIRING)}
    periodic = {r.code for r in FOOD.applicable("male", 30, Occasion.PERIODIC)}
    assert at_hiring - periodic == {"typhoid_serology"}  # the working reading: at hiring only (unverified)
    findings = clean(FOOD, "male")  # the periodic scope, clean
    assert assess(FOOD, findings, sex="male", today=TODAY).granted  # periodic is the default occasion
    hired = assess(FOOD, findings, sex="male", today=TODAY, occasion=Occasion.AT_HIRING)
    assert not hired.granted and hired.missing == ("typhoid_serology",)
    typhoid = Finding(EntryKind.LAB_RESULT, "typhoid_serology", dt.date(2026, 3, 1), Result.NEGATIVE)
    verdict = assess(FOOD, [*findings, typhoid], sex="male", today=TODAY, occasion=Occasion.AT_HIRING)
    assert verdict.granted and verdict.valid_until == dt.date(2027, 3, 1)


def test_a_one_off_item_must_be_current_but_does_not_end_the_clearance() -> None:
    group = GroupRule(
        "x",
        12,
        (
            Requirement(EntryKind.SPECIALIST_EXAM, "therapist"),
            Requirement(EntryKind.LAB_RESULT, "typhoid_serology", schedule=Schedule.AT_HIRING, months=3),
        ),
    )
    therapist = Finding(EntryKind.SPECIALIST_EXAM, "therapist", dt.date(2026, 3, 1), Result.NORMAL)
    recent = Finding(EntryKind.LAB_RESULT, "typhoid_serology", dt.date(2026, 3, 1), Result.NEGATIVE)
    stale = Finding(EntryKind.LAB_RESULT, "typhoid_serology", dt.date(2025, 11, 1), Result.NEGATIVE)
    verdict = assess(group, [therapist, recent], sex="male", today=TODAY, occasion=Occasion.AT_HIRING)
    assert verdict.granted and verdict.valid_until == dt.date(2027, 3, 1)  # the therapist's year, not 3 months
    assert verdict.due == {"therapist": dt.date(2027, 3, 1), "typhoid_serology": dt.date(2026, 6, 1)}
    old = assess(group, [therapist, stale], sex="male", today=TODAY, occasion=Occasion.AT_HIRING)
    assert not old.granted and old.overdue == ("typhoid_serology",)


def test_each_item_is_due_after_its_own_periodicity() -> None:
    group = GroupRule(
        "x",
        12,
        (
            Requirement(EntryKind.SPECIALIST_EXAM, "therapist", months=24),
            Requirement(EntryKind.LAB_RESULT, "helminths", months=6),
            Requirement(EntryKind.XRAY, "fluorography"),
        ),
    )
    on = dt.date(2025, 9, 1)
    findings = [
        Finding(EntryKind.SPECIALIST_EXAM, "therapist", on, Result.NORMAL),
        Finding(EntryKind.LAB_RESULT, "helminths", dt.date(2026, 1, 10), Result.NEGATIVE),
        Finding(EntryKind.XRAY, "fluorography", on, Result.NORMAL),
    ]
    verdict = assess(group, findings, sex="male", today=TODAY)
    assert verdict.due == {
        "therapist": dt.date(2027, 9, 1),
        "helminths": dt.date(2026, 7, 10),
        "fluorography": dt.date(2026, 9, 1),
    }
    assert verdict.granted and verdict.valid_until == dt.date(2026, 7, 10)
    six_months_later = assess(group, findings, sex="male", today=dt.date(2026, 7, 10))
    assert six_months_later.overdue == ("helminths",)


@pytest.mark.parametrize(
    ("sex", "age", "expected"),
    [
        ("female", 40, {"therapist", "gynecologist", "mammography"}),
        ("female", 65, {"therapist", "gynecologist", "mammography"}),
        ("female", 39, {"therapist", "gynecologist"}),
        ("female", 66, {"therapist", "gynecologist"}),
        ("female", None, {"therapist", "gynecologist", "mammography"}),  # an unknown age: it applies
        ("male", 45, {"therapist", "urologist"}),
        ("male", 17, {"therapist"}),
        ("", 45, {"therapist"}),  # an unknown sex: the items of one sex do not apply
    ],
)
def test_sex_and_age_decide_which_items_apply(sex: str, age: int | None, expected: set[str]) -> None:
    group = GroupRule(
        "x",
        12,
        (
            Requirement(EntryKind.SPECIALIST_EXAM, "therapist"),
            Requirement(EntryKind.SPECIALIST_EXAM, "gynecologist", sex=Sex.FEMALE),
            Requirement(EntryKind.XRAY, "mammography", sex=Sex.FEMALE, min_age=40, max_age=65),
            Requirement(EntryKind.SPECIALIST_EXAM, "urologist", sex=Sex.MALE, min_age=18),
        ),
    )
    assert {r.code for r in group.applicable(sex, age)} == expected


def test_the_2015_female_only_flag_still_reads_as_women_only() -> None:
    stored = DecreedGroup(**next(r for r in default_group_rows() if r["code"] == "decreed_2015"))
    gyn = next(r for r in rule_of(stored).requirements if r.code == "gynecologist")
    assert gyn.sex is Sex.FEMALE and gyn.female_only
    assert requirement_of({"kind": "xray", "code": "fluorography"}, verified=True, source="s").verified is True
    own = requirement_of(
        {"kind": "xray", "code": "fluorography", "verified": False, "source": "t"}, verified=True, source="s"
    )
    assert (own.verified, own.source, own.schedule) == (False, "t", Schedule.PERIODIC)


def test_an_indication_requires_the_items_it_names() -> None:
    group = GroupRule(
        "x",
        12,
        (
            Requirement(EntryKind.SPECIALIST_EXAM, "therapist"),
            Requirement(EntryKind.LAB_RESULT, "staphylococcus_swab", schedule=Schedule.INDICATION),
            Requirement(EntryKind.LAB_RESULT, "intestinal_carriage", schedule=Schedule.AT_HIRING),
        ),
    )
    therapist = [Finding(EntryKind.SPECIALIST_EXAM, "therapist", dt.date(2026, 3, 1), Result.NORMAL)]
    assert {r.code for r in group.applicable("male", 30, Occasion.AT_HIRING)} == {"therapist", "intestinal_carriage"}
    assert assess(group, therapist, sex="male", today=TODAY).granted  # no indication: neither one-off item
    named = assess(
        group, therapist, sex="male", today=TODAY, indications={"staphylococcus_swab", "intestinal_carriage"}
    )
    assert not named.granted and named.missing == ("staphylococcus_swab", "intestinal_carriage")


def test_two_jobs_need_the_union_with_the_shorter_periodicity() -> None:
    a = GroupRule(
        "catering",
        12,
        (
            Requirement(EntryKind.SPECIALIST_EXAM, "therapist"),
            Requirement(EntryKind.LAB_RESULT, "helminths", schedule=Schedule.AT_HIRING),
        ),
    )
    b = GroupRule(
        "children",
        24,
        (
            Requirement(EntryKind.SPECIALIST_EXAM, "therapist", months=6),
            Requirement(EntryKind.LAB_RESULT, "helminths"),
            Requirement(EntryKind.XRAY, "fluorography", verified=True),
        ),
    )
    both = rule_for_groups([a, b])
    by_code = {r.code: r for r in both.requirements}
    assert set(by_code) == {"therapist", "helminths", "fluorography"}
    assert by_code["therapist"].months == 6  # the stricter, shorter periodicity
    assert by_code["helminths"].schedule is Schedule.PERIODIC and by_code["helminths"].months == 12
    assert by_code["fluorography"].months == 24 and by_code["fluorography"].verified  # its own group's
    assert both.periodicity_months == 12
    assert rule_for_groups([a]) is a
    with pytest.raises(ValueError):
        rule_for_groups([])


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (dt.date(1990, 5, 1), dt.date(2026, 4, 30), 35),
        (dt.date(1990, 5, 1), dt.date(2026, 5, 1), 36),
        (dt.date(2008, 2, 29), dt.date(2026, 2, 28), 17),
        (dt.date(2008, 2, 29), dt.date(2026, 3, 1), 18),
        (None, dt.date(2026, 3, 1), None),
    ],
)
def test_age_in_full_years(born: dt.date | None, day: dt.date, age: int | None) -> None:
    assert age_on(born, day) == age


# Properties over generated scopes.

CODES = ("therapist", "helminths", "fluorography", "syphilis", "gynecologist")
requirements = st.builds(
    Requirement,
    kind=st.just(EntryKind.LAB_RESULT),
    code=st.sampled_from(CODES),
    months=st.none() | st.integers(1, 120),
    schedule=st.sampled_from(Schedule),
    sex=st.none() | st.sampled_from(Sex),
    min_age=st.none() | st.integers(14, 40),
    max_age=st.none() | st.integers(40, 80),
    verified=st.booleans(),
)
rules = st.builds(
    lambda code, months, reqs: GroupRule(code, months, tuple({r.code: r for r in reqs}.values())),
    st.sampled_from(("food", "water", "children")),
    st.integers(1, 120),
    st.lists(requirements, min_size=1, max_size=5),
)
findings_of = st.lists(
    st.builds(
        Finding,
        kind=st.just(EntryKind.LAB_RESULT),
        code=st.sampled_from(CODES),
        performed_on=st.dates(dt.date(2020, 1, 1), TODAY),
        result=st.sampled_from(Result) | st.none(),
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(rules, findings_of, st.sampled_from(("female", "male")), st.none() | st.integers(14, 80))
def test_hiring_asks_at_least_what_a_periodic_examination_asks(
    group: GroupRule, findings: list[Finding], sex: str, age: int | None
) -> None:
    periodic = {r.code for r in group.applicable(sex, age, Occasion.PERIODIC)}
    assert periodic <= {r.code for r in group.applicable(sex, age, Occasion.AT_HIRING)}
    if assess(group, findings, sex=sex, today=TODAY, age=age, occasion=Occasion.AT_HIRING).granted:
        assert assess(group, findings, sex=sex, today=TODAY, age=age).granted


@settings(max_examples=200, deadline=None)
@given(rules, findings_of, st.sampled_from(("female", "male")), st.none() | st.integers(14, 80))
def test_a_granted_clearance_runs_past_today_and_no_item_is_due_before_it(
    group: GroupRule, findings: list[Finding], sex: str, age: int | None
) -> None:
    verdict = assess(group, findings, sex=sex, today=TODAY, age=age, occasion=Occasion.AT_HIRING)
    if verdict.granted and verdict.valid_until is not None:
        assert verdict.valid_until > TODAY
        periodic = [
            verdict.due[r.code]
            for r in group.applicable(sex, age, Occasion.AT_HIRING)
            if r.schedule is Schedule.PERIODIC
        ]
        assert verdict.valid_until == min(periodic or verdict.due.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(rules, min_size=1, max_size=3), st.sampled_from(("female", "male")), st.integers(14, 80))
def test_the_union_of_groups_asks_everything_each_asks_no_later(
    group_list: list[GroupRule], sex: str, age: int
) -> None:
    both = rule_for_groups(group_list)
    united = {r.code: r for r in both.applicable(sex, age, Occasion.AT_HIRING)}
    for group in group_list:
        for r in group.applicable(sex, age, Occasion.AT_HIRING):
            assert r.code in united
            assert both.months_of(united[r.code]) <= group.months_of(r)
