"""Persons without a database: IINs, names, patronymics, proportions of sex, age, names and category."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from emhana.devtools.generator.names import kazakh_patronymic, name_book, russian_patronymic, transliterate
from emhana.devtools.generator.params import GeneratorParams
from emhana.devtools.generator.people import AddressRow, IinCounter, PersonFactory, PersonRow, PhoneRow
from emhana.devtools.generator.plan import child_share, make_plan
from emhana.identity.rules import Sex, iin_hints, is_valid_iin, make_iin


def test_iin_counter_agrees_with_make_iin_and_decodes_back() -> None:
    counter = IinCounter()
    day = dt.date(1987, 3, 14)
    for female in (False, True):
        iin, iso = counter.issue(day.toordinal(), female)
        serial = int(iin[7:11])
        sex = Sex.FEMALE if female else Sex.MALE
        assert iin == make_iin(day, sex, serial)
        hints = iin_hints(iin)
        assert (hints.birth_date, hints.sex, iso) == (day, sex, day.isoformat())


def test_iin_counter_never_repeats_and_moves_on_when_a_day_is_full() -> None:
    counter = IinCounter()
    ordinal = dt.date(2001, 1, 1).toordinal()
    iins = [counter.issue(ordinal, False)[0] for _ in range(12_000)]  # more than one day can hold
    assert len(set(iins)) == len(iins)
    assert all(is_valid_iin(i) for i in iins)
    assert {i[:6] for i in iins} == {"010101", "010102"}


def test_iin_counter_continues_after_serials_already_used() -> None:
    counter = IinCounter(used={"9001013": 41})
    iin, _ = counter.issue(dt.date(1990, 1, 1).toordinal(), False)
    assert iin.startswith("9001013") and int(iin[7:11]) > 41


def test_patronymics_in_both_forms() -> None:
    assert russian_patronymic("Нурлан", False) == "Нурланович"
    assert russian_patronymic("Нурлан", True) == "Нурлановна"
    assert russian_patronymic("Али", False) == "Алиевич"
    assert russian_patronymic("Жанай", True) == "Жанаевна"
    assert kazakh_patronymic("Нұрлан", False) == "Нұрланұлы"
    assert kazakh_patronymic("Нұрлан", True) == "Нұрланқызы"
    assert transliterate("Нұрланқызы") == "Нурланкызы"


def test_proportions_of_a_sample() -> None:
    params = GeneratorParams()
    factory = PersonFactory(7, params, name_book(), IinCounter())
    people = [factory.identity() for _ in range(20_000)]
    iins = [p[0] for p in people]
    assert len(set(iins)) == len(iins) and all(is_valid_iin(i) for i in iins)
    males = sum(p[5] == "male" for p in people) / len(people)
    assert 0.45 <= males <= 0.52
    kazakh = name_book().kazakh_given() - {n for names in name_book().ru_given for n in names}
    share = sum(p[2] in kazakh for p in people) / len(people)
    assert 0.6 <= share <= 0.8
    children = sum(p[7] < 18 for p in people) / len(people)
    assert abs(children - child_share(params)) < 0.02 and 0.28 <= children <= 0.38
    assert 0.04 <= sum(p[7] >= 65 for p in people) / len(people) <= 0.12
    categories = Counter(p[6] for p in people)
    assert 0.94 <= categories["citizen"] / len(people) <= 0.98 and categories["kandas"] > 0
    assert 0.03 <= sum(p[3] is None for p in people) / len(people) <= 0.12
    assert any(p[3] and p[3].endswith(("ұлы", "қызы")) for p in people)
    assert any(p[3] and p[3].endswith(("ович", "евич", "овна", "евна")) for p in people)
    assert any(set("әғқңөұүі") & set(p[2] + p[1]) for p in people)


def test_address_rows_are_inside_the_region_of_their_site() -> None:
    params = GeneratorParams()
    plan = make_plan(3, 5_000, params)
    factory = PersonFactory(3, params, name_book(), IinCounter())
    persons: list[PersonRow] = []
    addresses: list[AddressRow] = []
    phones: list[PhoneRow] = []
    site = next(s for s in plan.sites() if s.persons > 20)
    factory.fill(site, 50, (1, 1, 1), persons, addresses, phones)
    assert len(persons) == len(addresses) == len(phones) == 50
    assert {a[5][:2] for a in addresses} == {site.kato[:2]}
    assert all(a[2] == "permanent" and a[4].startswith(a[4].split(",")[0]) for a in addresses)
    assert all(p[2].startswith("+77") and len(p[2]) == 12 for p in phones)
    assert [a[1] for a in addresses] == [p[0] for p in persons]
