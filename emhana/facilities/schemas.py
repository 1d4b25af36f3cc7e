"""Pydantic schemas of the healthcare-entity database."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from emhana.facilities.rules import InclusionStatus, LegalForm, Ownership, Profile, SiteKind
from emhana.identity.schemas import BIN, IIN, REASON_PERIOD_REVERSED


class DistrictOut(BaseModel):
    id: int
    number: int
    profile: str
    capacity: int
    doctor_id: int | None


class SiteOut(BaseModel):
    id: int
    code: str
    kind: str
    name_kk: str
    name_ru: str
    address_kk: str
    address_ru: str
    kato_code: str
    lat: float
    lon: float
    districts: list[DistrictOut]


class LicenceOut(BaseModel):
    number: str
    issued_on: dt.date
    valid_until: dt.date | None
    subtypes: list[str]


class InclusionOut(BaseModel):
    status: str
    effective_from: dt.date
    effective_to: dt.date | None
    reason: str


class EntityOut(BaseModel):
    id: int
    bin: str
    name_kk: str
    name_ru: str
    legal_form: str
    ownership: str
    program_gobmp: bool
    program_osms: bool
    contract_from: dt.date | None
    contract_to: dt.date | None
    region_kato: str | None
    status: str | None
    sur_registered_on: dt.date | None = None  # in the Resource Management System (СУР): may issue books (C-04)
    licences: list[LicenceOut]
    inclusions: list[InclusionOut]
    sites: list[SiteOut]


class EntityPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[EntityOut]


class NearOut(BaseModel):
    site_id: int
    site_code: str
    site_name_kk: str
    site_name_ru: str
    kind: str
    address_kk: str
    address_ru: str
    lat: float
    lon: float
    distance_km: float
    entity_id: int
    entity_bin: str
    entity_name_kk: str
    entity_name_ru: str
    profiles: list[str]
    districts: list[DistrictOut]


class InclusionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: InclusionStatus
    effective_from: dt.date
    reason: str = Field(min_length=1, max_length=300)


class PractitionerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    iin: IIN
    surname: str = Field(min_length=1, max_length=100)
    given_name: str = Field(min_length=1, max_length=100)
    patronymic: str | None = Field(default=None, max_length=100)
    specialties: list[str] = Field(default_factory=list, max_length=10)
    site_id: int | None = None
    title: str = Field(min_length=1, max_length=100)
    rate: float = Field(default=1.0, gt=0, le=2)
    valid_from: dt.date


class PractitionerOut(BaseModel):
    id: int
    surname: str
    given_name: str
    patronymic: str | None
    specialties: list[str]
    title: str
    site_id: int | None
    rate: float


class ImportOut(BaseModel):
    entities_created: int
    entities_updated: int
    sites_created: int
    sites_updated: int
    districts_written: int


PROFILES = [p.value for p in Profile]


class DistrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int = Field(ge=1, le=9999)
    profile: Profile
    capacity: int = Field(ge=0, le=100_000)


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=40)
    kind: SiteKind
    name_kk: str = Field(min_length=1, max_length=300)
    name_ru: str = Field(min_length=1, max_length=300)
    address_kk: str = Field(default="", max_length=500)
    address_ru: str = Field(min_length=1, max_length=500)
    kato: str = Field(pattern=r"^\d{9}$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    districts: list[DistrictIn] = Field(default_factory=list, max_length=200)


class EntityIn(BaseModel):
    """One healthcare entity as the Fund registers it (the element format of the JSON list)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    bin: BIN
    name_kk: str = Field(min_length=1, max_length=300)
    name_ru: str = Field(min_length=1, max_length=300)
    legal_form: LegalForm
    ownership: Ownership
    program_gobmp: bool = True
    program_osms: bool = True
    licence_number: str = Field(min_length=1, max_length=40)
    licence_issued_on: dt.date
    licence_valid_until: dt.date | None = None
    licence_subtypes: str = Field(default="", max_length=500)
    sur_registered_on: dt.date | None = None  # registered in the Resource Management System (СУР, C-04)
    status: InclusionStatus = InclusionStatus.INCLUDED
    status_from: dt.date
    status_reason: str = Field(default="", max_length=300)
    contract_from: dt.date | None = None
    contract_to: dt.date | None = None
    sites: list[SiteIn] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _periods(self) -> EntityIn:
        if self.contract_from and self.contract_to and self.contract_to < self.contract_from:
            raise PydanticCustomError(
                "core.invalid_dates", "The dates are not consistent: {reason}.", {"reason": REASON_PERIOD_REVERSED}
            )
        if self.licence_valid_until and self.licence_valid_until < self.licence_issued_on:
            raise PydanticCustomError(
                "core.invalid_dates", "The dates are not consistent: {reason}.", {"reason": REASON_PERIOD_REVERSED}
            )
        if len({s.code for s in self.sites}) != len(self.sites):
            raise PydanticCustomError("facilities.duplicate_site", "A site code appears twice.")
        return self
