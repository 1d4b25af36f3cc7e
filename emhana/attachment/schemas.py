"""Pydantic schemas of the attachment campaign."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from emhana.attachment.enums import AtuLevel, ChangeReason, DocKind, Holder, PlaceBasis
from emhana.kernel.i18n import N_

REASON_WINDOW_REVERSED = N_("the campaign window ends before it begins")
REASON_WINDOW_YEAR = N_("the campaign window must begin in the campaign year")


def _invalid_dates(reason: str) -> PydanticCustomError:
    """Return the validation error that renders as core.invalid_dates."""
    return PydanticCustomError("core.invalid_dates", "The dates are not consistent: {reason}.", {"reason": reason})


# Scans of documents attached to an application (A-60..A-66): at most 10 MiB, PDF or an image.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/tiff"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PolicyIn(Strict):
    year: int = Field(ge=2000, le=2100)
    window_start: dt.date
    window_end: dt.date
    effective_date: dt.date | None = Field(default=None, description="Defaults to 1 January of the next year (A-05)")
    year_round: bool = False
    max_voluntary_changes_per_year: Literal[1, 2] = 1
    allow_work_basis: bool = True
    allow_study_basis_18plus: bool = True
    border_exception: bool = True
    children_under_5_actual_residence: bool = True
    pregnant_actual_residence: bool = Field(default=True, description="A-23 (M): pregnant women by actual residence")
    care_at_home_by_applicant: bool = Field(
        default=False, description="A-26 (M): the applicant's choice of home visits outside the zone stands"
    )
    capacity_check: bool = True
    first_attachment_any_time: bool = True
    atu_level: AtuLevel = AtuLevel.DISTRICT
    source: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _window(self) -> PolicyIn:
        """Refuse a reversed window or one outside the campaign year."""
        if self.window_end < self.window_start:
            raise _invalid_dates(REASON_WINDOW_REVERSED)
        if self.window_start.year != self.year:
            raise _invalid_dates(REASON_WINDOW_YEAR)
        return self


class PolicyOut(BaseModel):
    year: int
    window_start: dt.date
    window_end: dt.date
    effective_date: dt.date | None
    year_round: bool
    max_voluntary_changes_per_year: int
    allow_work_basis: bool
    allow_study_basis_18plus: bool
    border_exception: bool
    children_under_5_actual_residence: bool
    pregnant_actual_residence: bool
    care_at_home_by_applicant: bool
    capacity_check: bool
    first_attachment_any_time: bool
    atu_level: str
    source: str
    version: int


class DocumentIn(Strict):
    holder: Holder = Holder.PERSON
    kind: DocKind
    number: str = Field(min_length=1, max_length=60)
    expires_on: dt.date | None = None


class ApplicationIn(Strict):
    person_id: int
    district_id: int
    place_basis: PlaceBasis = PlaceBasis.RESIDENCE_PERMANENT
    border_claim: bool = False
    change_reason: ChangeReason | None = None
    applicant_person_id: int | None = Field(default=None, description="A representative applying in person")
    pregnant: bool = Field(
        default=False,
        description="A-23 (M): the person declares a pregnancy (a registrar "
        "verifies it when it admits the actual-residence basis)",
    )
    care_at_home: bool | None = Field(
        default=None,
        description="A-26 (M): the applicant asks for home visits "
        "should the address lie outside the organization's service zone",
    )
    documents: list[DocumentIn] = Field(default_factory=list, max_length=10)

    @field_validator("change_reason", mode="before")
    @classmethod
    def _a42(cls, value: object) -> object:
        """A-42: only relocation and closure are reasons for a change outside the campaign (a coded error)."""
        if value is not None and value not in {r.value for r in ChangeReason}:
            raise PydanticCustomError("attachment.reason_unknown", "The reason is not one of A-42.")
        return value


class Messages(BaseModel):
    code: str
    messages: dict[str, str]


class ReasonOut(Messages):
    note: str | None = None


class DocumentOut(BaseModel):
    id: int
    holder: str
    kind: str
    number: str
    expires_on: dt.date | None
    file_name: str | None
    content_type: str | None
    sha256: str | None


class AttachmentOut(BaseModel):
    id: int
    person_id: int
    entity_id: int
    site_id: int
    district_id: int
    doctor_id: int | None
    place_basis: str
    cause: str
    begin_date: dt.date
    end_date: dt.date | None
    end_reason: str | None
    insured_until: dt.date | None
    care_at_home: bool | None = Field(
        default=None,
        description="A-26: home visits agreed for a person outside the service zone (None: inside the zone)",
    )


class ApplicationOut(BaseModel):
    id: int
    person_id: int
    applicant_person_id: int
    channel: str
    entity_id: int
    site_id: int
    district_id: int
    place_basis: str
    border_claim: bool
    pregnant: bool
    care_at_home: bool | None
    change_reason: str | None
    state: str
    review: list[Messages]
    reason: ReasonOut | None
    submitted_at: dt.datetime
    deadline: dt.datetime
    overdue: bool
    decided_at: dt.datetime | None
    version: int
    attachment: AttachmentOut | None
    documents: list[DocumentOut]


class PersonAttachmentsOut(BaseModel):
    person_id: int
    current: AttachmentOut | None = Field(description="The attachment in effect today")
    upcoming: AttachmentOut | None = Field(description="An approved attachment that takes effect later (A-05)")
    history: list[AttachmentOut]
    applications: list[ApplicationOut]


class MyAttachmentsOut(BaseModel):
    me: PersonAttachmentsOut | None
    represented: list[PersonAttachmentsOut]


class DecisionIn(Strict):
    decision: Literal["approve", "refuse"]
    reason_code: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)
    care_at_home: bool | None = Field(
        default=None,
        description="A-26: home visits agreed for a person outside "
        "the service zone (by default the applicant's choice where the policy "
        "allows it, else no)",
    )


class DistrictFreeOut(BaseModel):
    district_id: int
    number: int
    profile: str
    capacity: int
    attached: int
    free: int
    doctor_id: int | None


class SiteFreeOut(BaseModel):
    site_id: int
    entity_id: int
    districts: list[DistrictFreeOut]


class NearFreeOut(BaseModel):
    site_id: int
    site_name_kk: str
    site_name_ru: str
    address_kk: str
    address_ru: str
    kind: str
    lat: float
    lon: float
    distance_km: float
    entity_id: int
    entity_name_kk: str
    entity_name_ru: str
    free: int
    districts: list[DistrictFreeOut]


class DetachIn(Strict):
    reason: Literal["death", "emigration", "insurance_ended"]
    on: dt.date


class RedistributeIn(Strict):
    on: dt.date


class RedistributeOut(BaseModel):
    moved: int
    unplaced_person_ids: list[int]


class DailyIn(Strict):
    day: dt.date


class DailyOut(BaseModel):
    in_effect: int
    detached_dead: int
    detached_uninsured: int


class SnapshotIn(Strict):
    as_of: dt.date
    bands: str | None = Field(default=None, max_length=200, description="For example 0-4,5-14,15-17,18-39,40-64,65+")


class CountOut(BaseModel):
    entity_id: int
    sex: str
    band: str
    count: int


class SnapshotOut(BaseModel):
    id: int
    as_of: dt.date
    bands: str
    total: int
    taken_at: dt.datetime
    counts: list[CountOut]


class HolidayOut(BaseModel):
    date: dt.date
    kind: str
    name_kk: str
    name_ru: str
    name_en: str


class DeadlineOut(BaseModel):
    submitted_at: dt.datetime
    deadline: dt.datetime


class OutlookOut(BaseModel):
    """What an application for a person would meet today, before it is filed (A-41, A-42)."""

    person_id: int
    window_open: bool
    attached: bool
    needs_reason: bool = Field(description="A-42: outside the campaign a change needs a valid reason")
    reasons: list[ChangeReason] = Field(description="A-42: the reasons the registry's data support today")
    uses_quota: bool = Field(description="A-41: filing now uses one of the year's voluntary changes")
    changes_used: int
    changes_allowed: int
    replaces_change_from: dt.date | None = Field(
        description="An approved change not yet in effect (from this day) that this application would replace"
    )
