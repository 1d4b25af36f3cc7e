"""Resolve a typed address to a settlement of the KATO classifier and a point to search from.

The package holds the KATO classifier (every settlement, no coordinates) and the coordinates of the 351 GeoNames
places matched to a KATO settlement (`data/kz_places_geonames.csv`, CC BY 4.0). There is no street data: an
address resolves to its settlement (a city district where one is named), and the rest of the text is returned
as the street, which is never located. A settlement without coordinates of its own gets the point of the
clinics registered in it (passed in by the caller, `facilities.places`) or, approximately, the centre of the
known places of the nearest administrative unit above it; the answer says which.

Only plain values in and out: the caller reads the database.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from emhana.kernel.errors import AddressAmbiguous, AddressNotFound, UnknownKato
from emhana.reference.loader import DATA, kato_rows

REPUBLICAN_CITIES = frozenset({"710000000", "750000000", "790000000"})
MAX_CANDIDATES = 12

# Kazakh letters folded to the Russian letters people type for them (Қарағанды ~ Караганды).
_FOLD = str.maketrans(
    {"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е"}
)
# Words that name the kind of a unit, not the unit ("г.Семей", "Семей қ.", "Абайский район", "Абай ауданы").
_KIND_WORDS = frozenset(
    "г гор город с село п пос поселок пгт кент к ст станция рзд а ауыл ауылы к кала каласы район рн р-н "
    "ауданы аудан обл область облысы га ка со ао ра аа им атын атындагы city town village region district "
    "oblysy oblast ауылдык округ окр сельский".split()
)
# Words that mark a street part of an address ("ул. Абая 20", "Абай даңғылы, 20").
_STREET_WORDS = frozenset(
    "ул улица пр пр-т проспект пр-кт мкр микрорайон мкрн пер переулок бул бульвар б-р шоссе тупик проезд "
    "наб набережная пл площадь трасса д дом кв квартира корп корпус стр строение жк кошеси кош дангылы "
    "дангыл шагынаудан ша тураккжай уй пэтер street st avenue ave".split()
)
_PART_SPLIT = re.compile(r"[,;\n]+")
_WORD = re.compile(r"[0-9a-zа-я]+(?:-[0-9a-zа-я]+)*")


def fold(text: str) -> str:
    """Lower-case a text and fold Kazakh letters and ё to the Russian letters people type for them."""
    return text.lower().translate(_FOLD)


def words(text: str) -> list[str]:
    """Return the words of a text, folded; dots split abbreviations ("г.а." -> "г", "а")."""
    return _WORD.findall(fold(text).replace(".", " "))


def key_of(name: str) -> str:
    """Return the comparison key of a unit's name: its words without the words of kind."""
    return " ".join(w for w in words(name) if w not in _KIND_WORDS)


@dataclass(frozen=True)
class Unit:
    """A unit of the classifier with its names and the names of the units above it."""

    code: str
    level: str
    name_ru: str
    name_kk: str
    parent: str | None
    place: bool  # a settlement, a town or a district of a city: what an address resolves to


@dataclass(frozen=True)
class Located:
    """A resolved address: the settlement, the point to search from and how that point was found.

    ``precision`` is ``place`` (the settlement's own coordinates), ``sites`` (the clinics registered in the
    settlement) or ``area`` (approximate: the centre of the known places of ``area``)."""

    unit: Unit
    lat: float
    lon: float
    precision: str
    area: Unit
    street: str = ""
    path: tuple[Unit, ...] = field(default=())


@dataclass
class _Index:
    units: dict[str, Unit]
    children: dict[str, list[str]]
    places: dict[str, set[str]]  # key -> codes of places
    qualifiers: dict[str, set[str]]  # key -> codes of oblasts and districts
    points: dict[str, tuple[float, float]]  # GeoNames coordinates by KATO code


def _is_place(row: Mapping[str, object], parent: str | None) -> bool:
    name = str(row["name_ru"])
    if row["level"] == "settlement" or name.startswith("г."):
        return True
    return row["level"] == "sub_district" and parent in REPUBLICAN_CITIES


