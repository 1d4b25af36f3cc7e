"""Pydantic schemas of personal medical books: catalogue, appointments, books, journal entries and the views
of the owner, the staff and the employer (the employer's carries no clinical field)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field

from emhana.identity.schemas import BIN, IIN, Strict
from emhana.medbook.rules import ClearanceStatus, EntryKind, Language, Result

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
    kind: ClinicalKind
    code: Code = Field(pattern=CODE)
    female_only: bool = False
    infection: bool = False
    months: int | None = Field(default=None, ge=1, le=120)


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


class EmployerLinkIn(Strict):
    account_id: int
    bin: BIN


class BookIn(Strict):
    iin: IIN
    profession: str = Field(min_length=1, max_length=200)
    position: str = Field(min_length=1, max_length=200)
    workplace: str = Field(min_length=1, max_length=300)
    employer_bin: BIN
    group_code: Code = Field(pattern=CODE, max_length=40)
    language: Language


class LookupIn(Strict):
    iin: IIN
    purpose: str = Field(default="", max_length=200)


class LanguageIn(Strict):
    language: Language


class EntryIn(Strict):
    kind: ClinicalKind
    item_code: Code = Field(pattern=CODE)
    performed_on: dt.date
    result: Result | None = None
    result_text: str = Field(default="", max_length=2000)
    codes: list[str] = Field(default_factory=list, max_length=10)


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


class BookOut(BaseModel):
    id: int
    language: Language
    owner: OwnerOut
    profession: str
    position: str
    workplace: str
    employer_bin: str
    group_code: str
    group_name: str
    group_verified: bool
    entity_id: int
    entity_name: str
    issued_on: dt.date
    clearance: ClearanceOut
    entries: list[EntryOut]


class ReadOut(BaseModel):
    at: dt.datetime
    reader: str
    role: str
    purpose: str


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
