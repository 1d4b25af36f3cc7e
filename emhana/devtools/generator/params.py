"""Tunable parameters of the synthetic generator: network norms, shares, age pyramid (all defaults)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from emhana.facilities.rules import Profile, SiteKind
from emhana.identity.schemas import Category

# Capacity of one district (участок) by profile (A-83, L). The statutory norms (1,700 mixed / 2,200 adult /
# 500–900 children) were NOT confirmed from a primary text (docs/scale.md §4, last note): "L" rules,
# kept as defaults of a parameter and never written into the logic.
DEFAULT_CAPACITY: dict[str, int] = {Profile.GP.value: 1700, Profile.THERAPIST.value: 2200, Profile.PEDIATRIC.value: 900}

# Rural network norms by settlement population (docs/scale.md §1, decree No. 962 of 30.11.2022 as summarised
# by egemen.kz): below the first bound no site (a visiting health worker); the last kind is open-ended.
DEFAULT_RURAL_NORMS: tuple[tuple[int, SiteKind | None], ...] = (
    (50, None),
    (500, SiteKind.MEDICAL_POINT),
    (1_500, SiteKind.FELDSHER_MIDWIFE_POST),
    (5_000, SiteKind.DOCTORS_OUTPATIENT_CLINIC),
    (10**9, SiteKind.POLYCLINIC),  # "центр ПМСП" 5,000–30,000: a PHC-centre-like polyclinic
)

# Age pyramid of Kazakhstan by five-year group (0–4 … 95–99), share of the population, with the male
# share of each group. Approximate shape of the BNS 1 Jan 2023 tables (young, wide base, women living
# longer); NOT re-verified against a primary table — tune here, never in the logic.
DEFAULT_AGE_GROUPS: tuple[tuple[float, float], ...] = (
    (10.0, 0.513),
    (9.6, 0.513),
    (8.3, 0.512),
    (6.9, 0.510),
    (6.1, 0.505),
    (6.6, 0.500),
    (8.0, 0.495),
    (7.8, 0.490),
    (6.9, 0.485),
    (6.1, 0.475),
    (5.6, 0.465),
    (5.4, 0.450),
    (4.8, 0.430),
    (3.6, 0.400),
    (2.2, 0.370),
    (1.1, 0.330),
    (0.8, 0.300),
    (0.4, 0.270),
    (0.1, 0.250),
    (0.03, 0.220),
)

# Category shares (docs/domain.md §1.2, A-10..A-15); synthetic, mostly citizens.
DEFAULT_CATEGORIES: tuple[tuple[Category, float], ...] = (
    (Category.CITIZEN, 0.962),
    (Category.KANDAS, 0.020),
    (Category.RESIDENT_FOREIGNER, 0.010),
    (Category.EAEU_MIGRANT, 0.005),
    (Category.TEMPORARY_FOREIGNER, 0.002),
    (Category.REFUGEE, 0.001),
)


@dataclass(frozen=True)
class GeneratorParams:
    """Everything the generator may be tuned by; the defaults give the national picture of docs/scale.md."""

    capacity: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    rural_norms: tuple[tuple[int, SiteKind | None], ...] = DEFAULT_RURAL_NORMS
    age_groups: tuple[tuple[float, float], ...] = DEFAULT_AGE_GROUPS
    categories: tuple[tuple[Category, float], ...] = DEFAULT_CATEGORIES
    # The day the population is "as of": ages, contracts and inclusion dates derive from it, never
    # from the clock, so that one seed always gives the same rows.
    as_of: dt.date = dt.date(2026, 1, 1)
    # Population of the regions table (BNS 1 Jan 2023, 19,765,004): the scale of the facility layer.
    national_population: int = 19_765_004
    # Cities: one state polyclinic entity per 30–60 k residents (docs/scale.md §1); towns from this size on
    # get city-style entities; one private family health centre per this many residents (Almaty 2023:
    # 35 private clinics for 2.2 M, docs/scale.md §4; 29 % of PHC entities private in 2018).
    polyclinic_residents: tuple[int, int] = (30_000, 60_000)
    city_min_population: int = 30_000
    private_residents: int = 60_000
    # Share of a city's residents attached to private centres (Almaty 2023: 400–450 k of 2.2 M).
    private_share: float = 0.2
    # Share of a state polyclinic's people served by GP districts; the rest by therapist + pediatric.
    polyclinic_gp_share: float = 0.5
    rural_polyclinic_gp_share: float = 0.7
    # Age below which a person belongs to a pediatric district (0–17 years).
    child_age: int = 18
    # Smallest facility layer, as a share of the national one, and the fewest entities per region.
    min_facility_share: float = 0.05
    min_entities_per_region: int = 3
    # Names: share of Kazakh names (2021 census: ~70 % ethnic Kazakhs, docs/scale.md §3, not re-verified),
    # of Kazakh names written with Russian letters, of Kazakh-form patronymics (-ұлы/-қызы) and of
    # people without a patronymic (optional since 2019).
    kazakh_share: float = 0.70
    transliterated_share: float = 0.35
    kazakh_form_patronymic: float = 0.35
    no_patronymic: float = 0.08
    # Urban towns without a GeoNames population get these sizes.
    default_town_population: int = 20_000
    default_settlement_population: int = 5_000
    with_practitioners: bool = True
    # Years the Fund's contracts run from 1 January of the as-of year: 2, so that a campaign's changes, which take
    # effect on 1 January of the next year, find the organizations still under contract in the demo and
    # the benchmarks alike.
    contract_years: int = 2
    # Attachment of the generated people (issue 3, item 10): the share who choose a site other than the
    # nearest one of their unit with a free place, and how many next-nearest sites they choose among.
    choice_share: float = 0.10
    choice_ranks: int = 4
