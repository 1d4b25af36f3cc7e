"""Read the packaged KATO classifier and regions into plain rows (used by the migrations)."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any

from emhana.reference.rules import parent_of

DATA = Path(__file__).parent / "data"
KATO_VERSION = "NK RK 11-2025"


@lru_cache(maxsize=1)
def kato_rows() -> tuple[dict[str, Any], ...]:
    """Return every KATO row with its derived parent, parents before their children."""
    with (DATA / "kato.csv").open(encoding="utf-8", newline="") as fh:
        raw = list(csv.DictReader(fh))
    codes = {r["kato"] for r in raw}
    rows = [
        {
            "code": r["kato"],
            "version": r["kato_version"],
            "level": r["level"],
            "type_code": int(r["type_code"]),
            "name_ru": r["name_ru"],
            "name_kk": r["name_kk"],
            "parent_code": parent_of(r["kato"], codes),
        }
        for r in raw
    ]
    by_code = {r["code"]: r for r in rows}

    def depth(code: str) -> int:
        d = 0
        parent = by_code[code]["parent_code"]
        while parent is not None:
            d += 1
            parent = by_code[parent]["parent_code"]
        return d

    return tuple(sorted(rows, key=lambda r: (depth(r["code"]), r["code"])))


def region_rows() -> list[dict[str, Any]]:
    """Return the regions (oblasts and cities; the republic total row is left out)."""
    with (DATA / "kz_regions.csv").open(encoding="utf-8", newline="") as fh:
        return [
            {
                "kato": r["kato"],
                "name_en": r["name_en"],
                "name_ru": r["name_ru"],
                "name_kk": r["name_kk"],
                "population": int(r["population_2023_01_01"]),
                "males": int(r["males_2023_01_01"]),
                "females": int(r["females_2023_01_01"]),
                "hospitals": int(r["hospitals_2022"]) if r["hospitals_2022"] else None,
            }
            for r in csv.DictReader(fh)
            if r["kato"] != "000000000"
        ]
