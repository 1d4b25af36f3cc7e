"""A typed address resolves to a KATO settlement (never to a street: there is no street data), with a point whose
precision is told: the settlement's own coordinates, its clinics', or the centre of the known places around it."""

from __future__ import annotations

import pytest

from emhana.kernel.errors import AddressAmbiguous, AddressNotFound, UnknownKato
from emhana.reference import address


@pytest.mark.parametrize(
    ("text", "code", "street"),
    [
        ("Астана, пр. Абая 20", "710000000", "пр. Абая 20"),
        ("ул. Абая 20, г. Астана", "710000000", "ул. Абая 20"),
        ("г.Алматы, ул. Толе би, 101", "750000000", "ул. Толе би, 101"),
        ("Қарағанды қ., Бұқар жырау 5", "351010000", "Бұқар жырау 5"),  # Kazakh, the street not mistaken for a village
        ("Караганда Ерубаева 10", "351010000", "ерубаева 10"),  # no comma: the longest leading name
        ("Karagandy", "351010000", ""),  # GeoNames' Latin name
        ("Абай", "353220100", ""),  # the town, not one of the 26 villages named Абай
        ("Алматы, Бостандыкский район, ул. Тимирязева 15", "751410000", "ул. Тимирязева 15"),  # a city district
        ("Абай облысы, Аягөз ауданы, Қараауыл а.", "103673106", ""),  # region and district narrow the name
        ("Акмолинская область, Коргалжынский район, с.Абай", "116030200", ""),
    ],
)
def test_an_address_resolves_to_its_settlement_and_the_rest_is_the_street(text: str, code: str, street: str) -> None:
    unit, rest = address.resolve(text)
    assert (unit.code, rest) == (code, street)


def test_a_name_shared_by_several_settlements_is_ambiguous_with_candidates_named_by_region_and_district() -> None:
    with pytest.raises(AddressAmbiguous) as caught:
        address.resolve("Карааул")
    assert caught.value.code == "reference.address_ambiguous"
    candidates = {c["kato"]: c for c in caught.value.errors}
    assert {"103230100", "103673106"} <= set(candidates)
    assert candidates["103230100"]["name_ru"] == "область Абай, Абайский район, с.Карааул"
    assert candidates["103230100"]["name_kk"] == "Абай облысы, Абай ауданы, Қараауыл а."
    with pytest.raises(AddressAmbiguous):
        address.resolve("с.Абай")  # a village is asked for: the town Абай does not settle it


@pytest.mark.parametrize("text", ["", "xyz", "ул. Абая 20", "Нур-Султан"])
def test_an_address_without_a_settlement_is_a_coded_error(text: str) -> None:
    with pytest.raises(AddressNotFound) as caught:
        address.resolve(text)
    assert caught.value.code == "reference.address_not_found"


def test_the_point_says_how_precise_it_is() -> None:
    karaganda = address.locate("351010000")
    assert (karaganda.precision, round(karaganda.lat, 2), round(karaganda.lon, 2)) == ("place", 49.8, 73.1)
    # с.Карааул (Абайский район) has no coordinates, nor has any place of its district: the oblast's centre.
    village = address.locate("103230100")
    assert village.precision == "area" and village.area.code == "100000000"
    # the clinics registered in a settlement give its point before any area does
    with_clinics = address.locate("103230100", {"103230100": (49.9, 79.5)})
    assert (with_clinics.precision, with_clinics.lat, with_clinics.lon) == ("sites", 49.9, 79.5)
    # a district of a city without its own point: the city's known places
    district = address.locate("751410000")
    assert district.precision == "area" and district.area.code == "750000000"


def test_an_unknown_code_is_refused() -> None:
    with pytest.raises(UnknownKato):
        address.locate("999999999")


def test_locality_names_region_district_and_place_without_the_city_administration() -> None:
    assert address.locality("351010000", "ru") == "Карагандинская область, г.Караганда"
    assert address.locality("710000000", "kk") == "Астана қ."
    assert address.district_of("103230100") == "103200000"
    assert address.district_of("751410000") == "750000000"
