"""Pure rules of identity: Kazakhstan's IIN and BIN (docs/domain.md §4, rules D-01..D-03), names, legal
representation on its basis document (A-24, A-63, A-65, A-67) and the purposes of reading identity data."""

from __future__ import annotations

import datetime as dt
import unicodedata
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


# --- Names (issue 14, Deliver 8) ----------------------------------------------------------------------------------
# A name holds letters of any script (the Kazakh Ә Ғ Қ Ң Ө Ұ Ү Һ І among them) with their combining marks, single
# spaces, hyphens and apostrophes. Control characters (NUL first: PostgreSQL refuses it, SQLite stored it), format
# characters (bidi overrides and isolates, zero-width spaces and joiners, the soft hyphen), invisible fillers and
# digits are refused alike on both databases: a name with 12 digits reads as an IIN and blocked a book's PDF.

REASON_NAME_CONTROL = N_("it contains a control, invisible or text-direction character")
REASON_NAME_DIGITS = N_("it contains digits")
REASON_NAME_SYMBOL = N_("it may hold only letters, spaces, hyphens and apostrophes")
REASON_NAME_NO_LETTER = N_("it contains no letter")
REASON_NAME_SPACES = N_("it has spaces at an end or two in a row")

NAME_PUNCTUATION = frozenset("-\u2010'\u2019\u02bc")  # hyphen, Unicode hyphen, apostrophe, right quote, modifier
# Letters and marks that render as nothing (grapheme joiner, Hangul fillers, braille blank, variation selectors).
INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800") | frozenset(map(chr, range(0xFE00, 0xFE10)))


def name_problem(value: str) -> str | None:
    """Return why a surname, given name or patronymic cannot be stored, or None when it can."""
    for ch in value:
        category = unicodedata.category(ch)
        if category[0] == "C" or category in ("Zl", "Zp") or ch in INVISIBLE or 0xE0100 <= ord(ch) <= 0xE01EF:
            return REASON_NAME_CONTROL
    if any(ch.isnumeric() for ch in value):
        return REASON_NAME_DIGITS
    for ch in value:
        if ch != " " and ch not in NAME_PUNCTUATION and unicodedata.category(ch)[0] not in ("L", "M"):
            return REASON_NAME_SYMBOL
    if not any(unicodedata.category(ch)[0] == "L" for ch in value):
        return REASON_NAME_NO_LETTER
    if value != value.strip(" ") or "  " in value:
        return REASON_NAME_SPACES
    return None


def clean_name(value: str) -> str:
    """Return a name in Unicode NFC form (one code point per Kazakh letter, so lengths and searches agree)."""
    return unicodedata.normalize("NFC", value)


# --- Legal representation (A-24, A-65, A-63, A-67) ---------------------------------------------------------------
# Reading of civil law used here (docs/domain.md gives the document classes of, not the ages): a
# parent represents a minor on the birth certificate, an adoptive parent on the adoption decision; guardianship
# (опека / қорғаншылық) is set for a child under 14 or an adult the court found incapable, trusteeship
# (попечительство / қамқоршылық) for a child of 14 to 18 or an adult of limited capacity, each on a decision of the
# court or the guardianship authority. Guardianship of a child turns into trusteeship at 14 without a new decision,
# so every representation of a minor lasts until the 18th birthday and ends there. A power of
# attorney makes no legal representative. The ages are parameters (GUARDIANSHIP_UNTIL, MAJORITY).

MAJORITY = 18  # from 18 a person attaches themselves
GUARDIANSHIP_UNTIL = 14  # guardianship of a child under 14, trusteeship from 14 (L: civil law, not in docs/domain.md)


class RepresentationBasis(StrEnum):
    """What the representative is to the represented person."""

    PARENT = "parent"
    GUARDIAN = "guardian"
    TRUSTEE = "trustee"
    FOSTER_CARER = "foster_carer"
    POWER_OF_ATTORNEY = "power_of_attorney"  # kept for old rows; never a basis of legal representation


