"""Populated places from KATO and GeoNames: role, full-scale population and coordinates (docs/scale.md §1-§2)."""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from emhana.devtools.generator.params import GeneratorParams
from emhana.facilities.rules import EARTH_RADIUS_KM
from emhana.reference.loader import kato_rows, region_rows
from emhana.reference.rules import in_kazakhstan

DATA = Path(__file__).parent / "data"
REPUBLICAN_CITIES = ("710000000", "750000000", "790000000")  # docs/scale.md §2: Astana, Almaty, Shymkent

# Median size by role of a rural settlement (lognormal, sigma below); drawn values are then scaled so
# that a region's rural total is its population minus its towns (docs/scale.md §1: "drawn from a
# heavy-tailed distribution calibrated so the rural total is ~7.47 M").
RURAL_MEDIAN = {"centre": 1500.0, "village": 350.0, "hamlet": 120.0, "outpost": 12.0}
RURAL_SIGMA = 0.9


@dataclass
class Place:
    """A populated place: a city district, town, urban settlement or rural settlement."""

    code: str
    region: str
    district: str
    name_ru: str
    name_kk: str
    role: str  # city_district | town | urban | centre | village | hamlet | outpost
    population: float  # full scale, regions table basis
    lat: float
    lon: float
    matched: bool
    parent: str | None  # KATO parent code
    locality_ru: str  # "Карагандинская область, Абайский район, с.Карааул"
    locality_kk: str

    @property
    def urban(self) -> bool:
        return self.role in ("city_district", "town", "urban")


@dataclass(frozen=True)
class Region:
    code: str
    name_ru: str
    name_kk: str
    population: int
    lat: float
    lon: float


@dataclass
class Geography:
    regions: list[Region]
    places: list[Place]  # parents before children
    districts: dict[str, dict[str, Any]]  # district-level KATO rows of the oblasts, by code
    district_anchor: dict[str, tuple[float, float]]


def rng_for(seed: int, *parts: object) -> random.Random:
    """Return a generator seeded by the seed and a path of names, independent of iteration order."""
    return random.Random("/".join(str(p) for p in (seed, *parts)))


def offset_point(rng: random.Random, lat: float, lon: float, km_min: float, km_max: float) -> tuple[float, float]:
    """Move a point by a random distance in [km_min, km_max] and bearing, staying inside Kazakhstan."""
    for _ in range(30):
        dist = rng.uniform(km_min, km_max)
        bearing = rng.uniform(0.0, 2 * math.pi)
        dlat = math.degrees(dist * math.cos(bearing) / EARTH_RADIUS_KM)
        dlon = math.degrees(dist * math.sin(bearing) / (EARTH_RADIUS_KM * math.cos(math.radians(lat))))
        if in_kazakhstan(lat + dlat, lon + dlon):
            return round(lat + dlat, 6), round(lon + dlon, 6)
    return lat, lon


