"""Pure rules of the healthcare-entity database: participation, geography, import-row checks."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from emhana.kernel.i18n import N_

EARTH_RADIUS_KM = 6371.0088

# Kazakhstan's extent with a small margin (extreme points 40.56–55.44 N, 46.49–87.36 E).


class SiteKind(StrEnum):
    """Kinds of PHC sites (docs/scale.md §1, network norms of decree No. 962 of 30.11.2022)."""

    POLYCLINIC = "polyclinic"
    FAMILY_HEALTH_CENTRE = "family_health_centre"
    DOCTORS_OUTPATIENT_CLINIC = "doctors_outpatient_clinic"  # врачебная амбулатория
    FELDSHER_MIDWIFE_POST = "feldsher_midwife_post"  # ФАП
    MEDICAL_POINT = "medical_point"  # медицинский пункт


class Profile(StrEnum):
    """District profiles (A-81): GP (mixed), district therapist (adults), pediatrician (children)."""

    GP = "gp"
    THERAPIST = "therapist"
    PEDIATRIC = "pediatric"


class LegalForm(StrEnum):
    STATE_ENTERPRISE_PHV = "state_enterprise_phv"  # ГКП/КГП на ПХВ
    STATE_INSTITUTION = "state_institution"  # ГУ / КГУ
    LLP = "llp"  # ТОО
    JSC = "jsc"  # АО
    INDIVIDUAL_ENTREPRENEUR = "individual_entrepreneur"  # ИП: identified by IIN
    OTHER = "other"


class Ownership(StrEnum):
    STATE = "state"
    PRIVATE = "private"


class InclusionStatus(StrEnum):
    """Status of an entity in the database (B-05, B-06)."""

    INCLUDED = "included"
    EXCLUDED = "excluded"


@dataclass(frozen=True)
class InclusionPeriod:
    status: InclusionStatus
    effective_from: dt.date
    effective_to: dt.date | None


class Dated(Protocol):
    """A period of an entity's status: an InclusionPeriod or an inclusion row."""

    @property
    def effective_from(self) -> dt.date: ...
    @property
    def effective_to(self) -> dt.date | None: ...


P = TypeVar("P", bound=Dated)


def in_force(effective_from: dt.date, effective_to: dt.date | None, day: dt.date) -> bool:
    """Tell whether a period holds on a day: from its first day, up to ``effective_to`` excluded (B-05).

    The one date rule of "entity included on a day"; facilities.inclusion states it in SQL."""
    return effective_from <= day and (effective_to is None or day < effective_to)


def period_on(periods: Iterable[P], day: dt.date) -> P | None:
    """Return the period in force on a day: the latest begun of those that hold (the later listed on a tie)."""
    current: P | None = None
    for period in sorted(periods, key=lambda p: p.effective_from):
        if in_force(period.effective_from, period.effective_to, day):
            current = period
    return current


def status_on(periods: Sequence[InclusionPeriod], day: dt.date) -> InclusionStatus | None:
    """Return the status in force on a day: the latest period that has begun and not ended."""
    current = period_on(periods, day)
    return None if current is None else current.status


def participates(periods: Sequence[InclusionPeriod], day: dt.date) -> bool:
    """Tell whether an entity takes part in attachment on a day (A-04, B-02: included in the database)."""
    return status_on(periods, day) is InclusionStatus.INCLUDED


def under_contract(contract_to: dt.date | None, day: dt.date) -> bool:
    """Tell whether an entity's Fund contract has not ended on a day: ``contract_to`` is its last day (A-04, B-06)."""
    return contract_to is None or day <= contract_to


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """Return (lat_min, lat_max, lon_min, lon_max) of a box that holds every point within the radius."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    lat_min, lat_max = lat - dlat, lat + dlat
    widest = max(abs(lat_min), abs(lat_max))
    if widest >= 89.0:
        return lat_min, lat_max, -180.0, 180.0
    dlon = math.degrees(radius_km / (EARTH_RADIUS_KM * math.cos(math.radians(widest))))
    return lat_min, lat_max, lon - dlon, lon + dlon


REASON_STATUS_BEFORE_CURRENT = N_("the new status cannot begin before the current one")

# Reasons of row-level import errors (message templates; see the catalogues).
ROW_BIN = N_("the BIN is not valid: {reason}")
ROW_IIN = N_("the IIN is not valid: {reason}")
ROW_REQUIRED = N_("the field {field} is required")
ROW_CHOICE = N_("the field {field} must be one of: {choices}")
ROW_DATE = N_("the field {field} must be a date YYYY-MM-DD")
ROW_NUMBER = N_("the field {field} must be a number")
ROW_KATO = N_("the KATO code {kato} is not in the classifier")
ROW_OUTSIDE = N_("the coordinates {lat}, {lon} are outside Kazakhstan")
ROW_DISTRICTS = N_("the districts must look like gp:1:1700;pediatric:2:900")
ROW_DUPLICATE_SITE = N_("the site code {code} appears twice for this BIN")
ROW_CONFLICT = N_("the entity fields differ from an earlier row with the same BIN")
ROW_PERIOD = N_("the field {field} is before {other}")
ROW_SHAPE = N_("the row is not an object with the expected fields")
FILE_MALFORMED = N_("the file cannot be read: {reason}")
FILE_EMPTY = N_("the file has no rows")
