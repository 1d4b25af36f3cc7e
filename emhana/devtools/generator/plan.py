"""Scale the facility layer to a population: pick entities and sites, allocate people, size districts."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from emhana.devtools.generator.geo import Geography, build_geography, rng_for
from emhana.devtools.generator.network import EntityPlan, SitePlan, build_network
from emhana.devtools.generator.params import GeneratorParams
from emhana.facilities.rules import Profile

ENTITY_TYPES = ("district_hospital", "city_polyclinic", "private_centre")


@dataclass
class Plan:
    """What will be written: the kept entities (sites with people and districts) over the geography."""

    geography: Geography
    entities: list[EntityPlan]
    region_persons: dict[str, int]
    facility_share: float

    def sites(self) -> list[SitePlan]:
        return [s for e in self.entities for s in e.sites]


def apportion(total: int, weights: list[float]) -> list[int]:
    """Split a whole number in proportion to weights (largest remainder, ties by position)."""
    if not weights:
        return []
    mass = sum(weights)
    if mass <= 0:
        weights, mass = [1.0] * len(weights), float(len(weights))
    exact = [total * w / mass for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def child_share(params: GeneratorParams) -> float:
    """Return the share of people younger than the pediatric age under the age pyramid."""
    total = sum(w for w, _ in params.age_groups)
    young = sum(w * max(0, min(5, params.child_age - 5 * i)) / 5 for i, (w, _) in enumerate(params.age_groups))
    return young / total


def size_districts(site: SitePlan, params: GeneratorParams, children: float) -> list[tuple[str, int]]:
    """Return enough districts that the site's capacity covers its people (at least one per profile)."""
    cap = params.capacity
    gp, th, ped = cap[Profile.GP.value], cap[Profile.THERAPIST.value], cap[Profile.PEDIATRIC.value]
    n = site.persons
    if site.gp_share >= 1.0:
        return [(Profile.GP.value, gp)] * max(1, math.ceil(n / gp))
    g = site.gp_share
    n_gp = max(1, math.ceil(g * n / gp))
    n_th = max(1, math.ceil((1 - g) * n * (1 - children) / th))
    n_ped = max(1, math.ceil((1 - g) * n * children / ped))
    return (
        [(Profile.GP.value, gp)] * n_gp
        + [(Profile.THERAPIST.value, th)] * n_th
        + [(Profile.PEDIATRIC.value, ped)] * n_ped
    )


def facility_share(population: int, params: GeneratorParams) -> float:
    """Return the share of the national facility layer kept for a population (at least the minimum)."""
    return min(1.0, max(population / params.national_population, params.min_facility_share))


def select(entities: list[EntityPlan], share: float, params: GeneratorParams, seed: int) -> list[EntityPlan]:
    """Keep about `share` of the sites: sqrt(share) of each region's entities of each type (at least one,
    and at least the minimum per region), and sqrt(share) of their branches (the head site always)."""
    if share >= 1.0:
        return entities
    ratio = math.sqrt(share)
    index = {e.key: i for i, e in enumerate(entities)}
    by_region: dict[str, list[EntityPlan]] = {}
    for e in entities:
        by_region.setdefault(e.region, []).append(e)
    kept: list[EntityPlan] = []
    for region in sorted(by_region):
        shuffled = sorted(by_region[region], key=lambda e: rng_for(seed, "pick", e.key).random())
        chosen: list[EntityPlan] = []
        for kind in ENTITY_TYPES:
            of_kind = [e for e in shuffled if e.type == kind]
            chosen += of_kind[: max(1, round(ratio * len(of_kind)))] if of_kind else []
        taken = {e.key for e in chosen}
        rest = [e for e in shuffled if e.key not in taken]
        while len(chosen) < params.min_entities_per_region and rest:
            chosen.append(rest.pop(0))
        for e in sorted(chosen, key=lambda e: index[e.key]):
            rng = rng_for(seed, "branches", e.key)
            sites = e.sites[:1] + [s for s in e.sites[1:] if rng.random() < ratio]
            kept.append(replace(e, sites=sites))
    return kept


def make_plan(seed: int, population: int, params: GeneratorParams, facility_population: int | None = None) -> Plan:
    """Build the geography and network for a seed, scale them to the population and size districts.

    The facility layer is sized for `facility_population` (default: the population itself), so that
    e.g. a small demo population can still be served by the whole national directory.
    """
    geo = build_geography(seed, params)
    share = facility_share(population if facility_population is None else facility_population, params)
    entities = select(build_network(seed, params, geo), share, params, seed)
    regions = geo.regions
    per_region = dict(
        zip((r.code for r in regions), apportion(population, [float(r.population) for r in regions]), strict=True)
    )
    children = child_share(params)
    for region in regions:
        sites = [s for e in entities if e.region == region.code for s in e.sites]
        if not sites:
            raise ValueError(f"no site kept in region {region.code}")
        for site, n in zip(sites, apportion(per_region[region.code], [s.weight for s in sites]), strict=True):
            site.persons = n
    for site in (s for e in entities for s in e.sites):
        site.districts = size_districts(site, params, children)
    return Plan(geo, entities, per_region, share)
