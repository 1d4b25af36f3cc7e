"""Real naming patterns of PHC organisations and sites in Kazakh and Russian, and street addresses."""

from __future__ import annotations

import random

from emhana.facilities.rules import SiteKind

# Naming patterns seen in public code (docs/scale.md §1): `ГКП на ПХВ "Городская поликлиника №3" акимата
# города Астана`, `КГП на ПХВ "Поликлиника №2 г. Семей" УЗ ОА`, `ГКП на ПХВ "Енбекшиказахская
# многопрофильная ЦРБ"`, `ТОО "Центр семейного здоровья …"`; Kazakh forms of the same legal forms:
# ШЖҚ МКК / ШЖҚ КМК (state enterprise on the right of economic management), ЖШС (LLP).

RURAL_KIND_RU = {
    SiteKind.MEDICAL_POINT: "Медицинский пункт",
    SiteKind.FELDSHER_MIDWIFE_POST: "Фельдшерско-акушерский пункт",
    SiteKind.DOCTORS_OUTPATIENT_CLINIC: "Врачебная амбулатория",
    SiteKind.POLYCLINIC: "Центр ПМСП",
}
RURAL_KIND_KK = {
    SiteKind.MEDICAL_POINT: "медициналық пункті",
    SiteKind.FELDSHER_MIDWIFE_POST: "фельдшерлік-акушерлік пункті",
    SiteKind.DOCTORS_OUTPATIENT_CLINIC: "дәрігерлік амбулаториясы",
    SiteKind.POLYCLINIC: "МСАК орталығы",
}

BRANDS = (
    "Шипагер",
    "Мейірім",
    "Денсаулық",
    "Сенім",
    "Аяла",
    "Береке",
    "Жанұя",
    "Саулық",
    "Авиценна",
    "Гиппократ",
    "Медиус",
    "Демеу",
    "Ақниет",
    "Үміт",
    "Салауат",
    "Бақыт",
    "Достар",
    "Эскулап",
    "Панацея",
    "Ардагер",
    "Нұрлы Жол",
    "Алтын Күн",
    "Ақ Жол",
    "Самал",
    "Керуен",
    "Болашақ",
    "Шапағат",
    "Медел",
    "Емші",
    "Дәрігер",
    "Арай",
    "Жұлдыз",
    "Көктем",
    "Тұмар",
    "Шуақ",
    "Ниет",
    "Қамқор",
    "Жебеу",
    "Бәйтерек",
    "Нұр-Мед",
    "Сау Бол",
    "Ана мен бала",
    "Отбасы",
    "Медикер",
    "Интертич",
    "Хак-Мед",
    "Зерде",
    "Айгерім",
)

