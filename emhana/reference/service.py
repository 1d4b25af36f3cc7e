"""Checks of places against the reference data: KATO codes and Kazakhstan's extent."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.kernel.errors import OutsideKazakhstan, UnknownKato
from emhana.reference.models import KatoUnit
from emhana.reference.rules import in_kazakhstan


def check_places(session: Session, places: Iterable[tuple[str, float | None, float | None]]) -> None:
    """Raise UnknownKato or OutsideKazakhstan for the first (kato, lat, lon) that is not a real place here."""
    items = list(places)
    codes = {kato for kato, _, _ in items}
    known = set(session.scalars(select(KatoUnit.code).where(KatoUnit.code.in_(codes)))) if codes else set()
    for kato, lat, lon in items:
        if kato not in known:
            raise UnknownKato(kato=kato)
        if lat is not None and lon is not None and not in_kazakhstan(lat, lon):
            raise OutsideKazakhstan(lat=lat, lon=lon)
