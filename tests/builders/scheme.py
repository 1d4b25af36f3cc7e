"""The service's own seal keys in tests: seals issued by a facility's document signer in the database, and a
second entity."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from emhana.facilities.models import Entity
from emhana.trust.scheme import issue as seals
from emhana.trust.seals.cwt import Clearance, ClearanceStatus

WORKER = Clearance("СЕЙТҚАЛИ ДАНА", dt.date(1995, 4, 12), ClearanceStatus.FIT, ("food",))
OTHER_BIN = "080540012015"


def now() -> dt.datetime:
    """The wall clock, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def issue(session: Session, entity_id: int, at: dt.datetime | None = None) -> str:
    """Issue a worker's clearance seal by the entity's document signer, valid for 180 days."""
    moment = at or now()
    return seals.issue_clearance(
        session, entity_id=entity_id, clearance=WORKER, expires_at=moment + dt.timedelta(days=180), now=moment
    )


def other_entity(session: Session) -> int:
    """Write a second entity (a private LLP) and return its id."""
    row = Entity(bin=OTHER_BIN, name_kk="Демо орталығы", name_ru="Демо центр", legal_form="llp", ownership="private")
    session.add(row)
    session.flush()
    return row.id
