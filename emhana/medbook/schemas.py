"""Pydantic schemas of personal medical books: catalogue, appointments, books, journal entries and the views
of the owner, the staff and the employer (the employer's carries no clinical field)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from emhana.identity.rules import bin_problem, iin_problem
from emhana.identity.schemas import IIN, Strict
from emhana.medbook.diagnoses import ClinicalStatus
from emhana.medbook.rules import ClearanceStatus, EntryKind, Language, Result, Schedule, Sex

Code = str  # an item or group code: lower-case letters, digits and underscores
CODE = r"^[a-z0-9_]{1,64}$"


class ClinicalKind(StrEnum):
    """Kinds a clinician or a MIS records directly; clearance and referral have their own paths."""

    SPECIALIST_EXAM = EntryKind.SPECIALIST_EXAM.value
    LAB_RESULT = EntryKind.LAB_RESULT.value
    XRAY = EntryKind.XRAY.value
    VACCINATION = EntryKind.VACCINATION.value
    PAST_INFECTION = EntryKind.PAST_INFECTION.value
    SPECIALIST_DIAGNOSIS = EntryKind.SPECIALIST_DIAGNOSIS.value


class Decision(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"
    SUSPENDED = "suspended"


class RequirementIn(Strict):
    """One item of a decreed group's version (C-22, C-53): when, how often (None: the group's periodicity),
    of whom (ages in full years), on what authority (``verified`` None: as the version says)."""

    kind: ClinicalKind
    code: Code = Field(pattern=CODE)
    female_only: bool = False  # the 2015 form of ``sex: female``, still read
    infection: bool = False
    months: int | None = Field(default=None, ge=1, le=120)
    schedule: Schedule = Schedule.PERIODIC
    sex: Sex | None = None
    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    source: str = Field(default="", max_length=2000)
    verified: bool | None = None


class GroupIn(Strict):
    code: Code = Field(pattern=CODE, max_length=40)
    name_kk: str = Field(min_length=1, max_length=300)
    name_ru: str = Field(min_length=1, max_length=300)
    name_en: str = Field(min_length=1, max_length=300)
    periodicity_months: int = Field(ge=1, le=120)
    requirements: list[RequirementIn] = Field(min_length=1, max_length=50)
    effective_from: dt.date
    verified: bool = False
    source: str = Field(default="", max_length=2000)


class GroupOut(BaseModel):
    id: int
    code: str
    version: int
    effective_from: dt.date
    effective_to: dt.date | None
    name_kk: str
    name_ru: str
    name_en: str
    periodicity_months: int
    requirements: list[RequirementIn]
    verified: bool
    source: str


class AppointIn(Strict):
    account_id: int
    valid_from: dt.date


class AppointmentOut(BaseModel):
    id: int
    entity_id: int
    account_id: int
    display_name: str
    valid_from: dt.date
    valid_to: dt.date | None


class EmployerKind(StrEnum):
    """Who employs a worker: a legal entity, named by its BIN, or an individual entrepreneur (ИП / ЖК), by IIN."""

    LEGAL_ENTITY = "legal_entity"
    ENTREPRENEUR = "entrepreneur"


def employer_kind(number: str) -> EmployerKind | None:
    """Tell the kind of an employer's 12-digit number, or None when it is neither a BIN nor an IIN.

    A BIN has a structure (registration month, type and attribute digits) besides its check digit; an IIN
    issued since 2013 has only its check digit (D-03). A number with a BIN's structure is a legal entity's.
    """
    if bin_problem(number) is None:
        return EmployerKind.LEGAL_ENTITY
    if iin_problem(number) is None:
        return EmployerKind.ENTREPRENEUR
    return None


def _check_employer(value: str) -> str:
    value = value.strip()
    if employer_kind(value) is None:
        reason = iin_problem(value)  # the weaker test names what is wrong with the number in any case
        raise PydanticCustomError(
            "medbook.invalid_employer",
            "The employer's number is neither a valid BIN of a legal entity nor a valid IIN of an individual "
            "entrepreneur: {reason}.",
            {"reason": reason},
        )
    return value


# The employer's number: a legal entity's BIN or an individual entrepreneur's IIN, each with its check digit.
EmployerNumber = Annotated[str, AfterValidator(_check_employer)]


class EmployerLinkIn(Strict):
    account_id: int
    bin: EmployerNumber


class BookIn(Strict):
    iin: IIN
    profession: str = Field(min_length=1, max_length=200)
    position: str = Field(min_length=1, max_length=200)
    workplace: str = Field(min_length=1, max_length=300)
    employer_bin: EmployerNumber
    group_code: Code = Field(pattern=CODE, max_length=40)
    language: Language


class LookupIn(Strict):
    iin: IIN
    purpose: str = Field(default="", max_length=200)


class JobIn(Strict):
    """A job of the book's owner (issue 15): a change of the main job (the current one ends where this one begins,
    or the one named by ``replaces``) or, with ``second``, a further current job (a second decreed activity)."""

    profession: str = Field(min_length=1, max_length=200)
    position: str = Field(min_length=1, max_length=200)
    workplace: str = Field(min_length=1, max_length=300)
    employer_number: EmployerNumber
    group_code: Code = Field(pattern=CODE, max_length=40)
    valid_from: dt.date
    second: bool = False
    replaces: int | None = None


class JobEndIn(Strict):
    ended_on: dt.date


class ExaminationKind(StrEnum):
    AT_HIRING = "at_hiring"
    PERIODIC = "periodic"
    INDICATION = "indication"


class ExaminationIn(Strict):
    """Open an examination of the worker: the IIN proves the examiner found her (needed when the organization
    has no other right to the book); the purpose is kept in the book's access log."""

    kind: ExaminationKind
    purpose: str = Field(min_length=1, max_length=200)
    iin: IIN | None = None
    days: int = Field(default=30, ge=1, le=90)


