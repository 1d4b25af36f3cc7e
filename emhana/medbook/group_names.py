"""The kk/ru/en names of decreed groups by code, for readers that hold only the code (the seal verifier)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.medbook import catalogue
from emhana.medbook.models import DecreedGroup


def names_of(session: Session, codes: Iterable[str]) -> dict[str, dict[str, str]]:
    """Return {code: {"name_kk", "name_ru", "name_en"}} of each known code: the names of its newest version in
    the catalogue, else of the packaged seed; unknown codes are left out."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    packaged = catalogue.group_names()
    found = {c: dict(packaged[c]) for c in wanted if c in packaged}
    for row in session.execute(
        select(DecreedGroup.code, DecreedGroup.name_kk, DecreedGroup.name_ru, DecreedGroup.name_en)
        .where(DecreedGroup.code.in_(wanted))
        .order_by(DecreedGroup.code, DecreedGroup.version)
    ):
        found[row.code] = {"name_kk": row.name_kk, "name_ru": row.name_ru, "name_en": row.name_en}
    return found