@lru_cache(maxsize=1)
def index() -> _Index:
    """Build the name index of the classifier and the GeoNames points (once per process)."""
    units: dict[str, Unit] = {}
    children: dict[str, list[str]] = defaultdict(list)
    places: dict[str, set[str]] = defaultdict(set)
    qualifiers: dict[str, set[str]] = defaultdict(set)
    for row in kato_rows():
        parent = row["parent_code"]
        unit = Unit(
            code=row["code"],
            level=row["level"],
            name_ru=row["name_ru"],
            name_kk=row["name_kk"],
            parent=parent,
            place=_is_place(row, parent),
        )
        units[unit.code] = unit
        if parent:
            children[parent].append(unit.code)
        target = places if unit.place else qualifiers if unit.level in ("oblast", "district") else None
        if target is not None:
            for name in (unit.name_ru, unit.name_kk):
                key = key_of(name)
                if key:
                    target[key].add(unit.code)
    points: dict[str, tuple[float, float]] = {}
    with (DATA / "kz_places_geonames.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            code = r["kato_settlement"]
            if r["match_status"] != "matched" or code not in units:
                continue
            points.setdefault(code, (float(r["lat"]), float(r["lon"])))
            if units[code].place:
                places[key_of(r["name"])].add(code)  # the Latin name people type ("Karagandy")
    return _Index(units, dict(children), dict(places), dict(qualifiers), points)


def unit(code: str) -> Unit:
    """Return a unit of the classifier, or raise UnknownKato."""
    found = index().units.get(code)
    if found is None:
        raise UnknownKato(kato=code)
    return found


def ancestors(code: str) -> list[Unit]:
    """Return the units above a code, nearest first."""
    units, out = index().units, []
    parent = units[code].parent
    while parent is not None:
        out.append(units[parent])
        parent = units[parent].parent
    return out


def subtree(code: str) -> list[str]:
    """Return a code and every code below it."""
    children, out, todo = index().children, [], [code]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, ()))
    return out


def locality(code: str, lang: str) -> str:
    """Return "region, district, place" in Kazakh or Russian (city administrations left out)."""
    attr = "name_kk" if lang == "kk" else "name_ru"
    chain = [unit(code), *ancestors(code)]
    names = [
        getattr(u, attr)
        for u in reversed(chain)
        if (u.level in ("oblast", "district") or u.code == code) and not getattr(u, attr).endswith(("Г.А.", "Қ.Ә."))
    ]
    return ", ".join(dict.fromkeys(names))


def _match(keys: dict[str, set[str]], tokens: list[str]) -> tuple[set[str], list[str]]:
    """Return the codes named by the longest leading run of tokens, and the tokens left over."""
    for n in range(len(tokens), 0, -1):
        codes = keys.get(" ".join(tokens[:n]))
        if codes:
            return codes, tokens[n:]
    return set(), tokens


_AREA_WORDS = frozenset("обл область облысы район рн р-н ауданы аудан region district oblast oblysy".split())
_TOWN_WORDS = frozenset("г гор город кала каласы city town".split())
_VILLAGE_WORDS = frozenset("с село а ауыл ауылы п пос поселок пгт кент village".split())


@dataclass(frozen=True)
class _Part:
    text: str
    places: frozenset[str]
    rest: tuple[str, ...]
    qualifiers: frozenset[str]


def _parts(text: str) -> list[_Part]:
    """Split an address at commas and find what each part may name: places, regions or districts."""
    idx = index()
    out = []
    for raw in _PART_SPLIT.split(text):
        raw = raw.strip()
        tokens = words(raw)
        if not tokens:
            continue
        if any(t in _STREET_WORDS for t in tokens):
            out.append(_Part(raw, frozenset(), tuple(tokens), frozenset()))
            continue
        core = [t for t in tokens if t not in _KIND_WORDS]
        places, rest = _match(idx.places, core)
        qualifiers = idx.qualifiers.get(" ".join(core), set())
        kinds = set(tokens) - set(core)
        if kinds & _AREA_WORDS:  # a region or district, or a district of a city ("Бостандыкский район")
            places = {c for c in places if "район" in idx.units[c].name_ru or "ауданы" in idx.units[c].name_kk}
            places = places if not qualifiers else set()
        elif kinds & (_TOWN_WORDS | _VILLAGE_WORDS):
            qualifiers = set()
            town = bool(kinds & _TOWN_WORDS)
            places = {c for c in places if (_rank(c) == 0) == town} or places
        out.append(_Part(raw, frozenset(places), tuple(rest), frozenset(qualifiers)))
    return out


