"""Builders of valid test data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emhana.facilities.io import DistrictRecord, EntityRecord, SiteRecord

ASTANA = "710000000"
ALMATY = "750000000"


def site_record(
    code: str = "S1",
    *,
    lat: float = 51.1280,
    lon: float = 71.4304,
    kato: str = ASTANA,
    districts: list[DistrictRecord] | None = None,
    **kw: Any,
) -> SiteRecord:
    return SiteRecord(
        code=code,
        kind=kw.get("kind", "polyclinic"),
        name_kk=kw.get("name_kk", "№3 қалалық емхана"),
        name_ru=kw.get("name_ru", "Городская поликлиника №3"),
        address_kk=kw.get("address_kk", "Астана қ., Абай даңғылы, 12"),
        address_ru=kw.get("address_ru", "г.Астана, пр. Абая, 12"),
        kato=kato,
        lat=lat,
        lon=lon,
        districts=districts
        if districts is not None
        else [DistrictRecord("gp", 1, 1700), DistrictRecord("pediatric", 2, 900)],
    )


def entity_record(
    bin_: str = "150340001236", *, sites: list[SiteRecord] | None = None, status: str = "included", **kw: Any
) -> EntityRecord:
    return EntityRecord(
        bin=bin_,
        name_kk=kw.get("name_kk", 'Астана қаласы әкімдігінің "№3 қалалық емхана" ШЖҚ МКК'),
        name_ru=kw.get("name_ru", 'ГКП на ПХВ "Городская поликлиника №3" акимата города Астана'),
        legal_form=kw.get("legal_form", "state_enterprise_phv"),
        ownership=kw.get("ownership", "state"),
        program_gobmp=True,
        program_osms=True,
        licence_number=kw.get("licence_number", "KZ12LAA00001234"),
        licence_issued_on=dt.date(2015, 3, 1),
        licence_valid_until=None,
        licence_subtypes="PHC,lab",
        status=status,
        status_from=kw.get("status_from", dt.date(2020, 1, 1)),
        status_reason="",
        contract_from=dt.date(2026, 1, 1),
        contract_to=dt.date(2026, 12, 31),
        sur_registered_on=kw.get("sur_registered_on", dt.date(2015, 3, 1)),
        sites=sites
        if sites is not None
        else [
            site_record("S1"),
            site_record(
                "S2",
                lat=51.16,
                lon=71.47,
                name_ru="Филиал поликлиники №3",
                name_kk="№3 емхана филиалы",
                districts=[DistrictRecord("therapist", 1, 2200)],
            ),
        ],
    )
