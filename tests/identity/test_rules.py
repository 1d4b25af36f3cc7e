"""IIN and BIN vectors of docs/domain.md §4.3–§4.5."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emhana.identity.rules import (
    REASON_BIN_ATTRIBUTE,
    REASON_BIN_MONTH,
    REASON_BIN_TYPE,
    REASON_CHECK,
    REASON_DIGITS,
    REASON_LENGTH,
    REASON_UNUSABLE,
    Sex,
    bin_problem,
    check_digit,
    iin_hints,
    iin_problem,
    is_valid_bin,
    is_valid_iin,
    make_iin,
)


@pytest.mark.parametrize(
    "iin",
    [
        "880315301280",
        "920704411239",
        "010923500459",
        "050617622310",
        "751130305105",
        "630228400077",
        "870512300404",  # second weight pass
        "061211600012",  # second pass (kz-iin-validator README)
        "791028302728",
    ],
)
def test_valid_iins(iin: str) -> None:
    assert iin_problem(iin) is None


def test_second_pass_is_used() -> None:
    digits = [int(c) for c in "87051230040"]
    assert sum(d * w for d, w in zip(digits, range(1, 12), strict=True)) % 11 == 10
    assert check_digit("87051230040") == 4


@pytest.mark.parametrize(
    ("iin", "reason"),
    [
        ("880315301281", REASON_CHECK),
        ("920704411230", REASON_CHECK),
        ("8803153012", REASON_LENGTH),
        ("88031530128O", REASON_DIGITS),
        ("８８０３１５３０１２８０", REASON_DIGITS),  # full-width digits are not ASCII digits
        ("", REASON_LENGTH),
    ],
)
def test_invalid_iins(iin: str, reason: str) -> None:
    assert iin_problem(iin) == reason


@pytest.mark.parametrize("last", range(10))
def test_unusable_prefix_has_no_valid_iin(last: int) -> None:
    assert check_digit("87051230043") is None
    assert iin_problem(f"87051230043{last}") == REASON_UNUSABLE


@pytest.mark.parametrize("iin", ["881315301283", "880230301289", "880315701286", "880315001281"])
def test_decoding_problems_are_hints_not_errors(iin: str) -> None:
    # D-03: since 2013 the digits are not bound to the birth date or sex.
    assert is_valid_iin(iin)
    assert iin_hints(iin).warnings


def test_hints_decode_the_2007_scheme() -> None:
    hints = iin_hints("050617622310")
    assert hints.birth_date == dt.date(2005, 6, 17)
    assert hints.sex is Sex.FEMALE
    assert hints.warnings == ()


@pytest.mark.parametrize(
    "bin_", ["940140000385", "990140004654", "150340001236", "201140004575", "190651000781", "180441000669"]
)
def test_valid_bins(bin_: str) -> None:
    assert bin_problem(bin_) is None


@pytest.mark.parametrize(
    ("bin_", "reason"),
    [
        ("949940000385", REASON_BIN_MONTH),
        ("940190000385", REASON_BIN_TYPE),
        ("940149000385", REASON_BIN_ATTRIBUTE),
        ("940140000386", REASON_CHECK),
        ("94014000038", REASON_LENGTH),
    ],
)
def test_invalid_bins(bin_: str, reason: str) -> None:
    assert bin_problem(bin_) == reason


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_exactly_one_check_digit_or_none(prefix: str) -> None:
    valid = [d for d in range(10) if is_valid_iin(prefix + str(d))]
    expected = check_digit(prefix)
    assert valid == ([] if expected is None else [expected])


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
    st.sampled_from(list(Sex)),
    st.integers(0, 9999),
)
def test_made_iins_are_valid_and_decode_back(birth: dt.date, sex: Sex, serial: int) -> None:
    iin = make_iin(birth, sex, serial)
    if iin is None:
        return
    assert is_valid_iin(iin)
    hints = iin_hints(iin)
    assert (hints.birth_date, hints.sex) == (birth, sex)


def test_bin_and_iin_share_the_algorithm() -> None:
    assert is_valid_bin("150340001236") and is_valid_iin("150340001236")
