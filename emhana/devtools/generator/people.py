"""Synthetic persons: IINs from a counter, names, ages, categories, addresses and phones as plain rows."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from emhana.devtools.generator.names import NameBook
from emhana.devtools.generator.naming import MICRODISTRICTS, STREETS
from emhana.devtools.generator.network import SitePlan
from emhana.devtools.generator.params import GeneratorParams
from emhana.identity.rules import W1, W2
from emhana.identity.schemas import AddressKind, Category
from emhana.reference.loader import KATO_VERSION
from emhana.reference.rules import KZ_LAT, KZ_LON

# Mobile operator codes of Kazakhstan (+7 7xx): Beeline, Kcell/activ, Tele2/Altel.
OPERATORS = ("700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778")
SERIAL = [f"{s:04d}" for s in range(10_000)]
# Weighted sums of the four serial digits (IIN positions 8-11) under both passes (docs/domain.md §4.2).
SERIAL_W1 = [sum(int(c) * w for c, w in zip(s, W1[7:11], strict=True)) for s in SERIAL]
SERIAL_W2 = [sum(int(c) * w for c, w in zip(s, W2[7:11], strict=True)) for s in SERIAL]
KM_LAT = 1 / 111.0  # degrees of latitude per km
KM_LON = 1 / 75.0  # degrees of longitude per km near 47° N (close enough for jitter)
CENTURY = {"18": 1, "19": 3, "20": 5}  # the IIN's 7th digit of a man born in the century (a woman: + 1)

# The street part of an address (", мкр. Самал-3" / ", Самал-3 шағын ауданы" for microdistrict 3, ", ул. Абая"
# / ", Абай көшесі"), a house (1-180) and a flat (1-240), in Russian and Kazakh, laid out once.
MICRO_RU = [[f", мкр. {ru}-{n}" for n in range(1, 13)] for ru, _ in MICRODISTRICTS]
MICRO_KK = [[f", {kk}-{n} шағын ауданы" for n in range(1, 13)] for _, kk in MICRODISTRICTS]
STREET_RU = [f", ул. {ru}" for ru, _ in STREETS]
STREET_KK = [f", {kk} көшесі" for _, kk in STREETS]
HOUSE_RU = [f", д. {n}" for n in range(1, 181)]
HOUSE_KK = [f", {n}-үй" for n in range(1, 181)]
FLAT_RU = [f", кв. {n}" for n in range(1, 241)]
FLAT_KK = [f", {n}-пәтер" for n in range(1, 241)]
# Days before the as-of day an address may date from, by age: up to the person's age, at most 20 years.
SINCE_SPAN = [min(age * 365 + 1, 20 * 365) for age in range(200)]
PHONE_PREFIX = [f"+7{code}" for code in OPERATORS]
MOBILE = "mobile"
NULL = "\\N"

# Enum values read once (an enum member's .value is a property lookup, paid per person otherwise).
KANDAS, CITIZEN, PERMANENT = Category.KANDAS.value, Category.CITIZEN.value, AddressKind.PERMANENT.value
PersonRow = tuple[int, str, str, str, str | None, str, str, str]
AddressRow = tuple[int, int, str, str, str, str, str, float, float, str, None]
PhoneRow = tuple[int, int, str, str]
# The columns of the bulk load's COPY text (``PersonFactory.fill_lines``): a person's as ``sink.PERSON_COLUMNS``;
# an address's and a phone's without the values every generated row shares (``BULK_FIXED``), which the bulk
# load sets as the columns' defaults for its transaction (``deferred.fixed_defaults``).
BULK_ADDRESS_COLUMNS = ("id", "person_id", "text_kk", "text_ru", "kato_code", "lat", "lon", "valid_from")
BULK_PHONE_COLUMNS = ("id", "person_id", "number")
BULK_FIXED: dict[str, dict[str, str | None]] = {
    "person_address": {"kind": AddressKind.PERMANENT.value, "kato_version": KATO_VERSION, "valid_to": None},
    "person_phone": {"kind": "mobile"},
}


@dataclass
class LineBatch:
    """Persons generated as COPY text lines (``PersonFactory.fill_lines``) and what the attacher reads of each:
    birth date (ISO and ordinal), category, the address's KATO code and its coordinates (as the address line has
    them), and the person's sex (the attachment's copy of it)."""

    persons: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    births: list[str] = field(default_factory=list)
    born: list[int] = field(default_factory=list)  # the birth dates' ordinals
    categories: list[str] = field(default_factory=list)
    katos: list[str] = field(default_factory=list)
    lats: list[str] = field(default_factory=list)
    lons: list[str] = field(default_factory=list)
    sexes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.persons)


class IinCounter:
    """Issues unique IINs under the 2007 scheme: birth date, century/sex digit, a serial, a check digit.

    Serials are counted per (birth date, sex), starting after any serial already used in the database,
    so IINs never collide within one run nor with rows written before (D-02: digits 8-11 are a serial).
    """

    def __init__(self, used: dict[str, int] | None = None) -> None:
        self.used = used or {}  # 7-digit prefix -> highest serial already in the database
        # At (ordinal * 2 + female) - first: [next serial, 7-digit prefix, ISO date, weighted sums W1 and W2 of the
        # prefix], or None for a day and sex not met yet. A list, not a dict: it is read for every person, and
        # its index stays in the processor's cache where a dict of as many entries does not.
        self.slots: list[list[Any] | None] = []
        self.first = 0
        self.dates: dict[int, tuple[str, str, int, int]] = {}
        self.isos: dict[int, str] = {}  # ordinal -> ISO date

    def date(self, ordinal: int) -> tuple[str, str, int, int]:
        """Return (ISO date, YYMMDD, weighted sum W1, weighted sum W2) of a day, cached."""
        info = self.dates.get(ordinal)
        if info is None:
            iso = self.iso(ordinal)
            six = iso[2:4] + iso[5:7] + iso[8:10]
            info = (
                iso,
                six,
                sum(int(c) * w for c, w in zip(six, W1[:6], strict=True)),
                sum(int(c) * w for c, w in zip(six, W2[:6], strict=True)),
            )
            self.dates[ordinal] = info
        return info

    def iso(self, ordinal: int) -> str:
        """The ISO text of a day, cached."""
        iso = self.isos.get(ordinal)
        if iso is None:
            iso = self.isos[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        return iso

    def _slot(self, ordinal: int, female: bool) -> list[Any]:
        key = ordinal * 2 + female
        slots = self.slots
        if not slots:
            self.first = key
        if key < self.first:  # room below, as much again as there is (few moves)
            grow = max(self.first - key, len(slots))
            slots[:0] = [None] * grow
            self.first -= grow
        if key - self.first >= len(slots):
            slots.extend([None] * max(key - self.first + 1 - len(slots), len(slots)))
        iso, six, p1, p2 = self.date(ordinal)
        century = CENTURY[iso[:2]] + female
        prefix = f"{six}{century}"
        slot = [self.used.get(prefix, -1) + 1, prefix, iso, p1 + W1[6] * century, p2 + W2[6] * century]
        slots[key - self.first] = slot
        return slot

    def issue(self, ordinal: int, female: bool) -> tuple[str, str]:
        """Return (IIN, ISO birth date); a day whose serials are used up moves to the next day."""
        iin, iso, _ = self.issue_day(ordinal, female)
        return iin, iso

    def issue_day(self, ordinal: int, female: bool) -> tuple[str, str, int]:
        """``issue``, with the ordinal of the birth date (the day asked for, or a later one)."""
        slots = self.slots
        while True:
            i = ordinal * 2 + female - self.first
            slot = slots[i] if 0 <= i < len(slots) else None
            if slot is None:
                slot = self._slot(ordinal, female)
            serial, prefix, iso, p1, p2 = slot
            while serial < 10_000:
                check = (p1 + SERIAL_W1[serial]) % 11
                if check == 10:
                    check = (p2 + SERIAL_W2[serial]) % 11
                if check != 10:
                    slot[0] = serial + 1
                    return f"{prefix}{SERIAL[serial]}{check}", iso, ordinal
                serial += 1
            slot[0] = serial
            ordinal += 1


class PersonFactory:
    """Draws persons one by one from one seeded generator (same seed, same sequence)."""

    def __init__(
        self, seed: int, params: GeneratorParams, names: NameBook, iins: IinCounter, stream: str = "persons"
    ) -> None:
        self.rng = random.Random(f"{seed}/{stream}")
        self.params, self.names, self.iins = params, names, iins
        ages = [(5 * g + a, w / 5, male) for g, (w, male) in enumerate(params.age_groups) for a in range(5)]
        self.age_cum = list(itertools.accumulate(w for _, w, _ in ages))
        self.age_male = [male for _, _, male in ages]
        self.cat_cum = list(itertools.accumulate(w for _, w in params.categories))
        self.cats = [c.value for c, _ in params.categories]
        # Kandas are Kazakh, foreigners are not: citizens carry the rest of the Kazakh-name share.
        shares = {c.value: w / self.cat_cum[-1] for c, w in params.categories}
        citizens = shares.get(Category.CITIZEN.value, 0.0) or 1.0
        self.citizen_kazakh = (params.kazakh_share - shares.get(Category.KANDAS.value, 0.0)) / citizens
        self.as_of = params.as_of.toordinal()

    def identity(self, age: int | None = None) -> tuple[str, str, str, str | None, str, str, str, int]:
        """Return (iin, surname, given, patronymic, birth ISO, sex, category, age)."""
        r = self.rng.random
        p = self.params
        if age is None:
            age = bisect.bisect(self.age_cum, r() * self.age_cum[-1])
            age = min(age, len(self.age_cum) - 1)
        female = r() >= self.age_male[age]
        ordinal = self.as_of - int((age + r()) * 365.2425) - 1
        iin, iso = self.iins.issue(ordinal, female)
        category = self.cats[bisect.bisect(self.cat_cum, r() * self.cat_cum[-1])]
        kazakh = category == KANDAS or (category == CITIZEN and r() < self.citizen_kazakh)
        f = 1 if female else 0
        nb = self.names
        if kazakh:
            ru_letters = r() < p.transliterated_share
            given_l = (nb.kk_given_ru if ru_letters else nb.kk_given)[f]
            surname_l = (nb.kk_surname_ru if ru_letters else nb.kk_surname)[f]
            given, surname = given_l[int(r() * len(given_l))], surname_l[int(r() * len(surname_l))]
            x = r()
            if x < p.no_patronymic:
                patronymic = None
            else:
                if x < p.no_patronymic + p.kazakh_form_patronymic:
                    pl = (nb.kk_patronymic_kz_ru if ru_letters else nb.kk_patronymic_kz)[f]
                else:
                    pl = nb.kk_patronymic_ru[f]
                patronymic = pl[int(r() * len(pl))]
        else:
            given_l, surname_l, patr_l = nb.ru_given[f], nb.ru_surname[f], nb.ru_patronymic[f]
            given, surname = given_l[int(r() * len(given_l))], surname_l[int(r() * len(surname_l))]
            patronymic = None if r() < 0.02 else patr_l[int(r() * len(patr_l))]
        return iin, surname, given, patronymic, iso, "female" if female else "male", category, age

    def fill(
        self,
        site: SitePlan,
        count: int,
        ids: tuple[int, int, int],
        persons: list[PersonRow],
        addresses: list[AddressRow],
        phones: list[PhoneRow],
    ) -> None:
        """Append `count` persons living in the site's catchment, with ids from (person, address, phone)."""
        self._fill(site, count, ids, persons, addresses, phones, None)

    def fill_lines(self, site: SitePlan, count: int, ids: tuple[int, int, int], out: LineBatch) -> None:
        """``fill``, the same persons, appended to ``out`` as COPY text lines in the bulk layouts (the
        ``BULK_*_COLUMNS``), with what the attacher reads of each of them."""
        self._fill(site, count, ids, [], [], [], out)

    def _fill(
        self,
        site: SitePlan,
        count: int,
        ids: tuple[int, int, int],
        persons: list[PersonRow],
        addresses: list[AddressRow],
        phones: list[PhoneRow],
        out: LineBatch | None,
    ) -> None:
        """``fill`` (``out`` None: rows) or ``fill_lines`` (``out``: lines), one sequence of draws for both.

        ``identity`` is written out here (the same draws in the same order) and everything that depends only
        on a place, an age or a drawn index is looked up: this loop is most of the national load's Python time.
        """
        if count and not site.catchment:
            raise ValueError(f"site {site.name_ru} has people to place but no catchment")
        r = self.rng.random
        bisect_right = bisect.bisect_right
        cum = list(itertools.accumulate(w for _, w in site.catchment))
        total = cum[-1] if cum else 0.0
        n_places = len(cum)
        near_site = site.spread_km > 0
        # Per place: (people live around the site, lat, lon, locality ru, locality kk, KATO code).
        places = [
            (near_site and pl.urban, pl.lat, pl.lon, pl.locality_ru, pl.locality_kk, pl.code)
            for pl, _ in site.catchment
        ]
        site_spread, site_lat, site_lon = site.spread_km, site.lat, site.lon
        pid, aid, tid = ids
        as_of, age_cum, age_male, age_last = self.as_of, self.age_cum, self.age_male, len(self.age_cum) - 1
        age_total, cat_cum, cat_total, cats = self.age_cum[-1], self.cat_cum, self.cat_cum[-1], self.cats
        citizen_kazakh, p = self.citizen_kazakh, self.params
        translit, no_patronymic = p.transliterated_share, p.no_patronymic
        kazakh_form = p.no_patronymic + p.kazakh_form_patronymic
        nb, issue, iso_of = self.names, self.iins.issue_day, self.iins.iso
        kk_given, kk_given_ru, kk_surname, kk_surname_ru = nb.kk_given, nb.kk_given_ru, nb.kk_surname, nb.kk_surname_ru
        kk_patr_kz, kk_patr_kz_ru, kk_patr_ru = nb.kk_patronymic_kz, nb.kk_patronymic_kz_ru, nb.kk_patronymic_ru
        ru_given, ru_surname, ru_patronymic = nb.ru_given, nb.ru_surname, nb.ru_patronymic
        lat_lo, lat_hi = KZ_LAT[0] + 0.05, KZ_LAT[1] - 0.05
        lon_lo, lon_hi = KZ_LON[0] + 0.05, KZ_LON[1] - 0.05
        n_micro, n_streets = len(MICRODISTRICTS), len(STREETS)
        if out is not None:
            person_line, address_line, phone_line = out.persons.append, out.addresses.append, out.phones.append
            birth, born_on, category_of = out.births.append, out.born.append, out.categories.append
            kato_of = out.katos.append
            lat_of, lon_of, sex_of = out.lats.append, out.lons.append, out.sexes.append
        else:
            person, address, phone = persons.append, addresses.append, phones.append
        for _ in range(count):
            age = bisect_right(age_cum, r() * age_total)
            if age > age_last:
                age = age_last
            female = r() >= age_male[age]
            iin, iso, born = issue(as_of - int((age + r()) * 365.2425) - 1, female)
            category = cats[bisect_right(cat_cum, r() * cat_total)]
            f = 1 if female else 0
            if category == KANDAS or (category == CITIZEN and r() < citizen_kazakh):
                if r() < translit:
                    given_l, surname_l = kk_given_ru[f], kk_surname_ru[f]
                    patronymics = kk_patr_kz_ru[f]
                else:
                    given_l, surname_l = kk_given[f], kk_surname[f]
                    patronymics = kk_patr_kz[f]
                given = given_l[int(r() * len(given_l))]
                surname = surname_l[int(r() * len(surname_l))]
                x = r()
                if x < no_patronymic:
                    patronymic = None
                else:
                    if x >= kazakh_form:
                        patronymics = kk_patr_ru[f]
                    patronymic = patronymics[int(r() * len(patronymics))]
            else:
                given_l, surname_l, patronymics = ru_given[f], ru_surname[f], ru_patronymic[f]
                given = given_l[int(r() * len(given_l))]
                surname = surname_l[int(r() * len(surname_l))]
                patronymic = None if r() < 0.02 else patronymics[int(r() * len(patronymics))]
            sex = "female" if female else "male"
            i = bisect_right(cum, r() * total)
            around_site, lat0, lon0, locality_ru, locality_kk, kato = places[i if i < n_places else n_places - 1]
            if around_site:
                spread, lat0, lon0, flat = site_spread, site_lat, site_lon, r() < 0.8
            else:
                spread, flat = 1.0, r() < 0.05
            lat = lat0 + (2 * r() - 1) * spread * KM_LAT
            lat = lat_lo if lat < lat_lo else lat_hi if lat > lat_hi else lat
            lon = lon0 + (2 * r() - 1) * spread * KM_LON
            lon = lon_lo if lon < lon_lo else lon_hi if lon > lon_hi else lon
            if flat and r() < 0.25:
                m = int(r() * n_micro)
                n = int(r() * 12)
                street_ru, street_kk = MICRO_RU[m][n], MICRO_KK[m][n]
            else:
                s = int(r() * n_streets)
                street_ru, street_kk = STREET_RU[s], STREET_KK[s]
            house = int(r() * 180)
            if flat:
                apt = int(r() * 240)
                text_ru = f"{locality_ru}{street_ru}{HOUSE_RU[house]}{FLAT_RU[apt]}"
                text_kk = f"{locality_kk}{street_kk}{HOUSE_KK[house]}{FLAT_KK[apt]}"
            else:
                text_ru = f"{locality_ru}{street_ru}{HOUSE_RU[house]}"
                text_kk = f"{locality_kk}{street_kk}{HOUSE_KK[house]}"
            since = iso_of(as_of - int(r() * SINCE_SPAN[age]) - 1)
            # round(x, 6) as text: the same decimal digits (correctly rounded), trailing zeros dropped as repr does.
            lat_text = f"{lat:.6f}".rstrip("0")
            if lat_text[-1] == ".":
                lat_text += "0"
            lon_text = f"{lon:.6f}".rstrip("0")
            if lon_text[-1] == ".":
                lon_text += "0"
            # A child's contact number is a parent's mobile (the registry keeps one for everybody).
            number = f"{PHONE_PREFIX[int(r() * 12)]}{str(10_000_000 + int(r() * 10_000_000))[1:]}"
            if out is not None:
                person_line(
                    f"{pid}\t{iin}\t{surname}\t{given}\t{NULL if patronymic is None else patronymic}"
                    f"\t{iso}\t{sex}\t{category}\n"
                )
                address_line(f"{aid}\t{pid}\t{text_kk}\t{text_ru}\t{kato}\t{lat_text}\t{lon_text}\t{since}\n")
                phone_line(f"{tid}\t{pid}\t{number}\n")
                birth(iso)
                born_on(born)
                category_of(category)
                kato_of(kato)
                lat_of(lat_text)
                lon_of(lon_text)
                sex_of(sex)
            else:
                person((pid, iin, surname, given, patronymic, iso, sex, category))
                address(
                    (
                        aid,
                        pid,
                        PERMANENT,
                        text_kk,
                        text_ru,
                        kato,
                        KATO_VERSION,
                        float(lat_text),
                        float(lon_text),
                        since,
                        None,
                    )
                )
                phone((tid, pid, number, MOBILE))
            pid, aid, tid = pid + 1, aid + 1, tid + 1
