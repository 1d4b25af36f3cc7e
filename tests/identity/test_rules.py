"""IIN and BIN vectors of docs/domain.md §4.3–§4.5."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emhana.identity.rules import (
    REASON_BEFORE_BIRTH,
    REASON_BIN_ATTRIBUTE,
    REASON_BIN_MONTH,
    REASON_BIN_TYPE,
    REASON_CHECK,
    REASON_DECEASED,
    REASON_DIGITS,
    REASON_DOCUMENT_MISMATCH,
    REASON_GUARDIANSHIP_AGE,
    REASON_LENGTH,
    REASON_MINOR_ONLY,
    REASON_NAME_CONTROL,
    REASON_NAME_DIGITS,
    REASON_NAME_NO_LETTER,
    REASON_NAME_SPACES,
    REASON_NAME_SYMBOL,
    REASON_NOT_LEGAL,
    REASON_PARENT_YOUNGER,
    REASON_PURPOSE_MISSING,
    REASON_PURPOSE_TEXT,
    REASON_REPRESENTATIVE_MINOR,
    REASON_SELF,
    REASON_TRUSTEESHIP_AGE,
    REASON_UNUSABLE,
    BasisDocument,
    RepresentationBasis,
    RepresentationCase,
    Sex,
    adult_born_by,
    age_on,
    bin_problem,
    birthday,
    check_digit,
    clean_name,
    iin_hints,
    iin_problem,
    is_stated,
    is_valid_bin,
    is_valid_iin,
    make_iin,
    minority_ends,
    name_problem,
    purpose_label,
    purpose_problem,
    representation_end,
    representation_problem,
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


# --- Names (issue 14) ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Әбдіқадыр",
        "Ғалымжан",
        "Құрманғазы",
        "Ңұрлан",
        "Өмірзақ",
        "Ұлжан",
        "Үкілі",
        "Һәкім",
        "Іңкәр",
        "Нұр-Сұлтан",
        "О'Брайен",
        "Д’Артаньян",
        "Ахмет Жан",
        "Smith-Jones",
        "Éloïse",
    ],
)
def test_names_of_kazakh_letters_hyphens_apostrophes_and_spaces_are_valid(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Ахмет\x00", REASON_NAME_CONTROL),  # NUL: PostgreSQL refused it, SQLite stored it
        ("Ахмет\x07", REASON_NAME_CONTROL),
        ("Ахмет\n", REASON_NAME_CONTROL),
        ("\u202eтемхА", REASON_NAME_CONTROL),  # right-to-left override
        ("Ах\u2066мет", REASON_NAME_CONTROL),  # left-to-right isolate
        ("Ах\u200bмет", REASON_NAME_CONTROL),  # zero-width space
        ("Ах\u200dмет", REASON_NAME_CONTROL),  # zero-width joiner
        ("Ах\ufeffмет", REASON_NAME_CONTROL),  # zero-width no-break space
        ("Ах\u00adмет", REASON_NAME_CONTROL),  # soft hyphen
        ("Ах\u3164мет", REASON_NAME_CONTROL),  # Hangul filler, an invisible letter
        ("880315301280", REASON_NAME_DIGITS),  # reads as an IIN
        ("Ахмет2", REASON_NAME_DIGITS),
        ("Ахмет٣", REASON_NAME_DIGITS),  # Arabic-Indic digit
        ("Ахмет²", REASON_NAME_DIGITS),
        ("<b>Ахмет</b>", REASON_NAME_SYMBOL),
        ("Ахмет@", REASON_NAME_SYMBOL),
        ("Ахмет\u00a0Жан", REASON_NAME_SYMBOL),  # no-break space
        ("-'", REASON_NAME_NO_LETTER),
        (" Ахмет", REASON_NAME_SPACES),
        ("Ахмет  Жан", REASON_NAME_SPACES),
    ],
)
def test_names_with_control_invisible_characters_digits_or_symbols_are_refused(name: str, reason: str) -> None:
    assert name_problem(name) == reason


def test_clean_name_composes_letters() -> None:
    decomposed = "И\u0306е"  # Й typed as И and a combining breve
    assert name_problem(decomposed) is None
    assert clean_name(decomposed) == "\u0419е"


# --- Legal representation (A-24, A-63, A-65, A-67) ---------------------------------------------------------------

CHILD_BORN = dt.date(2015, 5, 1)
PARENT_BORN = dt.date(1988, 3, 15)


def case(
    basis: RepresentationBasis = RepresentationBasis.PARENT,
    document: BasisDocument = BasisDocument.BIRTH_CERTIFICATE,
    *,
    born: dt.date = CHILD_BORN,
    representative_born: dt.date = PARENT_BORN,
    valid_from: dt.date = dt.date(2025, 9, 10),
    valid_to: dt.date | None = None,
    **kw: bool,
) -> RepresentationCase:
    return RepresentationCase(basis, document, born, representative_born, valid_from, valid_to, **kw)


@pytest.mark.parametrize(
    ("c", "reason"),
    [
        (case(), None),
        (case(document=BasisDocument.ADOPTION_DECISION), None),
        (case(RepresentationBasis.GUARDIAN, BasisDocument.GUARDIANSHIP_DECISION), None),  # aged 10
        (case(RepresentationBasis.TRUSTEE, BasisDocument.TRUSTEESHIP_DECISION, born=dt.date(2010, 1, 1)), None),
        (case(RepresentationBasis.FOSTER_CARER, BasisDocument.GUARDIANSHIP_DECISION), None),
        # An adult the court found incapable or of limited capacity.
        (case(RepresentationBasis.GUARDIAN, BasisDocument.GUARDIANSHIP_DECISION, born=dt.date(1990, 1, 1)), None),
        (case(RepresentationBasis.TRUSTEE, BasisDocument.TRUSTEESHIP_DECISION, born=dt.date(1990, 1, 1)), None),
        # What the issue found: an adult made the "guardian" of another adult on no fitting document.
        (
            case(RepresentationBasis.GUARDIAN, BasisDocument.BIRTH_CERTIFICATE, born=dt.date(1990, 1, 1)),
            REASON_DOCUMENT_MISMATCH,
        ),
        (case(born=dt.date(1990, 1, 1)), REASON_MINOR_ONLY),
        (case(document=BasisDocument.ADOPTION_DECISION, born=dt.date(2007, 9, 9)), REASON_MINOR_ONLY),  # 18 today
        (case(RepresentationBasis.POWER_OF_ATTORNEY, BasisDocument.BIRTH_CERTIFICATE), REASON_NOT_LEGAL),
        (case(RepresentationBasis.PARENT, BasisDocument.GUARDIANSHIP_DECISION), REASON_DOCUMENT_MISMATCH),
        (
            case(RepresentationBasis.GUARDIAN, BasisDocument.GUARDIANSHIP_DECISION, born=dt.date(2011, 9, 10)),
            REASON_GUARDIANSHIP_AGE,
        ),  # 14 today
        (
            case(RepresentationBasis.TRUSTEE, BasisDocument.TRUSTEESHIP_DECISION, born=dt.date(2011, 9, 11)),
            REASON_TRUSTEESHIP_AGE,
        ),  # 13 today
        (
            case(
                RepresentationBasis.GUARDIAN,
                BasisDocument.GUARDIANSHIP_DECISION,
                representative_born=dt.date(2009, 1, 1),
            ),
            REASON_REPRESENTATIVE_MINOR,
        ),
        (case(representative_born=dt.date(2016, 1, 1)), REASON_PARENT_YOUNGER),
        (case(valid_from=dt.date(2015, 4, 30)), REASON_BEFORE_BIRTH),
        (case(deceased=True), REASON_DECEASED),
        (case(same_person=True), REASON_SELF),
    ],
)
def test_representation_needs_a_document_that_fits_the_relation_and_the_age(
    c: RepresentationCase, reason: str | None
) -> None:
    assert representation_problem(c) == reason


def test_a_minor_is_represented_until_the_eve_of_the_18th_birthday() -> None:
    assert representation_end(case()) == dt.date(2033, 4, 30)
    assert representation_end(case(valid_to=dt.date(2040, 1, 1))) == dt.date(2033, 4, 30)
    assert representation_end(case(valid_to=dt.date(2030, 1, 1))) == dt.date(2030, 1, 1)
    adult = case(RepresentationBasis.GUARDIAN, BasisDocument.GUARDIANSHIP_DECISION, born=dt.date(1990, 1, 1))
    assert representation_end(adult) is None
    # Guardianship of a child under 14 continues as trusteeship, so it too ends at 18.
    assert representation_end(case(RepresentationBasis.GUARDIAN, BasisDocument.GUARDIANSHIP_DECISION)) == dt.date(
        2033, 4, 30
    )


def test_coming_of_age_on_a_29_february_birthday() -> None:
    born = dt.date(2008, 2, 29)
    assert birthday(born, 18) == dt.date(2026, 3, 1)
    assert minority_ends(born) == dt.date(2026, 2, 28)
    assert age_on(born, dt.date(2026, 2, 28)) == 17 and age_on(born, dt.date(2026, 3, 1)) == 18
    assert adult_born_by(dt.date(2026, 3, 1)) == dt.date(2008, 3, 1)
    assert adult_born_by(dt.date(2024, 2, 29)) == dt.date(2006, 2, 28)


@given(st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)), st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)))
def test_adult_born_by_agrees_with_age_on(born: dt.date, day: dt.date) -> None:
    assert (born <= adult_born_by(day)) == (age_on(born, day) >= 18)


# --- Purposes of reading -------------------------------------------------------------------------------------------


def test_a_stated_purpose_is_a_code_of_the_list_and_other_needs_words() -> None:
    assert purpose_problem("care", None) is None
    assert purpose_problem(None, "because") == REASON_PURPOSE_MISSING
    assert purpose_problem("curiosity", None) == REASON_PURPOSE_MISSING
    assert purpose_problem("other", "  ") == REASON_PURPOSE_TEXT
    assert purpose_label("other", "  court   request\n") == "other: court request"
    assert is_stated("other: court request") and is_stated("attachment application") and is_stated("care")
    assert not is_stated("api read") and not is_stated("other") and not is_stated("") and not is_stated("careless")