class BasisDocument(StrEnum):
    """The kind of document a legal representation rests on."""

    BIRTH_CERTIFICATE = "birth_certificate"
    ADOPTION_DECISION = "adoption_decision"
    GUARDIANSHIP_DECISION = "guardianship_decision"
    TRUSTEESHIP_DECISION = "trusteeship_decision"


# Which documents ground which relation; a foster carer acts on the guardianship authority's decision.
FITS: dict[RepresentationBasis, frozenset[BasisDocument]] = {
    RepresentationBasis.PARENT: frozenset({BasisDocument.BIRTH_CERTIFICATE, BasisDocument.ADOPTION_DECISION}),
    RepresentationBasis.GUARDIAN: frozenset({BasisDocument.GUARDIANSHIP_DECISION}),
    RepresentationBasis.TRUSTEE: frozenset({BasisDocument.TRUSTEESHIP_DECISION}),
    RepresentationBasis.FOSTER_CARER: frozenset(
        {BasisDocument.GUARDIANSHIP_DECISION, BasisDocument.TRUSTEESHIP_DECISION}
    ),
}
# Documents that ground the representation of a minor only: it ends at majority whatever the row says.
MINOR_ONLY = frozenset({BasisDocument.BIRTH_CERTIFICATE, BasisDocument.ADOPTION_DECISION})

REASON_NOT_LEGAL = N_("a power of attorney does not make a legal representative")
REASON_DOCUMENT_MISMATCH = N_("this document does not ground this kind of representation")
REASON_MINOR_ONLY = N_("a birth certificate or an adoption decision grounds the representation of a minor only")
REASON_GUARDIANSHIP_AGE = N_("guardianship of a child is set under the age of 14; from 14 to 18 it is trusteeship")
REASON_TRUSTEESHIP_AGE = N_("trusteeship of a child is set from the age of 14; under 14 it is guardianship")
REASON_REPRESENTATIVE_MINOR = N_("a guardian, a trustee or an adoptive parent must be of full age")
REASON_PARENT_YOUNGER = N_("a parent must be older than the child")
REASON_BEFORE_BIRTH = N_("the representation cannot begin before the person was born")
REASON_DECEASED = N_("one of the two persons is recorded as deceased")
REASON_SELF = N_("a person cannot represent themselves")
REASON_ENDED = N_("the representation would end before it begins")


def birthday(born: dt.date, years: int) -> dt.date:
    """Return the day a person turns ``years`` (born on 29 February: 1 March in a common year)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return dt.date(born.year + years, 3, 1)


def age_on(born: dt.date, day: dt.date) -> int:
    """Return a person's age in full years on a day."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def adult_born_by(day: dt.date) -> dt.date:
    """Return the latest birth date of a person who is of full age on ``day`` (for a database filter)."""
    try:
        return day.replace(year=day.year - MAJORITY)
    except ValueError:  # 29 February: someone born on 28 February 18 years ago turned 18 on the 28th
        return dt.date(day.year - MAJORITY, 2, 28)


def minority_ends(born: dt.date) -> dt.date:
    """Return the last day a person is a minor: the eve of the 18th birthday (periods here include valid_to)."""
    return birthday(born, MAJORITY) - dt.timedelta(days=1)


@dataclass(frozen=True)
class RepresentationCase:
    """What the rule needs to know about one proposed legal representation."""

    basis: RepresentationBasis
    document: BasisDocument
    represented_born: dt.date
    representative_born: dt.date
    valid_from: dt.date
    valid_to: dt.date | None
    same_person: bool = False
    deceased: bool = False


