"""Synthetic persons: IINs from a counter, names, ages, categories, addresses and phones as plain rows."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random

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

# Enum values read once (an enum member's .value is a property lookup, paid per person otherwise).
KANDAS, CITIZEN, PERMANENT = Category.KANDAS.value, Category.CITIZEN.value, AddressKind.PERMANENT.value
PersonRow = tuple[int, str, str, str, str | None, str, str, str]
AddressRow = tuple[int, int, str, str, str, str, str, float, float, str, None]
PhoneRow = tuple[int, int, str, str]


class IinCounter:
    """Issues unique IINs under the 2007 scheme: birth date, century/sex digit, a serial, a check digit.

    Serials are counted per (birth date, sex), starting after any serial already used in the database,
    so IINs never collide within one run nor with rows written before (D-02: digits 8-11 are a serial).
    """

    def __init__(self, used: dict[str, int] | None = None) -> None:
        self.used = used or {}  # 7-digit prefix -> highest serial already in the database
        self.next: dict[int, int] = {}  # ordinal * 2 + female -> next serial
        self.dates: dict[int, tuple[str, str, int, int]] = {}

    def date(self, ordinal: int) -> tuple[str, str, int, int]:
        """Return (ISO date, YYMMDD, weighted sum W1, weighted sum W2) of a day, cached."""
        info = self.dates.get(ordinal)
        if info is None:
            iso = dt.date.fromordinal(ordinal).isoformat()
            six = iso[2:4] + iso[5:7] + iso[8:10]
            info = (
                iso,
                six,
                sum(int(c) * w for c, w in zip(six, W1[:6], strict=True)),
                sum(int(c) * w for c, w in zip(six, W2[:6], strict=True)),
            )
            self.dates[ordinal] = info
        return info

    def issue(self, ordinal: int, female: bool) -> tuple[str, str]:
        """Return (IIN, ISO birth date); a day whose serials are used up moves to the next day."""
        while True:
            iso, six, p1, p2 = self.date(ordinal)
            century = {18: 1, 19: 3, 20: 5}[int(iso[:2])] + female
            key = ordinal * 2 + female
            serial = self.next.get(key)
            if serial is None:
                serial = self.used.get(f"{six}{century}", -1) + 1
            p1 += 7 * century
            p2 += W2[6] * century
            while serial < 10_000:
                check = (p1 + SERIAL_W1[serial]) % 11
                if check == 10:
                    check = (p2 + SERIAL_W2[serial]) % 11
                if check != 10:
                    self.next[key] = serial + 1
                    return f"{six}{century}{SERIAL[serial]}{check}", iso
                serial += 1
            self.next[key] = serial
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
        if count and not site.catchment:
            raise ValueError(f"site {site.name_ru} has people to place but no catchment")
        r = self.rng.random
        places = [pl for pl, _ in site.catchment]
        cum = list(itertools.accumulate(w for _, w in site.catchment))
        total = cum[-1] if cum else 0.0
        pid, aid, tid = ids
        as_of = self.as_of
        lat_lo, lat_hi = KZ_LAT[0] + 0.05, KZ_LAT[1] - 0.05
        lon_lo, lon_hi = KZ_LON[0] + 0.05, KZ_LON[1] - 0.05
        for _ in range(count):
            iin, surname, given, patronymic, iso, sex, category, age = self.identity()
            persons.append((pid, iin, surname, given, patronymic, iso, sex, category))
            place = places[min(bisect.bisect(cum, r() * total), len(places) - 1)]
            if site.spread_km > 0 and place.urban:
                spread, lat0, lon0, flat = site.spread_km, site.lat, site.lon, r() < 0.8
            else:
                spread, lat0, lon0, flat = 1.0, place.lat, place.lon, r() < 0.05
            lat = min(lat_hi, max(lat_lo, lat0 + (2 * r() - 1) * spread * KM_LAT))
            lon = min(lon_hi, max(lon_lo, lon0 + (2 * r() - 1) * spread * KM_LON))
            if flat and r() < 0.25:
                m_ru, m_kk = MICRODISTRICTS[int(r() * len(MICRODISTRICTS))]
                n = int(r() * 12) + 1
                street_ru, street_kk = f"мкр. {m_ru}-{n}", f"{m_kk}-{n} шағын ауданы"
            else:
                s_ru, s_kk = STREETS[int(r() * len(STREETS))]
                street_ru, street_kk = f"ул. {s_ru}", f"{s_kk} көшесі"
            house = int(r() * 180) + 1
            if flat:
                apt = int(r() * 240) + 1
                text_ru = f"{place.locality_ru}, {street_ru}, д. {house}, кв. {apt}"
                text_kk = f"{place.locality_kk}, {street_kk}, {house}-үй, {apt}-пәтер"
            else:
                text_ru = f"{place.locality_ru}, {street_ru}, д. {house}"
                text_kk = f"{place.locality_kk}, {street_kk}, {house}-үй"
            since = as_of - int(r() * min(age * 365 + 1, 20 * 365)) - 1
            addresses.append(
                (
                    aid,
                    pid,
                    PERMANENT,
                    text_kk,
                    text_ru,
                    place.code,
                    KATO_VERSION,
                    round(lat, 6),
                    round(lon, 6),
                    self.iins.date(since)[0],
                    None,
                )
            )
            # A child's contact number is a parent's mobile (the registry keeps one for everybody).
            phones.append((tid, pid, f"+7{OPERATORS[int(r() * 12)]}{int(r() * 10_000_000):07d}", "mobile"))
            pid, aid, tid = pid + 1, aid + 1, tid + 1
