"""Pure rules of medical books: periodicity, clearance per decreed group (C-20, C-21, C-51, C-52), infection
suspension (C-30), canonical bytes and correction differences (C-41)."""

from __future__ import annotations

import datetime as dt

import pytest

from emhana.medbook.catalogue import default_group_rows, rule_of
from emhana.medbook.models import DecreedGroup
from emhana.medbook.rules import (
    ClearanceStatus,
    EntryKind,
    Finding,
    GroupRule,
    Requirement,
    Result,
    add_months,
    assess,
    canonical_bytes,
    difference,
    expires_within,
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
