"""Pure rules for Kazakhstan's IIN and BIN (docs/domain.md §4, rules D-01..D-03)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from emhana.kernel.i18n import N_

# docs/domain.md §4.2 (Government Decree No. 406 of 22.05.2007): one algorithm for IIN and BIN.
W1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
W2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)

REASON_LENGTH = N_("it must have exactly 12 digits")
REASON_DIGITS = N_("it must contain digits only")
REASON_CHECK = N_("the check digit does not match")
REASON_UNUSABLE = N_("no check digit is possible for this number")
REASON_BIN_MONTH = N_("the registration month must be 01 to 12")
REASON_BIN_TYPE = N_("the type digit must be 4, 5 or 6")
REASON_BIN_ATTRIBUTE = N_("the attribute digit must be 0 to 3")


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


def check_digit(prefix11: str) -> int | None:
    """Return the check digit of an 11-digit prefix, or None when no digit is valid (both passes give 10)."""
    digits = [int(c) for c in prefix11]
    c = sum(d * w for d, w in zip(digits, W1, strict=True)) % 11
    if c == 10:
        c = sum(d * w for d, w in zip(digits, W2, strict=True)) % 11
    return None if c == 10 else c


def checksum_problem(value: str) -> str | None:
    """Return why a 12-digit identifier fails the length/digit/check-digit test, or None if it passes."""
    if len(value) != 12:
        return REASON_LENGTH
    if not value.isascii() or not value.isdigit():
        return REASON_DIGITS
    expected = check_digit(value[:11])
    if expected is None:
        return REASON_UNUSABLE
    if expected != int(value[11]):
        return REASON_CHECK
    return None


def iin_problem(value: str) -> str | None:
    """Return why an IIN is invalid, or None.

    D-03: since Decree No. 853 of 26.08.2013 the digits are not bound to birth date or sex, so only
    length, digits and the check digit can make an IIN invalid.
    """
    return checksum_problem(value)


def is_valid_iin(value: str) -> bool:
    """Tell whether an IIN passes length, digits and check digit."""
    return iin_problem(value) is None


def bin_problem(value: str) -> str | None:
    """Return why a BIN is invalid, or None (docs/domain.md §4.5: structure and check digit)."""
    if len(value) != 12:
        return REASON_LENGTH
    if not value.isascii() or not value.isdigit():
        return REASON_DIGITS
    if not 1 <= int(value[2:4]) <= 12:
        return REASON_BIN_MONTH
    if value[4] not in "456":
        return REASON_BIN_TYPE
    if value[5] not in "0123":
        return REASON_BIN_ATTRIBUTE
    return checksum_problem(value)


def is_valid_bin(value: str) -> bool:
    """Tell whether a BIN passes structure and check digit."""
    return bin_problem(value) is None


@dataclass(frozen=True)
class IinHints:
    """What the 2007 scheme would decode from an IIN: hints only, never grounds to reject (D-03)."""

    birth_date: dt.date | None
    sex: Sex | None
    warnings: tuple[str, ...]


CENTURY = {
    "1": (1800, Sex.MALE),
    "2": (1800, Sex.FEMALE),
    "3": (1900, Sex.MALE),
    "4": (1900, Sex.FEMALE),
    "5": (2000, Sex.MALE),
    "6": (2000, Sex.FEMALE),
}


def iin_hints(value: str) -> IinHints:
    """Decode birth date and sex under the 2007 scheme (D-02) as hints, with warnings where it fails."""
    warnings: list[str] = []
    century = CENTURY.get(value[6]) if len(value) == 12 and value.isdigit() else None
    if century is None:
        return IinHints(None, None, (N_("the 7th digit does not encode century and sex"),))
    base, sex = century
    try:
        birth = dt.date(base + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        birth = None
        warnings.append(N_("the first six digits are not a date"))
    return IinHints(birth, sex, tuple(warnings))


def make_iin(birth_date: dt.date, sex: Sex, serial: int) -> str | None:
    """Build an IIN under the 2007 scheme, or None if that serial gives an unusable prefix."""
    century_digit = {1800: 1, 1900: 3, 2000: 5}[birth_date.year // 100 * 100]
    if sex is Sex.FEMALE:
        century_digit += 1
    prefix = f"{birth_date:%y%m%d}{century_digit}{serial % 10000:04d}"
    digit = check_digit(prefix)
    return None if digit is None else prefix + str(digit)


def make_bin(year: int, month: int, kind: int, attribute: int, serial: int) -> str | None:
    """Build a BIN from its parts (docs/domain.md §4.5), or None when the prefix is unusable."""
    prefix = f"{year % 100:02d}{month:02d}{kind}{attribute}{serial % 100000:05d}"
    digit = check_digit(prefix)
    return None if digit is None else prefix + str(digit)
