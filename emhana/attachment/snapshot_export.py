"""Reads of a stored capitation snapshot for its page and its exports (A-120, A-121): the totals per organization,
and the persons counted, one row per person with the attachment that counted them. Both read only the stored
snapshot (capitation.counts_of, capitation.persons_of), never today's attachments, so an export made at any later
time is the same."""

from __future__ import annotations

import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.service import Actor
from emhana.attachment import capitation
from emhana.attachment.models import CapitationSnapshot
from emhana.audit.service import record_event
from emhana.facilities.models import Entity
from emhana.kernel import csvsafe

PERSONS_HEADER = ("as_of", "entity_id", "entity_bin", "person_id", "attachment_id", "sex", "age_band")


@dataclass(frozen=True)
class EntityTotal:
    """An organization's counts in a snapshot: by sex and band, and its total."""

    entity: Entity
    cells: dict[tuple[str, str], int]
    total: int

    def of_sex(self, sex: str) -> int:
        """Return the organization's count of one sex, all bands."""
        return sum(n for (s, _), n in self.cells.items() if s == sex)


def totals(*, session: Session, snapshot: CapitationSnapshot) -> list[EntityTotal]:
    """Return each counted organization's cells (sex, band) and total, largest first."""
    cells: dict[int, dict[tuple[str, str], int]] = {}
    for c in capitation.counts_of(session=session, snapshot=snapshot):
        cells.setdefault(c.entity_id, {})[(c.sex, c.band)] = c.count
    if not cells:
        return []
    entities = {e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(cells)))}
    found = [EntityTotal(entities[i], cell, sum(cell.values())) for i, cell in cells.items() if i in entities]
    return sorted(found, key=lambda t: (-t.total, t.entity.name_ru, t.entity.id))


def persons_csv(*, session: Session, actor: Actor | None, snapshot: CapitationSnapshot) -> str:
    """Return the persons counted in a snapshot as CSV (ids only, no names); the export is logged."""
    people = capitation.persons_of(session=session, snapshot=snapshot)
    bins = (
        {
            int(i): str(b)
            for i, b in session.execute(
                select(Entity.id, Entity.bin).where(Entity.id.in_({p.entity_id for p in people}))
            )
        }
        if people
        else {}
    )
    out = io.StringIO()
    writer = csvsafe.Writer(out, lineterminator="\n")
    writer.writerow(PERSONS_HEADER)
    for p in people:
        writer.writerow(
            (
                snapshot.as_of.isoformat(),
                p.entity_id,
                bins.get(p.entity_id, ""),
                p.person_id,
                p.attachment_id,
                p.sex,
                p.band,
            )
        )
    record_event(
        session=session,
        actor=actor,
        action="capitation.persons_export",
        object_type="capitation_snapshot",
        object_id=snapshot.as_of.isoformat(),
        purpose=f"{len(people)} persons",
    )
    return out.getvalue()
