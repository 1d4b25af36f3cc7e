"""The facility layer as a plan: legal entities with their sites and catchments (docs/scale.md §1 recipe)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from emhana.devtools.generator import naming
from emhana.devtools.generator.geo import REPUBLICAN_CITIES, Geography, Place, Region, offset_point, rng_for
from emhana.devtools.generator.params import GeneratorParams
from emhana.facilities.rules import LegalForm, Ownership, SiteKind


@dataclass
class SitePlan:
    code: str
    kind: SiteKind
    kato: str
    name_ru: str
    name_kk: str
    address_ru: str
    address_kk: str
    lat: float
    lon: float
    gp_share: float  # share of the people served by GP districts (1.0: GP only)
    spread_km: float  # how far from the site its urban people live
    catchment: list[tuple[Place, float]] = field(default_factory=list)  # place, full-scale people
    persons: int = 0  # people allocated at the requested scale
    districts: list[tuple[str, int]] = field(default_factory=list)  # (profile, capacity)

    @property
    def weight(self) -> float:
        return sum(w for _, w in self.catchment)


@dataclass
class EntityPlan:
    key: str  # stable identity, e.g. "crb/103200000", "city/710000000/3"
    region: str
    type: str  # district_hospital | city_polyclinic | private_centre
    name_ru: str
    name_kk: str
    legal_form: LegalForm
    ownership: Ownership
    sites: list[SitePlan] = field(default_factory=list)


def rural_kind(params: GeneratorParams, population: float) -> SiteKind | None:
    """Return the kind of site a settlement of this size gets under the network norms (docs/scale.md §1)."""
    for bound, kind in params.rural_norms:
        if population < bound:
            return kind
    return params.rural_norms[-1][1]


def _site(
    entity: EntityPlan,
    kind: SiteKind,
    place: Place,
    names: tuple[str, str],
    rng: random.Random,
    km: tuple[float, float],
    gp_share: float,
    spread_km: float = 0.0,
) -> SitePlan:
    lat, lon = offset_point(rng, place.lat, place.lon, *km)
    addr_ru, addr_kk = naming.street_address(rng, place.locality_ru, place.locality_kk, flat=False)
    site = SitePlan(
        code=f"S{len(entity.sites) + 1:03d}",
        kind=kind,
        kato=place.code,
        name_ru=names[0],
        name_kk=names[1],
        address_ru=addr_ru,
        address_kk=addr_kk,
        lat=lat,
        lon=lon,
        gp_share=gp_share,
        spread_km=spread_km,
    )
    entity.sites.append(site)
    return site


def _city(
    seed: int,
    params: GeneratorParams,
    region: Region,
    part: Place,
    city: tuple[str, str],
    republican: bool,
    first_number: int,
    reserve: float = 0.0,
) -> list[EntityPlan]:
    """State polyclinics (one per 30-60 k residents) and private centres of one city district or town."""
    rng = rng_for(seed, "city", part.code)
    pop = part.population * (1.0 - reserve)
    n_state = max(1, round(pop / rng.uniform(*params.polyclinic_residents)))
    n_private = round(pop / params.private_residents)
    private_pop = pop * params.private_share if n_private else 0.0
    radius = 1.0 + 3.0 * math.sqrt(part.population / 5e5)
    out: list[EntityPlan] = []
    shares = [rng.uniform(0.7, 1.3) for _ in range(n_state)]
    for i, share in enumerate(shares):
        number = first_number + i
        e_ru, e_kk, s_ru, s_kk = naming.city_polyclinic_names(number, *city, region.name_ru, region.name_kk, republican)
        entity = EntityPlan(
            f"city/{part.code}/{number}",
            region.code,
            "city_polyclinic",
            e_ru,
            e_kk,
            LegalForm.STATE_ENTERPRISE_PHV,
            Ownership.STATE,
        )
        people = (pop - private_pop) * share / sum(shares)
        main = _site(
            entity,
            SiteKind.POLYCLINIC,
            part,
            (s_ru, s_kk),
            rng,
            (0.2, radius),
            params.polyclinic_gp_share,
            spread_km=2.5,
        )
        if rng.random() < 0.25:  # a branch (филиал) sharing the catchment
            branch = _site(
                entity,
                SiteKind.POLYCLINIC,
                part,
                (
                    f"Филиал городской поликлиники №{number}"
                    if republican
                    else f"Филиал поликлиники №{number} г. {city[0]}",
                    f"{s_kk} филиалы",
                ),
                rng,
                (0.2, radius),
                params.polyclinic_gp_share,
                spread_km=2.0,
            )
            branch.catchment.append((part, 0.3 * people))
            people *= 0.7
        main.catchment.append((part, people))
        out.append(entity)
    brands = list(naming.BRANDS)
    rng_for(seed, "brands", part.code).shuffle(brands)
    for i in range(n_private):
        brand = brands[i % len(brands)] + ("" if i < len(brands) else f"-{i // len(brands) + 1}")
        e_ru, e_kk, s_ru, s_kk = naming.private_names(brand, centre=rng.random() < 0.75)
        entity = EntityPlan(
            f"private/{part.code}/{i + 1}", region.code, "private_centre", e_ru, e_kk, LegalForm.LLP, Ownership.PRIVATE
        )
        site = _site(entity, SiteKind.FAMILY_HEALTH_CENTRE, part, (s_ru, s_kk), rng, (0.2, radius), 1.0, 2.0)
        site.catchment.append((part, private_pop / n_private))
        out.append(entity)
    return out


def build_network(seed: int, params: GeneratorParams, geo: Geography) -> list[EntityPlan]:
    """Return the full-scale facility layer: every entity with every site and its catchment."""
    by_district: dict[str, list[Place]] = {}
    for p in geo.places:
        by_district.setdefault(p.district, []).append(p)
    region_by = {r.code: r for r in geo.regions}
    entities: list[EntityPlan] = []
    for region in geo.regions:
        if region.code in REPUBLICAN_CITIES:
            city = (naming.base_name(region.name_ru), naming.base_name(region.name_kk))
            number = 1
            for part in by_district.get(region.code, []):
                made = _city(seed, params, region, part, city, True, number)
                number += sum(e.type == "city_polyclinic" for e in made)
                entities.extend(made)
    for code, row in geo.districts.items():
        if code[:2] + "0000000" in REPUBLICAN_CITIES or code not in by_district:
            continue
        entities.extend(_district(seed, params, region_by[code[:2] + "0000000"], row, by_district[code]))
    return entities


def _district(
    seed: int, params: GeneratorParams, region: Region, row: dict[str, str], places: list[Place]
) -> list[EntityPlan]:
    """Entities of one oblast district: its district hospital (ЦРБ) with rural branches, and its cities."""
    rng = rng_for(seed, "district", row["code"])
    hamlets: dict[str, list[Place]] = {}
    main = [p for p in places if p.role != "hamlet"]
    codes = {p.code for p in main}
    for p in places:
        if p.role == "hamlet":
            hamlets.setdefault(p.parent if p.parent in codes else "", []).append(p)

    def group(p: Place) -> float:
        return p.population + sum(h.population for h in hamlets.get(p.code, []))

    city_admin = "Г.А." in row["name_ru"]
    cities = sorted(
        (p for p in main if p.role in ("town", "urban") and p.population >= params.city_min_population),
        key=lambda p: -p.population,
    )
    if city_admin and not cities and main:
        towns = [p for p in main if p.role == "town"] or main
        cities = [max(towns, key=lambda p: p.population)]
    seat = cities[0] if cities else max(main, key=group)
    city_codes = {c.code for c in cities}
    out: list[EntityPlan] = []
    head: SitePlan
    owner: EntityPlan
    reserve = 0.0 if city_admin else 0.15
    for town in cities:
        names = (naming.base_name(town.name_ru), naming.base_name(town.name_kk))
        made = _city(seed, params, region, town, names, False, 1, reserve if town is seat else 0.0)
        out.extend(made)
        first = made[0].sites[0]
        first.catchment.extend((h, h.population) for h in hamlets.get(town.code, []))
    if city_admin:
        owner, head = out[0], out[0].sites[0]
    else:
        e_ru, e_kk, h_ru, h_kk = naming.district_hospital_names(
            row["name_ru"], row["name_kk"], region.name_ru, region.name_kk, multi=rng.random() < 0.3
        )
        owner = EntityPlan(
            f"crb/{row['code']}",
            region.code,
            "district_hospital",
            e_ru,
            e_kk,
            LegalForm.STATE_ENTERPRISE_PHV,
            Ownership.STATE,
        )
        head = _site(owner, SiteKind.POLYCLINIC, seat, (h_ru, h_kk), rng, (0.2, 1.5), params.rural_polyclinic_gp_share)
        if seat.code in city_codes:
            head.catchment.append((seat, seat.population * reserve))
        else:
            head.catchment.append((seat, seat.population))
            head.catchment.extend((h, h.population) for h in hamlets.get(seat.code, []))
        out.insert(0, owner)
    by_okrug: dict[str, SitePlan] = {}
    small: list[Place] = []
    for p in main:
        if p is seat or p.code in city_codes:
            continue
        kind = rural_kind(params, group(p))
        if kind is None:
            small.append(p)
            continue
        gp = params.rural_polyclinic_gp_share if kind is SiteKind.POLYCLINIC else 1.0
        names = naming.rural_site_names(kind, p.name_ru, p.name_kk)
        site = _site(owner, kind, p, names, rng, (0.05, 1.0), gp)
        site.catchment.extend([(p, p.population)] + [(h, h.population) for h in hamlets.get(p.code, [])])
        if p.role == "centre" and p.parent:
            by_okrug[p.parent] = site
    # Settlements under 50 people: a visiting health worker from the okrug centre or the district seat.
    for p in small:
        target = by_okrug.get(p.parent or "", head)
        target.catchment.extend([(p, p.population)] + [(h, h.population) for h in hamlets.get(p.code, [])])
    head.catchment.extend((h, h.population) for h in hamlets.get("", []))
    return out
