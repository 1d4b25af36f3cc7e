"""Pydantic types and schemas of the identity domain; IIN and BIN errors keep their stable codes."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from emhana.identity.rules import (
    BasisDocument,
    RepresentationBasis,
    bin_problem,
    clean_name,
    iin_problem,
    name_problem,
)
from emhana.kernel.i18n import N_

REASON_DEATH_BEFORE_BIRTH = N_("the death date is before the birth date")
REASON_PERIOD_REVERSED = N_("the period ends before it begins")


def _check_iin(value: str) -> str:
    value = value.strip()
    reason = iin_problem(value)
    if reason is not None:
        raise PydanticCustomError("identity.invalid_iin", "The IIN is not valid: {reason}.", {"reason": reason})
    return value


def _check_bin(value: str) -> str:
    value = value.strip()
    reason = bin_problem(value)
    if reason is not None:
        raise PydanticCustomError("identity.invalid_bin", "The BIN is not valid: {reason}.", {"reason": reason})
    return value


def _check_name(value: str) -> str:
    reason = name_problem(value)
    if reason is not None:
        raise PydanticCustomError("identity.invalid_name", "The name is not valid: {reason}.", {"reason": reason})
    return clean_name(value)


IIN = Annotated[str, AfterValidator(_check_iin)]
BIN = Annotated[str, AfterValidator(_check_bin)]
# A surname, given name or patronymic: letters, spaces, hyphens and apostrophes only (identity.rules.name_problem).
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_check_name)]


class Category(StrEnum):
    """Who may attach (docs/domain.md §1.2, A-10..A-15)."""

    CITIZEN = "citizen"
    KANDAS = "kandas"
    REFUGEE = "refugee"
    RESIDENT_FOREIGNER = "resident_foreigner"  # A-13, residence permit
    EAEU_MIGRANT = "eaeu_migrant"  # A-14, insured for the contract term
    TEMPORARY_FOREIGNER = "temporary_foreigner"


class AddressKind(StrEnum):
    PERMANENT = "permanent"
    TEMPORARY = "temporary"
    ACTUAL = "actual"
    WORK = "work"
    STUDY = "study"


class DocumentKind(StrEnum):
    ID_CARD = "id_card"
    PASSPORT = "passport"
    BIRTH_CERTIFICATE = "birth_certificate"
    RESIDENCE_PERMIT = "residence_permit"
    STATELESS_CERTIFICATE = "stateless_certificate"
    KANDAS_CERTIFICATE = "kandas_certificate"
    REFUGEE_CERTIFICATE = "refugee_certificate"
    FOREIGN_PASSPORT = "foreign_passport"
    DIGITAL_DOCUMENT = "digital_document"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressIn(Strict):
    kind: AddressKind
    text_kk: str | None = Field(default=None, max_length=500)
    text_ru: str | None = Field(default=None, max_length=500)
    kato_code: str = Field(min_length=9, max_length=9, pattern=r"^\d{9}$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    valid_from: dt.date | None = None


class DocumentIn(Strict):
    kind: DocumentKind
    number: str = Field(min_length=1, max_length=40)
    issuer: str | None = Field(default=None, max_length=200)
    issued_on: dt.date | None = None
    expires_on: dt.date | None = None


class PersonIn(Strict):
    iin: IIN
    surname: Name
    given_name: Name
    patronymic: Name | None = None
    birth_date: dt.date
    sex: str = Field(pattern="^(male|female)$")
    category: Category = Category.CITIZEN
    death_date: dt.date | None = None
    addresses: list[AddressIn] = Field(default_factory=list, max_length=10)
    phones: list[str] = Field(default_factory=list, max_length=5)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _dates(self) -> PersonIn:
        if self.death_date is not None and self.death_date < self.birth_date:
            raise PydanticCustomError(
                "core.invalid_dates", "The dates are not consistent: {reason}.", {"reason": REASON_DEATH_BEFORE_BIRTH}
            )
        return self


class AddressOut(BaseModel):
    kind: str
    text_kk: str | None
    text_ru: str | None
    kato_code: str
    kato_version: str
    lat: float | None
    lon: float | None


class DocumentOut(BaseModel):
    kind: str
    number: str
    issuer: str | None
    issued_on: dt.date | None
    expires_on: dt.date | None


class PersonOut(BaseModel):
    id: int
    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: dt.date
    sex: str
    category: str
    death_date: dt.date | None
    addresses: list[AddressOut]
    phones: list[str]
    documents: list[DocumentOut]
    hints: list[str] = Field(default_factory=list, description="IIN decoding warnings (D-03: hints only)")


class RepresentationIn(Strict):
    """A legal representation and the document it rests on (A-24, A-63, A-65, A-67); without ``valid_to`` a
    minor's representation ends on the eve of the 18th birthday, an adult's when its decision is revoked."""

    representative_id: int = Field(ge=1)
    represented_id: int = Field(ge=1)
    basis: RepresentationBasis
    document_kind: BasisDocument
    document_number: str = Field(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")
    basis_document: str = Field(default="", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")  # issuer, date
    valid_from: dt.date
    valid_to: dt.date | None = None

    @model_validator(mode="after")
    def _period(self) -> RepresentationIn:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise PydanticCustomError(
                "core.invalid_dates", "The dates are not consistent: {reason}.", {"reason": REASON_PERIOD_REVERSED}
            )
        return self


class RepresentationOut(BaseModel):
    id: int
    representative_id: int
    represented_id: int
    basis: str
    document_kind: str
    document_number: str
    basis_document: str
    valid_from: dt.date
    valid_to: dt.date | None