# Streets: (ru, kk) name cores; ru "ул. Абая" ↔ kk "Абай көшесі".
STREETS = (
    ("Абая", "Абай"),
    ("Жамбыла", "Жамбыл"),
    ("Сейфуллина", "Сейфуллин"),
    ("Кунаева", "Қонаев"),
    ("Толе би", "Төле би"),
    ("Богенбай батыра", "Бөгенбай батыр"),
    ("Кабанбай батыра", "Қабанбай батыр"),
    ("Ауэзова", "Әуезов"),
    ("Байтурсынова", "Байтұрсынов"),
    ("Момышулы", "Момышұлы"),
    ("Сатпаева", "Сәтбаев"),
    ("Абылай хана", "Абылай хан"),
    ("Желтоксан", "Желтоқсан"),
    ("Жибек жолы", "Жібек жолы"),
    ("Тауелсиздик", "Тәуелсіздік"),
    ("Достык", "Достық"),
    ("Бейбитшилик", "Бейбітшілік"),
    ("Республики", "Республика"),
    ("Назарбаева", "Назарбаев"),
    ("Гагарина", "Гагарин"),
    ("Пушкина", "Пушкин"),
    ("Чехова", "Чехов"),
    ("Махамбета", "Махамбет"),
    ("Валиханова", "Уәлиханов"),
    ("Алтынсарина", "Алтынсарин"),
    ("Жансугурова", "Жансүгіров"),
    ("Муканова", "Мұқанов"),
    ("Майлина", "Майлин"),
    ("Торайгырова", "Торайғыров"),
    ("Бокейхана", "Бөкейхан"),
    ("Мусрепова", "Мүсірепов"),
    ("Дулатова", "Дулатов"),
    ("Есенберлина", "Есенберлин"),
    ("Школьная", "Мектеп"),
    ("Центральная", "Орталық"),
    ("Молодежная", "Жастар"),
    ("Садовая", "Бақша"),
    ("Степная", "Дала"),
    ("Набережная", "Жағалау"),
    ("Строителей", "Құрылысшылар"),
    ("Новая", "Жаңа"),
    ("Мира", "Бейбітшілік"),
    ("Победы", "Жеңіс"),
    ("Луговая", "Шалғын"),
    ("Речная", "Өзен"),
    ("Целинная", "Тың"),
    ("Заречная", "Өзен сыртындағы"),
    ("Алтай", "Алтай"),
    ("Сарыарка", "Сарыарқа"),
    ("Есиль", "Есіл"),
    ("Иманова", "Иманов"),
    ("Сарайшык", "Сарайшық"),
    ("Туран", "Тұран"),
    ("Кенесары", "Кенесары"),
    ("Орынбор", "Орынбор"),
    ("Сыганак", "Сығанақ"),
    ("Улы Дала", "Ұлы Дала"),
)
MICRODISTRICTS = (
    ("Самал", "Самал"),
    ("Аксай", "Ақсай"),
    ("Шугыла", "Шұғыла"),
    ("Жетысу", "Жетісу"),
    ("Восток", "Шығыс"),
    ("Юго-Восток", "Оңтүстік-Шығыс"),
    ("Нурсат", "Нұрсат"),
    ("Кокжиек", "Көкжиек"),
    ("Орбита", "Орбита"),
    ("Астана", "Астана"),
)


def base_name(name: str) -> str:
    """Strip a KATO prefix or suffix: "г.Семей" -> "Семей", "Семей қ." -> "Семей"."""
    for prefix in ("г.", "с.", "п."):
        if name.startswith(prefix):
            return name[len(prefix) :].strip()
    for suffix in (" қ.", " а.", " к."):
        if name.endswith(suffix):
            return name[: -len(suffix)].strip()
    return name


def region_genitive_ru(name: str) -> str:
    """ "область Абай" -> "области Абай"; "Акмолинская область" -> "Акмолинской области"."""
    if name.startswith("область "):
        return "области " + name[len("область ") :]
    if name.endswith("ая область"):
        return name[: -len("ая область")] + "ой области"
    return name


def health_department_ru(region_ru: str) -> str:
    return f"управления здравоохранения {region_genitive_ru(region_ru)}"


def health_department_kk(region_kk: str) -> str:
    return f"{region_kk} денсаулық сақтау басқармасының"


def district_adjective_ru(district_ru: str) -> str | None:
    """ "Абайский район" -> "Абайская"; "район Жаңасемей" -> None (no adjective form)."""
    if not district_ru.endswith(" район"):
        return None
    word = district_ru[: -len(" район")]
    for masc, fem in (("ский", "ская"), ("цкий", "цкая"), ("ный", "ная"), ("ой", "ая"), ("ий", "яя")):
        if word.endswith(masc):
            return word[: -len(masc)] + fem
    return None


def district_hospital_names(
    district_ru: str, district_kk: str, region_ru: str, region_kk: str, multi: bool
) -> tuple[str, str, str, str]:
    """Return (entity ru, entity kk, head site ru, head site kk) of a district hospital (ЦРБ)."""
    adj = district_adjective_ru(district_ru)
    word_ru = "многопрофильная ЦРБ" if multi else "ЦРБ"
    if adj:
        short_ru = f"{adj} {word_ru}"
    else:
        short_ru = f"{word_ru[0].upper()}{word_ru[1:]} {_genitive_district(district_ru)}"
    kk_base = district_kk.removesuffix(" ауданы")
    short_kk = f"{kk_base} аудандық {'көпбейінді ' if multi else ''}орталық ауруханасы"
    entity_ru = f'КГП на ПХВ "{short_ru}" {health_department_ru(region_ru)}'
    entity_kk = f'{health_department_kk(region_kk)} "{short_kk}" ШЖҚ КМК'
    head_ru = f"Поликлиника {_genitive_short(short_ru)}"
    head_kk = f"{short_kk}ның емханасы"
    return entity_ru, entity_kk, head_ru, head_kk


