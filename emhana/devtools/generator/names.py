"""Kazakh and Russian name lists with derived patronymics and Russian-letter spellings (docs/scale.md §3)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"

# Kazakh-specific letters and their usual Russian-letter spellings in older documents (docs/scale.md §3:
# "a share of people with both Cyrillic Kazakh-specific letters and their Russian transliterations").
TRANSLIT = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")
VOWELS = set("аеёиоуыэюя")


def transliterate(value: str) -> str:
    """Write a Kazakh name with Russian letters only: "Нұрлан" -> "Нурлан"."""
    return value.translate(TRANSLIT)


def russian_patronymic(father: str, female: bool) -> str:
    """Russian-form patronymic of a (transliterated) given name: Нурлан -> Нурланович / Нурлановна."""
    last = father[-1].lower()
    if last in ("й", "ь"):
        stem, male_end, female_end = father[:-1], "евич", "евна"
    elif last in VOWELS:
        stem, male_end, female_end = father, "евич", "евна"
    else:
        stem, male_end, female_end = father, "ович", "овна"
    return stem + (female_end if female else male_end)


def kazakh_patronymic(father: str, female: bool) -> str:
    """Kazakh-form patronymic: Нұрлан -> Нұрланұлы / Нұрланқызы (optional since 2019)."""
    return father + ("қызы" if female else "ұлы")


@dataclass(frozen=True)
class NameBook:
    """Name lists indexed [female] (0 male, 1 female); Kazakh lists also in Russian-letter spelling."""

    kk_given: tuple[tuple[str, ...], tuple[str, ...]]
    kk_given_ru: tuple[tuple[str, ...], tuple[str, ...]]
    kk_surname: tuple[tuple[str, ...], tuple[str, ...]]
    kk_surname_ru: tuple[tuple[str, ...], tuple[str, ...]]
    kk_patronymic_kz: tuple[tuple[str, ...], tuple[str, ...]]  # Нұрланұлы / Нұрланқызы
    kk_patronymic_kz_ru: tuple[tuple[str, ...], tuple[str, ...]]  # Нурланулы / Нурланкызы
    kk_patronymic_ru: tuple[tuple[str, ...], tuple[str, ...]]  # Нурланович / Нурлановна
    ru_given: tuple[tuple[str, ...], tuple[str, ...]]
    ru_surname: tuple[tuple[str, ...], tuple[str, ...]]
    ru_patronymic: tuple[tuple[str, ...], tuple[str, ...]]

    def kazakh_given(self) -> frozenset[str]:
        """Every Kazakh given name in both spellings (to tell Kazakh names apart in checks)."""
        return frozenset(n for lists in (self.kk_given, self.kk_given_ru) for names in lists for n in names)


def _clean(value: str) -> str:
    # The COPY text format needs no escaping if names carry no tab, newline or backslash.
    return " ".join(value.replace("\\", "").split())


@lru_cache(maxsize=1)
def name_book() -> NameBook:
    """Load the packaged name lists (mimesis kk/ru and Faker ru_RU, MIT: see data/ATTRIBUTION.md)."""
    lists: dict[tuple[str, str, str], list[str]] = {}
    with (DATA / "kz_ru_person_names.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            value = _clean(r["value"])
            if value:
                lists.setdefault((r["lang"], r["kind"], r["sex"]), []).append(value)

    def pair(lang: str, kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        male, female = lists[(lang, kind, "male")], lists[(lang, kind, "female")]
        return tuple(sorted(set(male))), tuple(sorted(set(female)))

    kk_given, kk_surname = pair("kk", "given"), pair("kk", "surname")
    fathers = kk_given[0]

    def both(fn: Callable[[str, bool], str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(fn(f, False) for f in fathers), tuple(fn(f, True) for f in fathers)

    def tr(p: tuple[tuple[str, ...], tuple[str, ...]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(transliterate(v) for v in p[0]), tuple(transliterate(v) for v in p[1])

    kz_form = both(kazakh_patronymic)
    return NameBook(
        kk_given=kk_given,
        kk_given_ru=tr(kk_given),
        kk_surname=kk_surname,
        kk_surname_ru=tr(kk_surname),
        kk_patronymic_kz=kz_form,
        kk_patronymic_kz_ru=tr(kz_form),
        kk_patronymic_ru=(
            tuple(russian_patronymic(transliterate(f), False) for f in fathers),
            tuple(russian_patronymic(transliterate(f), True) for f in fathers),
        ),
        ru_given=pair("ru", "given"),
        ru_surname=pair("ru", "surname"),
        ru_patronymic=pair("ru", "patronymic"),
    )
