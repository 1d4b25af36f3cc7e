"""Where a search for clinics starts from: a typed address or a KATO settlement, located with the reference data
and, for a settlement without coordinates of its own, the clinics registered in it (journey 1, "start from where
you are")."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.facilities.models import Site
from emhana.reference import address
from emhana.reference.address import Located


def site_points(session: Session, codes: list[str]) -> dict[str, tuple[float, float]]:
    """Return the centre of the active sites registered in each of the KATO codes that has any."""
    if not codes:
        return {}
    rows = session.execute(
        select(Site.kato_code, func.avg(Site.lat), func.avg(Site.lon))
        .where(Site.kato_code.in_(codes), Site.active.is_(True))
        .group_by(Site.kato_code)
    )
    return {code: (round(float(lat), 6), round(float(lon), 6)) for code, lat, lon in rows}


def locate_kato(*, session: Session, kato: str, street: str = "") -> Located:
    """Locate a settlement of the classifier (UnknownKato when it is none)."""
    address.unit(kato)
    return address.locate(kato, site_points(session, address.subtree(address.district_of(kato))), street)


def locate_address(*, session: Session, text: str) -> Located:
    """Resolve a typed address to its settlement and locate it; the street is returned, never located.
    AddressNotFound or AddressAmbiguous when the text names no settlement, or several."""
    unit, street = address.resolve(text)
    return locate_kato(session=session, kato=unit.code, street=street)
