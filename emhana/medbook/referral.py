"""Where a worker with an infection or carrier state is referred for treatment or sanitation (C-30)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from emhana.attachment.models import Attachment
from emhana.facilities.service import near
from emhana.identity.models import Person


def referral_target(*, session: Session, person_id: int, day: dt.date) -> int | None:
    """Return the PHC entity a person is attached to on a day, or the nearest participating one (C-30)."""
    attached = session.scalar(
        select(Attachment.entity_id)
        .where(
            Attachment.person_id == person_id,
            Attachment.begin_date <= day,
            or_(Attachment.end_date.is_(None), Attachment.end_date >= day),
        )
        .order_by(Attachment.begin_date.desc())
    )
    if attached is not None:
        return attached
    person = session.get(Person, person_id)
    homes = [
        a
        for a in (person.addresses if person else [])
        if a.lat is not None and a.lon is not None and (a.valid_to is None or a.valid_to >= day)
    ]
    homes.sort(key=lambda a: a.kind != "permanent")
    if not homes:
        return None
    found = near(session=session, lat=homes[0].lat, lon=homes[0].lon, day=day, limit=1)  # type: ignore[arg-type]
    return found[0].entity.id if found else None