def _genitive_district(district_ru: str) -> str:
    """ "район Жаңасемей" -> "района Жаңасемей"; "Район Магжана Жумабаева" -> "района Магжана Жумабаева"."""
    rest = district_ru.split(" ", 1)[1] if district_ru.lower().startswith("район ") else district_ru
    return f"района {rest}"


def _genitive_short(short_ru: str) -> str:
    out = []
    for w in short_ru.split(" "):
        if w.endswith("ая"):
            w = w[:-2] + "ой"
        elif w.endswith("яя"):
            w = w[:-2] + "ей"
        out.append(w)
    text = " ".join(out)
    return text[0].lower() + text[1:] if text.startswith("Многопрофильной") else text


def city_polyclinic_names(
    number: int, city_ru: str, city_kk: str, region_ru: str, region_kk: str, republican: bool
) -> tuple[str, str, str, str]:
    """Return (entity ru, entity kk, site ru, site kk) of a state city polyclinic."""
    if republican:
        site_ru, site_kk = f"Городская поликлиника №{number}", f"№{number} қалалық емхана"
        return (
            f'ГКП на ПХВ "{site_ru}" акимата города {city_ru}',
            f'{city_kk} қаласы әкімдігінің "{site_kk}" ШЖҚ МКК',
            site_ru,
            site_kk,
        )
    site_ru, site_kk = f"Поликлиника №{number} г. {city_ru}", f"{city_kk} қаласының №{number} емханасы"
    return (
        f'КГП на ПХВ "{site_ru}" {health_department_ru(region_ru)}',
        f'{health_department_kk(region_kk)} "{site_kk}" ШЖҚ КМК',
        site_ru,
        site_kk,
    )


def private_names(brand: str, centre: bool) -> tuple[str, str, str, str]:
    """Return (entity ru, entity kk, site ru, site kk) of a private family health centre (ТОО)."""
    if centre:
        site_ru, site_kk = f"Центр семейного здоровья {brand}", f"{brand} отбасылық денсаулық орталығы"
    else:
        site_ru, site_kk = f"Медицинский центр {brand}", f"{brand} медициналық орталығы"
    return f'ТОО "{site_ru}"', f'"{site_kk}" ЖШС', site_ru, site_kk


def rural_site_names(kind: SiteKind, place_ru: str, place_kk: str) -> tuple[str, str]:
    """ "Фельдшерско-акушерский пункт с.Карааул" / "Қараауыл а. фельдшерлік-акушерлік пункті"."""
    return f"{RURAL_KIND_RU[kind]} {place_ru}", f"{place_kk} {RURAL_KIND_KK[kind]}"


def street_address(rng: random.Random, locality_ru: str, locality_kk: str, *, flat: bool) -> tuple[str, str]:
    """Return (ru, kk) of a street address in a locality, e.g. "г.Астана, ул. Абая, д. 12, кв. 5"."""
    house = rng.randint(1, 180)
    if flat and rng.random() < 0.25:
        ru, kk = MICRODISTRICTS[rng.randrange(len(MICRODISTRICTS))]
        n = rng.randint(1, 12)
        street_ru, street_kk = f"мкр. {ru}-{n}", f"{kk}-{n} шағын ауданы"
    else:
        ru, kk = STREETS[rng.randrange(len(STREETS))]
        street_ru, street_kk = f"ул. {ru}", f"{kk} көшесі"
    text_ru = f"{locality_ru}, {street_ru}, д. {house}"
    text_kk = f"{locality_kk}, {street_kk}, {house}-үй"
    if flat:
        apt = rng.randint(1, 240)
        text_ru += f", кв. {apt}"
        text_kk += f", {apt}-пәтер"
    return text_ru, text_kk
