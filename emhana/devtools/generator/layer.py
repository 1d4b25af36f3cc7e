"""Write the planned facility layer: entities, licences, inclusions, sites, districts, doctors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from emhana.devtools.generator.geo import rng_for
from emhana.devtools.generator.names import name_book
from emhana.devtools.generator.network import EntityPlan
from emhana.devtools.generator.params import GeneratorParams
from emhana.devtools.generator.people import IinCounter, PersonFactory
from emhana.devtools.generator.plan import Plan
from emhana.devtools.generator.sink import reserve_ids
from emhana.facilities.models import District, Entity, Inclusion, Licence, Post, Practitioner, Site
from emhana.facilities.rules import InclusionStatus, Ownership, Profile
from emhana.identity.rules import make_bin
from emhana.kernel.db import Base
from emhana.reference.loader import KATO_VERSION

SPECIALTY = {
    Profile.GP.value: "general_practice",
    Profile.THERAPIST.value: "therapy",
    Profile.PEDIATRIC.value: "pediatrics",
}
TITLE = {
    Profile.GP.value: "Врач общей практики",
    Profile.THERAPIST.value: "Участковый терапевт",
    Profile.PEDIATRIC.value: "Участковый педиатр",
}
SUBTYPES = {
    "district_hospital": "PHC,inpatient,emergency,lab",
    "city_polyclinic": "PHC,diagnostics,lab",
    "private_centre": "PHC,lab",
}


@dataclass(frozen=True)
class LayerCounts:
    entities: int
    sites: int
    districts: int
    practitioners: int


def _bin(rng: Any, state: bool, taken: set[str]) -> str:
    """A valid, unused BIN: registration year/month, type 4 (resident legal entity), attribute 0 (head)."""
    while True:
        year = rng.randint(1998, 2012) if state else rng.randint(2005, 2022)
        value = make_bin(year, rng.randint(1, 12), 4, 0, rng.randint(1, 99_999))
        if value is not None and value not in taken:
            taken.add(value)
            return value


def _insert(conn: Connection, model: type[Base], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5_000):
        conn.execute(insert(model), rows[start : start + 5_000])


def write_layer(conn: Connection, plan: Plan, seed: int, params: GeneratorParams, iins: IinCounter) -> LayerCounts:
    """Write every planned entity with its licence, inclusion period, sites, districts and doctors."""
    entities: list[EntityPlan] = plan.entities
    sites = [s for e in entities for s in e.sites]
    n_districts = sum(len(s.districts) for s in sites)
    n_doctors = n_districts if params.with_practitioners else 0
    first = {
        name: reserve_ids(conn, name, n)
        for name, n in (
            ("entity", len(entities)),
            ("licence", len(entities)),
            ("inclusion", len(entities)),
            ("site", len(sites)),
            ("district", n_districts),
            ("practitioner", n_doctors),
            ("post", n_doctors),
        )
    }
    taken = set(conn.scalars(select(Entity.bin)))
    year = params.as_of.year
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in first}
    doctors = PersonFactory(seed, params, name_book(), iins, stream="practitioners")
    site_id, district_id, doctor_id = first["site"], first["district"], first["practitioner"]
    for i, e in enumerate(entities):
        rng = rng_for(seed, "entity", e.key)
        entity_id = first["entity"] + i
        state = e.ownership is Ownership.STATE
        rows["entity"].append(
            {
                "id": entity_id,
                "bin": _bin(rng, state, taken),
                "name_kk": e.name_kk,
                "name_ru": e.name_ru,
                "legal_form": e.legal_form.value,
                "ownership": e.ownership.value,
                "program_gobmp": state or rng.random() < 0.9,
                "program_osms": True,
                "contract_from": dt.date(year, 1, 1),
                "contract_to": dt.date(year + params.contract_years - 1, 12, 31),
                "region_kato": e.region,
            }
        )
        rows["licence"].append(
            {
                "id": first["licence"] + i,
                "entity_id": entity_id,
                "number": f"KZ{rng.randint(10, 99)}LAA{rng.randint(0, 99_999_999):08d}",
                "issued_on": dt.date(rng.randint(2010, year - 2), rng.randint(1, 12), rng.randint(1, 28)),
                "valid_until": None,
                "subtypes": SUBTYPES[e.type],
            }
        )
        rows["entity"][-1]["sur_registered_on"] = rows["licence"][-1]["issued_on"]  # registered in СУР (C-04)
        rows["inclusion"].append(
            {
                "id": first["inclusion"] + i,
                "entity_id": entity_id,
                "status": InclusionStatus.INCLUDED.value,
                "effective_from": dt.date(rng.randint(2020, year - 1), 1, 1),
                "effective_to": None,
                "reason": "Заявка на включение в базу данных субъектов здравоохранения",
            }
        )
        for site in e.sites:
            rows["site"].append(
                {
                    "id": site_id,
                    "entity_id": entity_id,
                    "code": site.code,
                    "kind": site.kind.value,
                    "name_kk": site.name_kk,
                    "name_ru": site.name_ru,
                    "address_kk": site.address_kk,
                    "address_ru": site.address_ru,
                    "kato_code": site.kato,
                    "kato_version": KATO_VERSION,
                    "lat": site.lat,
                    "lon": site.lon,
                    "active": True,
                }
            )
            for number, (profile, capacity) in enumerate(site.districts, start=1):
                doctor = None
                if params.with_practitioners:
                    iin, surname, given, patronymic, *_ = doctors.identity(age=rng.randint(26, 64))
                    doctor = doctor_id
                    rows["practitioner"].append(
                        {
                            "id": doctor,
                            "iin": iin,
                            "surname": surname,
                            "given_name": given,
                            "patronymic": patronymic,
                            "specialties": SPECIALTY[profile],
                        }
                    )
                    rows["post"].append(
                        {
                            "id": first["post"] + doctor_id - first["practitioner"],
                            "practitioner_id": doctor,
                            "entity_id": entity_id,
                            "site_id": site_id,
                            "title": TITLE[profile],
                            "rate": 1.0,
                            "valid_from": dt.date(rng.randint(2010, year - 1), rng.randint(1, 12), 1),
                            "valid_to": None,
                        }
                    )
                    doctor_id += 1
                rows["district"].append(
                    {
                        "id": district_id,
                        "site_id": site_id,
                        "number": number,
                        "profile": profile,
                        "capacity": capacity,
                        "doctor_id": doctor,
                        "active": True,
                    }
                )
                district_id += 1
            site_id += 1
    models: dict[str, type[Base]] = {
        "entity": Entity,
        "licence": Licence,
        "inclusion": Inclusion,
        "site": Site,
        "practitioner": Practitioner,
        "district": District,
        "post": Post,
    }
    for name, model in models.items():
        _insert(conn, model, rows[name])
    return LayerCounts(len(entities), len(sites), n_districts, n_doctors)