def representation_problem(case: RepresentationCase) -> str | None:
    """Return why a representation cannot be recorded on its document, or None when the document fits."""
    if case.same_person:
        return REASON_SELF
    if case.basis is RepresentationBasis.POWER_OF_ATTORNEY:
        return REASON_NOT_LEGAL
    if case.document not in FITS[case.basis]:
        return REASON_DOCUMENT_MISMATCH
    if case.deceased:
        return REASON_DECEASED
    if case.valid_from < case.represented_born:
        return REASON_BEFORE_BIRTH
    age = age_on(case.represented_born, case.valid_from)
    minor = age < MAJORITY
    if case.document in MINOR_ONLY and not minor:
        return REASON_MINOR_ONLY
    if minor and case.document is BasisDocument.GUARDIANSHIP_DECISION and age >= GUARDIANSHIP_UNTIL:
        return REASON_GUARDIANSHIP_AGE
    if minor and case.document is BasisDocument.TRUSTEESHIP_DECISION and age < GUARDIANSHIP_UNTIL:
        return REASON_TRUSTEESHIP_AGE
    if case.document is BasisDocument.BIRTH_CERTIFICATE:
        if case.representative_born >= case.represented_born:
            return REASON_PARENT_YOUNGER
    elif age_on(case.representative_born, case.valid_from) < MAJORITY:
        return REASON_REPRESENTATIVE_MINOR
    end = representation_end(case)
    if end is not None and end < case.valid_from:
        return REASON_ENDED
    return None


def representation_end(case: RepresentationCase) -> dt.date | None:
    """Return the last day of a representation: the one given, but never past a minor's 18th birthday's eve.

    A representation set while the person is a minor ends when they come of age (A-24, A-65); one of an adult
    (guardianship or trusteeship of an incapable or partly capable adult) lasts as long as its decision says.
    """
    if age_on(case.represented_born, case.valid_from) >= MAJORITY:
        return case.valid_to
    ends = minority_ends(case.represented_born)
    return ends if case.valid_to is None else min(case.valid_to, ends)


# --- Purposes of reading identity data (issue 14, Deliver 1) -----------------------------------------------------


class ReadPurpose(StrEnum):
    """Why a member of staff or the Fund reads the identity data of a person outside their organization's
    population; ``other`` needs words of its own."""

    CARE = "care"  # medical care of the person
    ATTACHMENT = "attachment"  # an attachment application or a transfer
    MEDBOOK = "medbook"  # an examination for a personal medical book
    REFERRAL = "referral"  # a referral between organizations
    REPRESENTATION = "representation"  # recording a legal representation
    OVERSIGHT = "oversight"  # the Fund's control
    REQUEST = "request"  # a request of the person, or of an authority entitled to it
    OTHER = "other"


PURPOSE_TEXT_MAX = 150
REASON_PURPOSE_MISSING = N_("choose one from the list")
REASON_PURPOSE_TEXT = N_("describe the purpose in words when it is another one")


def purpose_problem(code: str | None, text: str | None) -> str | None:
    """Return why a stated purpose is not enough, or None."""
    if not code or code not in {p.value for p in ReadPurpose}:
        return REASON_PURPOSE_MISSING
    if code == ReadPurpose.OTHER and not (text or "").strip():
        return REASON_PURPOSE_TEXT
    return None


def purpose_label(code: str, text: str | None) -> str:
    """Return the purpose as the audit log keeps it: the code, then the words given (``care: follow-up visit``)."""
    words = " ".join((text or "").split())[:PURPOSE_TEXT_MAX]
    return f"{code}: {words}" if words else code


def stated_problem(purpose: str) -> str | None:
    """Return why a purpose, as logged, is not a stated one, or None: it must start with a code of the list
    (a door's fixed purpose such as ``attachment application`` counts) and ``other`` must carry words."""
    head = purpose.strip()
    code = ""
    for ch in head:
        if not ("a" <= ch <= "z" or ch == "_"):
            break
        code += ch
    return purpose_problem(code, head[len(code) :].lstrip(" :"))


def is_stated(purpose: str) -> bool:
    """Tell whether a purpose, as logged, is a stated one (``stated_problem``)."""
    return stated_problem(purpose) is None