@lru_cache(maxsize=1)
def geonames_points() -> dict[str, tuple[float, float, int]]:
    """Return KATO code -> (lat, lon, population) for the GeoNames places matched to one KATO unit."""
    out: dict[str, tuple[float, float, int]] = {}
    with (DATA / "kz_places_geonames.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            # Only unambiguous matches (data README: "treat as a convenience join").
            if r["match_status"] == "matched" and r["kato_settlement"] not in out:
                out[r["kato_settlement"]] = (float(r["lat"]), float(r["lon"]), int(r["population_geonames"]))
    return out


def _role(row: dict[str, Any], by_code: dict[str, dict[str, Any]]) -> str | None:
    """Classify a KATO row as a populated place, or None for administrative units."""
    name, level, kind = row["name_ru"], row["level"], row["type_code"]
    if name.startswith("г.") and level in ("sub_district", "settlement"):
        return "town"
    if level != "settlement":
        return None
    if kind != 2:
        return "urban"
    parent = by_code[row["parent_code"]]
    if parent["level"] == "settlement":
        return "hamlet"
    if not name.startswith("с."):
        return "outpost"  # зимовка, уч., ст., рзд., точка, ферма …
    return "centre" if row["code"][6:9] == "100" and parent["level"] == "sub_district" else "village"


def _district_of(code: str, by_code: dict[str, dict[str, Any]]) -> str:
    row = by_code[code]
    while row["level"] not in ("district", "oblast"):
        row = by_code[row["parent_code"]]
    return str(row["code"])


def _locality(code: str, by_code: dict[str, dict[str, Any]], lang: str) -> str:
    """Return "region, district, place" (the region left out for republican cities)."""
    parts = []
    row: dict[str, Any] | None = by_code[code]
    while row is not None:
        if row["level"] in ("oblast", "district") or row["code"] == code:
            parts.append(row[f"name_{lang}"])
        row = by_code.get(row["parent_code"] or "")
    parts.reverse()
    # A town's own city administration ("Семей Г.А.") repeats the town: drop it.
    return ", ".join(p for p in parts if not p.endswith(("Г.А.", "Қ.Ә.")))


def _city_districts(seed: int, region: Region, rows: list[dict[str, Any]]) -> list[Place]:
    subs = [r for r in rows if r["parent_code"] == region.code]
    rng = rng_for(seed, "city", region.code)
    weights = [rng.uniform(0.7, 1.3) for _ in subs]
    radius = 3.0 + 7.0 * math.sqrt(region.population / 2e6)
    places = []
    for r, w in zip(subs, weights, strict=True):
        lat, lon = offset_point(rng, region.lat, region.lon, 0.3 * radius, radius)
        places.append(
            Place(
                code=r["code"],
                region=region.code,
                district=region.code,
                name_ru=r["name_ru"],
                name_kk=r["name_kk"],
                role="city_district",
                population=region.population * w / sum(weights),
                lat=lat,
                lon=lon,
                matched=False,
                parent=region.code,
                locality_ru=f"{region.name_ru}, {r['name_ru']}",
                locality_kk=f"{region.name_kk}, {r['name_kk']}",
            )
        )
    return places


def build_geography(seed: int, params: GeneratorParams) -> Geography:
    """Return every populated place with a full-scale population and a point inside Kazakhstan."""
    rows = list(kato_rows())
    by_code = {r["code"]: r for r in rows}
    points = geonames_points()
    regions: list[Region] = []
    for reg in region_rows():
        inside = [(p[2], code) for code, p in points.items() if code[:2] == reg["kato"][:2]]
        best = points[reg["kato"]] if reg["kato"] in points else points[max(inside)[1]]
        regions.append(Region(reg["kato"], reg["name_ru"], reg["name_kk"], reg["population"], best[0], best[1]))
    region_by = {r.code: r for r in regions}

    places: list[Place] = []
    for region in regions:
        if region.code in REPUBLICAN_CITIES:
            places.extend(_city_districts(seed, region, rows))
    oblast_places: list[tuple[dict[str, Any], str]] = []
    for r in rows:
        if r["code"][:2] + "0000000" in REPUBLICAN_CITIES:
            continue
        role = _role(r, by_code)
        if role is not None:
            oblast_places.append((r, role))

    districts = {r["code"]: r for r in rows if r["level"] == "district"}
    anchor: dict[str, tuple[float, float, int]] = {}
    for r, _ in oblast_places:
        if r["code"] in points:
            d = _district_of(r["code"], by_code)
            p = points[r["code"]]
            if d not in anchor or p[2] > anchor[d][2]:
                anchor[d] = p
    district_anchor: dict[str, tuple[float, float]] = {}
    for code in sorted(districts):
        if code in anchor:
            district_anchor[code] = anchor[code][:2]
        else:  # no GeoNames place in the district: 40-150 km from the region's main city
            home = region_by[code[:2] + "0000000"]
            district_anchor[code] = offset_point(rng_for(seed, "anchor", code), home.lat, home.lon, 40, 150)

    sizes = _populations(seed, params, regions, oblast_places, points)
    final: dict[str, tuple[float, float]] = {}
    for r, role in oblast_places:
        code = r["code"]
        rng = rng_for(seed, "place", code)
        district = _district_of(code, by_code)
        if code in points:
            lat, lon = points[code][:2]
        elif role == "hamlet" and r["parent_code"] in final:
            lat, lon = offset_point(rng, *final[r["parent_code"]], 2, 10)
        else:
            base = next((points[a][:2] for a in _ancestors(code, by_code) if a in points), district_anchor[district])
            # docs/scale.md §1: unmatched settlements take an anchor point plus a 5-40 km offset.
            lat, lon = offset_point(rng, base[0], base[1], 5, 40)
        final[code] = (lat, lon)
        places.append(
            Place(
                code=code,
                region=code[:2] + "0000000",
                district=district,
                name_ru=r["name_ru"],
                name_kk=r["name_kk"],
                role=role,
                population=sizes[code],
                lat=lat,
                lon=lon,
                matched=code in points,
                parent=r["parent_code"],
                locality_ru=_locality(code, by_code, "ru"),
                locality_kk=_locality(code, by_code, "kk"),
            )
        )
    return Geography(regions, places, {c: districts[c] for c in sorted(districts)}, district_anchor)


def _ancestors(code: str, by_code: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    parent = by_code[code]["parent_code"]
    while parent is not None and by_code[parent]["level"] != "oblast":
        out.append(parent)
        parent = by_code[parent]["parent_code"]
    return out


def _populations(
    seed: int,
    params: GeneratorParams,
    regions: list[Region],
    oblast_places: list[tuple[dict[str, Any], str]],
    points: dict[str, tuple[float, float, int]],
) -> dict[str, float]:
    """Return the full-scale population of each oblast place; each region sums to its table total."""
    sizes: dict[str, float] = {}
    for region in regions:
        if region.code in REPUBLICAN_CITIES:
            continue
        mine = [(r["code"], role) for r, role in oblast_places if r["code"][:2] == region.code[:2]]
        known = {c: float(points[c][2]) for c, _ in mine if c in points and points[c][2] > 0}
        urban = {
            c: known[c]
            if c in known
            else float(params.default_town_population if role == "town" else params.default_settlement_population)
            for c, role in mine
            if role in ("town", "urban")
        }
        urban_total = sum(urban.values())
        if urban_total > 0.9 * region.population:
            urban = {c: v * 0.9 * region.population / urban_total for c, v in urban.items()}
            urban_total = 0.9 * region.population
        rural_total = region.population - urban_total
        rng = rng_for(seed, "rural", region.code)
        fixed = {c: known[c] for c, role in mine if role not in ("town", "urban") and c in known}
        drawn = {
            c: rng.lognormvariate(math.log(RURAL_MEDIAN[role]), RURAL_SIGMA)
            for c, role in mine
            if role not in ("town", "urban") and c not in known
        }
        fixed_total, drawn_total = sum(fixed.values()), sum(drawn.values()) or 1.0
        if rural_total > 1.1 * fixed_total:
            factor = (rural_total - fixed_total) / drawn_total
        else:  # GeoNames villages alone fill the region: shrink them to leave room for the rest
            factor = 0.1 * rural_total / drawn_total
            fixed = {c: v * 0.9 * rural_total / fixed_total for c, v in fixed.items()}
        sizes.update(urban)
        sizes.update(fixed)
        sizes.update({c: v * factor for c, v in drawn.items()})
    return sizes