def _rank(code: str) -> int:
    """Prefer cities and towns when a name is shared (Абай the town over the 26 villages named Абай)."""
    u = index().units[code]
    return 0 if u.code in REPUBLICAN_CITIES or u.name_ru.startswith("г.") else 1


def _chain(code: str) -> set[str]:
    return {code, *(a.code for a in ancestors(code))}


def resolve(text: str) -> tuple[Unit, str]:
    """Return the settlement an address names and the rest of it (the street, never located).

    Parts are separated by commas. The first part that names a settlement is the settlement (a part marked
    as a region or district, "Абай облысы", never is); the other parts that name a region or district narrow
    the settlements of that name; a later part naming a district of the city resolves to that district.
    Raise AddressNotFound when no part names a settlement, AddressAmbiguous (the candidates in ``errors``)
    when several remain."""
    text = text.strip()
    parts = _parts(text)
    first = next((i for i, p in enumerate(parts) if p.places), None)
    if first is None:
        raise AddressNotFound(text=text[:100])
    codes = set(parts[first].places)
    used = {first}
    for j, p in enumerate(parts):
        if j == first:
            continue
        units = p.qualifiers | p.places
        narrowed = {c for c in codes if units & _chain(c) - {c}}
        if narrowed and p.qualifiers and not (p.places & narrowed):
            codes, used = narrowed, used | {j}
    for j, p in enumerate(parts):
        if j > first and j not in used:
            below = {c for c in p.places if _chain(c) & codes and c not in codes}
            if below:
                codes, used = below, used | {j}
    if len(codes) > 1:
        towns = {c for c in codes if _rank(c) == 0}
        codes = towns if len(towns) == 1 else codes
    if len(codes) > 1:
        ordered = sorted(codes, key=lambda c: (_rank(c), c))
        raise AddressAmbiguous(
            text=text[:100],
            errors=[
                {"kato": c, "name_ru": locality(c, "ru"), "name_kk": locality(c, "kk")}
                for c in ordered[:MAX_CANDIDATES]
            ],
        )
    code = codes.pop()
    named = _chain(code)
    naming = [i for i in sorted(used) if parts[i].places & named]
    rest = list(parts[naming[-1]].rest) if naming else []
    street_parts = [
        p.text
        for i, p in enumerate(parts)
        if i not in used and (p.places or not p.qualifiers) and not ((p.qualifiers | p.places) & named)
    ]
    street = ", ".join(([" ".join(rest)] if rest else []) + street_parts)
    return index().units[code], street


def locate(code: str, site_points: Mapping[str, tuple[float, float]] | None = None, street: str = "") -> Located:
    """Return the point to search from for a unit: its own coordinates, its clinics', or the centre of the
    known places (coordinates and clinics) of the nearest unit above it."""
    idx, site_points = index(), site_points or {}
    u = unit(code)
    if code in idx.points:
        lat, lon = idx.points[code]
        return Located(u, lat, lon, "place", u, street)
    if code in site_points:
        lat, lon = site_points[code]
        return Located(u, lat, lon, "sites", u, street)
    for area in (u, *ancestors(code)):
        below = subtree(area.code)
        known = [idx.points[c] for c in below if c in idx.points] or [site_points[c] for c in below if c in site_points]
        if known:
            lat = sum(p[0] for p in known) / len(known)
            lon = sum(p[1] for p in known) / len(known)
            return Located(u, round(lat, 6), round(lon, 6), "area", area, street)
    raise AddressNotFound(text=u.name_ru)  # pragma: no cover - every oblast holds a known place


def district_of(code: str) -> str:
    """Return the code of the district (or city of republican significance) a place belongs to, for the
    search of its clinics."""
    for u in (unit(code), *ancestors(code)):
        if u.level == "district" or u.code in REPUBLICAN_CITIES:
            return u.code
    return code
