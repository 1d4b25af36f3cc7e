"""The facility layer plan: network norms, national size, scaling, coordinates, capacity."""

from __future__ import annotations

from collections import Counter

import pytest

from emhana.devtools.generator.geo import build_geography
from emhana.devtools.generator.network import build_network, rural_kind
from emhana.devtools.generator.params import GeneratorParams
from emhana.devtools.generator.plan import apportion, make_plan
from emhana.facilities.rules import SiteKind
from emhana.reference.loader import kato_rows, region_rows
from emhana.reference.rules import in_kazakhstan

PARAMS = GeneratorParams()


@pytest.mark.parametrize(
    ("people", "kind"),
    [
        (10, None),
        (49, None),
        (50, SiteKind.MEDICAL_POINT),
        (499, SiteKind.MEDICAL_POINT),
        (500, SiteKind.FELDSHER_MIDWIFE_POST),
        (1_499, SiteKind.FELDSHER_MIDWIFE_POST),
        (1_500, SiteKind.DOCTORS_OUTPATIENT_CLINIC),
        (4_999, SiteKind.DOCTORS_OUTPATIENT_CLINIC),
        (5_000, SiteKind.POLYCLINIC),
        (25_000, SiteKind.POLYCLINIC),
    ],
)
def test_rural_kind_follows_the_network_norms(people: int, kind: SiteKind | None) -> None:
    assert rural_kind(PARAMS, people) is kind


def test_apportion_is_exact() -> None:
    assert apportion(10, [1.0, 1.0, 1.0]) == [4, 3, 3]
    assert sum(apportion(1_000_003, [0.2, 5.5, 3.1, 0.0])) == 1_000_003
    assert apportion(5, [0.0, 0.0]) == [3, 2]


def test_national_layer_has_the_working_size() -> None:
    geo = build_geography(1, PARAMS)
    entities = build_network(1, PARAMS, geo)
    sites = [s for e in entities for s in e.sites]
    # docs/scale.md "Working sizing": ~5-6 k sites under ~600-700 entities; 29 % of entities private (2018).
    assert 5_000 <= len(sites) <= 6_500
    assert 550 <= len(entities) <= 750
    private = sum(e.type == "private_centre" for e in entities) / len(entities)
    assert 0.2 <= private <= 0.35
    kinds = Counter(s.kind for s in sites)
    assert kinds[SiteKind.FELDSHER_MIDWIFE_POST] > 1_000 and kinds[SiteKind.DOCTORS_OUTPATIENT_CLINIC] > 500
    assert abs(sum(s.weight for s in sites) - sum(r["population"] for r in region_rows())) < 1
    rural = sum(p.population for p in geo.places if not p.urban) / sum(p.population for p in geo.places)
    assert 0.3 <= rural <= 0.45  # docs/scale.md §4: 41 % rural (2022), 36 % (2026)


def test_demo_plan_covers_every_region_with_valid_sites() -> None:
    plan = make_plan(11, 10_000, PARAMS)
    codes = {r["code"] for r in kato_rows()}
    sites = plan.sites()
    assert 150 <= len(sites) <= 800
    assert {e.region for e in plan.entities} == {r["kato"] for r in region_rows()}
    per_region = Counter(e.region for e in plan.entities)
    assert min(per_region.values()) >= PARAMS.min_entities_per_region
    assert all(s.kato in codes and s.kato[:2] == e.region[:2] for e in plan.entities for s in e.sites)
    assert all(in_kazakhstan(s.lat, s.lon) for s in sites)
    assert all(in_kazakhstan(p.lat, p.lon) for p in plan.geography.places)
    assert sum(s.persons for s in sites) == 10_000
    assert sum(plan.region_persons.values()) == 10_000
    assert {s.kind for s in sites} == set(SiteKind)


@pytest.mark.parametrize("population", [2_000, 20_500_000])
def test_capacity_covers_the_people_served(population: int) -> None:
    plan = make_plan(5, population, PARAMS)
    for site in plan.sites():
        assert site.districts and sum(c for _, c in site.districts) >= site.persons
    if population > PARAMS.national_population:
        assert len(plan.sites()) >= 5_000


def test_capacity_norms_are_parameters() -> None:
    params = GeneratorParams(capacity={"gp": 1000, "therapist": 1000, "pediatric": 500})
    plan = make_plan(5, 300_000, params)
    assert {c for s in plan.sites() for _, c in s.districts} == {1000, 500}
    assert all(sum(c for _, c in s.districts) >= s.persons for s in plan.sites())


def test_plan_is_deterministic_and_depends_on_the_seed() -> None:
    def signature(seed: int) -> list[tuple[str, str, float, float, int]]:
        return [(s.name_ru, s.kato, s.lat, s.lon, s.persons) for s in make_plan(seed, 5_000, PARAMS).sites()]

    assert signature(4) == signature(4)
    assert signature(4) != signature(5)
