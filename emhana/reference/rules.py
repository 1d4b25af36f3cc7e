"""Pure rules over places: KATO codes, their structure and parent derivation (emhana/reference/data/kato), and
Kazakhstan's extent."""

from __future__ import annotations

from collections.abc import Container

KZ_LAT = (40.5, 55.5)
KZ_LON = (46.4, 87.4)


def is_kato_code(code: str) -> bool:
    """Tell whether a string has the shape of a KATO code (9 ASCII digits)."""
    return len(code) == 9 and code.isascii() and code.isdigit()


def parent_candidates(code: str) -> list[str]:
    """Return the possible parents of a code, nearest first (segments AB|CD|EF|HIJ)."""
    candidates = []
    if code[7:9] != "00":
        candidates.append(code[:7] + "00")
    candidates += [code[:6] + "000", code[:4] + "00000", code[:2] + "0000000"]
    return [c for c in candidates if c != code]


def parent_of(code: str, known: Container[str]) -> str | None:
    """Return the parent of a code: the first existing candidate that differs from it.

    A naive longest zero-padded prefix is wrong: it would make okrug 103233000 a child of
    its sibling 103230000.
    """
    for candidate in parent_candidates(code):
        if candidate in known:
            return candidate
    return None


def oblast_of(code: str) -> str:
    """Return the oblast-level code (AB0000000) of a code."""
    return code[:2] + "0000000"


def in_kazakhstan(lat: float, lon: float) -> bool:
    """Tell whether a point lies within Kazakhstan's extent."""
    return KZ_LAT[0] <= lat <= KZ_LAT[1] and KZ_LON[0] <= lon <= KZ_LON[1]