class ExaminationOut(BaseModel):
    id: int
    book_id: int
    entity_id: int
    kind: ExaminationKind
    purpose: str
    opened_at: dt.datetime
    open_until: dt.date
    closed_at: dt.datetime | None


class EmploymentOut(BaseModel):
    """One job of the book's owner; the current ones first, the main one marked."""

    id: int
    profession: str
    position: str
    workplace: str
    employer_number: str
    employer_kind: EmployerKind | None
    group_code: str
    group_name_kk: str
    group_name_ru: str
    group_name_en: str
    valid_from: dt.date
    valid_to: dt.date | None
    current: bool
    main: bool


class JobsOut(BaseModel):
    book_id: int
    employments: list[EmploymentOut]


class LanguageIn(Strict):
    language: Language


class EntryIn(Strict):
    kind: ClinicalKind
    item_code: Code = Field(pattern=CODE)
    performed_on: dt.date
    result: Result | None = None
    result_text: str = Field(default="", max_length=2000)
    codes: list[str] = Field(default_factory=list, max_length=10)
    # a diagnosis (specialist_diagnosis, past_infection) is active or resolved; the journal refuses it missing
    # there and present on any other kind (C-30), with a coded error
    clinical_status: ClinicalStatus | None = None


class CorrectionIn(EntryIn):
    # Optional here so that a missing reason is refused with its own code (medbook.correction_reason_required).
    reason: str | None = Field(default=None, max_length=2000)


class ClearanceIn(Strict):
    decision: Decision
    performed_on: dt.date | None = None
    note: str = Field(default="", max_length=2000)


class FieldChange(BaseModel):
    field: str
    old: str | int | list[str] | None
    new: str | int | list[str] | None


