"""Where a worker with an infection or carrier state is referred for treatment or sanitation (C-30), and what
the book says of each referral: the receiving organization and whether it has acknowledged the referral.

C-30 refers the worker to the PHC organization at her place of residence: the clinic she is attached to when
that attachment rests on her residence (A-20, A-23) and the clinic takes people on the day (A-04, B-06);
otherwise the nearest participating PHC clinic to her residence address (permanent registration first, then
temporary). Without such an address with coordinates the referral has no target yet, and the book says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from emhana.attachment.enums import PlaceBasis
from emhana.attachment.models import Attachment
from emhana.facilities.inclusion import is_participating, participating_on
from emhana.facilities.models import Entity
from emhana.facilities.service import near
from emhana.identity.models import Person
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.i18n import N_
from emhana.medbook.models import JournalEntry, ReferralReceipt
from emhana.medbook.rules import EntryKind

# Attachments that rest on where the person lives; study and work do not.
RESIDENCE_BASES = frozenset(
    {PlaceBasis.RESIDENCE_PERMANENT.value, PlaceBasis.RESIDENCE_TEMPORARY.value, PlaceBasis.ACTUAL_RESIDENCE.value}
)
# The person's addresses that count as her residence, in the order they are tried.
HOME_KINDS = ("permanent", "temporary")
NEAR_FETCH = (10, 50, 250)  # sites fetched nearest first; the near search does not check Fund contracts


@dataclass(frozen=True)
class Attached:
    """The person's attachment on the day, as the choice rule needs it."""

    entity_id: int
    place_basis: str
    participating: bool


@dataclass(frozen=True)
class Home:
    """One of the person's addresses on the day."""

    kind: str
    lat: float | None
    lon: float | None


def attached_clinic(attached: Attached | None) -> int | None:
    """Return the attached clinic when it is the referral's target: attached by residence and participating (C-30)."""
    if attached is None or attached.place_basis not in RESIDENCE_BASES or not attached.participating:
        return None
    return attached.entity_id


def home_point(homes: Iterable[Home]) -> tuple[float, float] | None:
    """Return the coordinates to search from: the permanent registration address, else the temporary one."""
    located = [h for h in homes if h.kind in HOME_KINDS and h.lat is not None and h.lon is not None]
    located.sort(key=lambda h: HOME_KINDS.index(h.kind))
    return (located[0].lat, located[0].lon) if located else None  # type: ignore[return-value]


def _attached(session: Session, person_id: int, day: dt.date) -> Attached | None:
    row = session.execute(
        select(Attachment.entity_id, Attachment.place_basis)
        .where(
            Attachment.person_id == person_id,
            Attachment.begin_date <= day,
            or_(Attachment.end_date.is_(None), Attachment.end_date >= day),
        )
        .order_by(Attachment.begin_date.desc(), Attachment.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return Attached(row.entity_id, row.place_basis, is_participating(session=session, entity_id=row.entity_id, day=day))


def _homes(session: Session, person_id: int, day: dt.date) -> list[Home]:
    person = session.get(Person, person_id)
    return [
        Home(a.kind, a.lat, a.lon)
        for a in (person.addresses if person else [])
        if (a.valid_from is None or a.valid_from <= day) and (a.valid_to is None or a.valid_to >= day)
    ]


def nearest_participating(*, session: Session, lat: float, lon: float, day: dt.date) -> int | None:
    """Return the participating PHC entity (included, Fund contract in force) with the nearest site, or None."""
    for fetch in NEAR_FETCH:
        found = near(session=session, lat=lat, lon=lon, day=day, limit=fetch)
        ids = list(dict.fromkeys(s.entity.id for s in found))
        taking = (
            set(session.scalars(select(Entity.id).where(Entity.id.in_(ids), participating_on(day)))) if ids else set()
        )
        chosen = next((i for i in ids if i in taking), None)
        if chosen is not None or len(found) < fetch:
            return chosen
    return None


def referral_target(*, session: Session, person_id: int, day: dt.date) -> int | None:
    """Return the PHC entity a worker is referred to on a day (C-30), or None when no address locates her."""
    clinic = attached_clinic(_attached(session, person_id, day))
    if clinic is not None:
        return clinic
    point = home_point(_homes(session, person_id, day))
    if point is None:
        return None
    return nearest_participating(session=session, lat=point[0], lon=point[1], day=day)


def aware(moment: dt.datetime) -> dt.datetime:
    """Return an instant with its time zone (SQLite gives naive UTC back)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


class ReferralState(StrEnum):
    """What the book says of a referral (C-30)."""

    NO_TARGET = "no_target"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"


STATE_LABELS = {
    ReferralState.NO_TARGET: N_("No receiving organization yet: the worker's address of residence is not known"),
    ReferralState.SENT: N_("Sent to %(organization)s"),
    ReferralState.ACKNOWLEDGED: N_("Received by %(organization)s on %(day)s"),
}


@dataclass(frozen=True)
class Standing:
    """A referral's receiving organization (kk/ru names) and the day it acknowledged the referral, if it has."""

    state: ReferralState
    name_kk: str = ""
    name_ru: str = ""
    acknowledged_on: dt.date | None = None

    def name(self, lang: str) -> str:
        return self.name_kk if lang == "kk" else self.name_ru


def standing_of(*, session: Session, entries: Sequence[JournalEntry]) -> dict[int, Standing]:
    """Return the standing of each referral among the entries, by entry id (two queries for a whole book)."""
    referrals = [e for e in entries if e.kind == EntryKind.REFERRAL.value]
    targets = {e.referral_entity_id for e in referrals if e.referral_entity_id is not None}
    names = (
        {
            r.id: (r.name_kk, r.name_ru)
            for r in session.execute(select(Entity.id, Entity.name_kk, Entity.name_ru).where(Entity.id.in_(targets)))
        }
        if targets
        else {}
    )
    ids = [e.id for e in referrals]
    receipts = (
        {r.entry_id: r for r in session.scalars(select(ReferralReceipt).where(ReferralReceipt.entry_id.in_(ids)))}
        if ids
        else {}
    )
    out = {}
    for e in referrals:
        if e.referral_entity_id is None:
            out[e.id] = Standing(ReferralState.NO_TARGET)
            continue
        kk, ru = names.get(e.referral_entity_id, ("", ""))
        receipt = receipts.get(e.id)
        if receipt is None:
            out[e.id] = Standing(ReferralState.SENT, kk, ru)
        else:
            day = aware(receipt.acknowledged_at).astimezone(KZ_TIME).date()
            out[e.id] = Standing(ReferralState.ACKNOWLEDGED, kk, ru, day)
    return out