class EntryOut(BaseModel):
    id: int
    kind: EntryKind
    item_code: str
    item_name: str
    performed_on: dt.date
    result: Result | None
    result_text: str
    codes: list[str]
    clearance: str | None
    valid_until: dt.date | None
    referral_entity_id: int | None
    caused_by_id: int | None
    entity_id: int
    author_account_id: int | None
    author_name: str
    source: str
    recorded_at: dt.datetime
    current: bool
    supersedes_id: int | None
    superseded_by_id: int | None
    reason: str | None
    changes: list[FieldChange]
    canonical: str
    canonical_sha256: str
    signature_state: str
    signature_label: str
    clinical_status: str | None = None  # a diagnosis: active or resolved (C-30)
    diagnoses: list[str] = Field(default_factory=list)  # a diagnosis's codes by name, in the book's language
    retracted: bool = False  # a retraction (issue 17: entered in error at the MIS)
    retracted_by_id: int | None = None  # the retraction that withdrew this entry
    # a referral's receiving organization (in the book's language) and its state: no_target, sent, acknowledged
    referral_entity_name: str | None = None
    referral_state: str | None = None
    referral_acknowledged_on: dt.date | None = None


class OwnerOut(BaseModel):
    person_id: int
    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: dt.date
    address: str | None


class ClearanceOut(BaseModel):
    status: ClearanceStatus
    decided_on: dt.date | None
    valid_until: dt.date | None
    # a later grant recorded but not yet signed by its clinician: it takes effect once signed (C-06, C-40)
    pending_grant_on: dt.date | None = None


class BookOut(BaseModel):
    id: int
    language: Language
    owner: OwnerOut
    profession: str
    position: str
    workplace: str
    employer_bin: str
    employer_kind: EmployerKind | None = None  # a BIN names a legal entity, an IIN an individual entrepreneur
    group_code: str
    group_name: str
    group_verified: bool
    entity_id: int
    entity_name: str
    issued_on: dt.date
    clearance: ClearanceOut
    entries: list[EntryOut]
    employments: list[EmploymentOut] = []  # issue 15: the owner's jobs, the current ones first


class ReadOut(BaseModel):
    """One visit of a reader to the book for one purpose: repeated reads close together count as one."""

    at: dt.datetime  # the latest read of the visit, in Kazakhstan's time (UTC+05:00)
    at_local: str  # the same as dd.mm.yyyy HH:MM
    time_zone: str
    reader: str
    role: str
    organization: str
    purpose: str
    count: int = 1  # reads in the visit


class ReadsPage(BaseModel):
    """A page of the "who read my book" list, latest visit first."""

    items: list[ReadOut]
    page: int
    per_page: int
    has_previous: bool
    has_next: bool


class EmployerWorkerOut(BaseModel):
    """Clearance status and dates only: no journal, no result, no diagnosis."""

    book_id: int
    surname: str
    given_name: str
    patronymic: str | None
    position: str
    status: ClearanceStatus
    decided_on: dt.date | None
    valid_until: dt.date | None


class ReminderOut(BaseModel):
    book_id: int
    person_id: int
    surname: str
    given_name: str
    employer_bin: str
    valid_until: dt.date
    days_left: int


class ReferralOut(BaseModel):
    entry_id: int
    book_id: int
    person_id: int
    iin: str
    surname: str
    given_name: str
    referred_on: dt.date
    from_entity_id: int
    cause_item: str
    cause_result: str | None
    open: bool
    cause_item_name: dict[str, str] = Field(default_factory=dict)  # the item's name in kk, ru and en
    from_entity_name_kk: str = ""
    from_entity_name_ru: str = ""
    to_entity_id: int | None = None
    acknowledged: bool = False
    acknowledged_at: dt.datetime | None = None
    acknowledged_on: dt.date | None = None  # the day in Kazakhstan


class AcknowledgeIn(Strict):
    note: str = Field(default="", max_length=500)


class ReceiptOut(BaseModel):
    """The receiving organization's acknowledgement of a referral (C-30)."""

    entry_id: int
    entity_id: int
    acknowledged_by: int | None
    acknowledged_at: dt.datetime
    note: str
