"""The published list of participating healthcare entities of a campaign year, kept version by version (B-02).

The Fund publishes, for a campaign year, the list of entities that take part in attachment (included in the
database with a Fund contract, A-04, B-06) on a day, with the date the list was published (on fms.kz and the
health departments' sites, B-02). Each publication is a new version of the year's list; earlier versions stay as
they were: the rows copy the entities' names, BINs and regions as published, and a SHA-256 digest over them lets
anyone check that a version was not changed afterwards. The list holds organizations only, no personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from emhana.accounts.service import Actor
from emhana.audit.service import record_event
from emhana.facilities.inclusion import participating_on
from emhana.facilities.models import Entity
from emhana.kernel.db import Base, BigId
from emhana.kernel.errors import InvalidDates, NotFound
from emhana.kernel.i18n import N_

REASON_PUBLISHED_IN_FUTURE = N_("the publication date cannot be later than today")
REASON_BEFORE_LAST_VERSION = N_("a new version cannot be published before the previous one")


class ListNotPublished(NotFound):
    """No list (or no such version) of participating entities was published for the year."""

    code = "facilities.list_not_published"
    message = N_("No list of participating entities has been published for {year}.")


class ParticipantList(Base):
    """One published version of a campaign year's list of participating entities (B-02)."""

    __tablename__ = "participant_list"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    published_on: Mapped[dt.date] = mapped_column(Date)
    as_of: Mapped[dt.date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    entries: Mapped[list[ParticipantListEntry]] = relationship(
        back_populates="list", order_by="ParticipantListEntry.position"
    )

    __table_args__ = (UniqueConstraint("year", "version", name="uq_participant_list_year_version"),)


class ParticipantListEntry(Base):
    """An entity as it stood in a published list: its BIN, names and region on the day (never updated)."""

    __tablename__ = "participant_list_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("participant_list.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entity.id"))
    bin: Mapped[str] = mapped_column(String(12))
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    region_kato: Mapped[str | None] = mapped_column(String(9))

    list: Mapped[ParticipantList] = relationship(back_populates="entries")

    __table_args__ = (UniqueConstraint("list_id", "entity_id", name="uq_participant_list_entry_entity"),)


@dataclass(frozen=True)
class Row:
    """One entity of a list, as published."""

    entity_id: int
    bin: str
    name_kk: str
    name_ru: str
    region_kato: str | None


def digest_of(year: int, published_on: dt.date, as_of: dt.date, rows: list[Row]) -> str:
    """Return the SHA-256 (hex) of a version's canonical JSON: year, dates and rows in order."""
    canonical = {
        "year": year,
        "published_on": published_on.isoformat(),
        "as_of": as_of.isoformat(),
        "entities": [[r.bin, r.name_kk, r.name_ru, r.region_kato or ""] for r in rows],
    }
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def rows_of(lst: ParticipantList) -> list[Row]:
    """Return a version's rows in their published order."""
    return [Row(e.entity_id, e.bin, e.name_kk, e.name_ru, e.region_kato) for e in lst.entries]


def intact(lst: ParticipantList) -> bool:
    """Tell whether a version's rows still hash to the digest stored when it was published."""
    return digest_of(lst.year, lst.published_on, lst.as_of, rows_of(lst)) == lst.digest


def publish(
    *,
    session: Session,
    actor: Actor | None,
    year: int,
    published_on: dt.date,
    as_of: dt.date,
    today: dt.date,
    now: dt.datetime,
) -> ParticipantList:
    """Publish a new version of a year's list: the entities participating on ``as_of`` (B-02, A-04, B-06).

    The publication date is not later than today, nor earlier than the year's previous version; earlier
    versions are kept as they were."""
    if published_on > today:
        raise InvalidDates(reason=REASON_PUBLISHED_IN_FUTURE)
    last = session.scalar(
        select(ParticipantList).where(ParticipantList.year == year).order_by(ParticipantList.version.desc()).limit(1)
    )
    if last is not None and published_on < last.published_on:
        raise InvalidDates(reason=REASON_BEFORE_LAST_VERSION)
    entities = session.execute(
        select(Entity.id, Entity.bin, Entity.name_kk, Entity.name_ru, Entity.region_kato)
        .where(participating_on(as_of))
        .order_by(Entity.name_ru, Entity.id)
    ).all()
    rows = [Row(int(e.id), e.bin, e.name_kk, e.name_ru, e.region_kato) for e in entities]
    lst = ParticipantList(
        year=year,
        version=(last.version + 1) if last is not None else 1,
        published_on=published_on,
        as_of=as_of,
        count=len(rows),
        digest=digest_of(year, published_on, as_of, rows),
        published_at=now,
        published_by=actor.account_id if actor else None,
    )
    session.add(lst)
    session.flush()
    session.add_all(
        ParticipantListEntry(
            list_id=lst.id,
            position=i,
            entity_id=r.entity_id,
            bin=r.bin,
            name_kk=r.name_kk,
            name_ru=r.name_ru,
            region_kato=r.region_kato,
        )
        for i, r in enumerate(rows, start=1)
    )
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="participants.publish",
        object_type="participant_list",
        object_id=f"{year}/{lst.version}",
        purpose=f"{len(rows)} entities as of {as_of.isoformat()}, published {published_on.isoformat()}",
    )
    return lst


def versions(*, session: Session, year: int | None = None) -> list[ParticipantList]:
    """Return the published versions (of a year, or of every year), latest year and version first."""
    query = select(ParticipantList).order_by(ParticipantList.year.desc(), ParticipantList.version.desc())
    if year is not None:
        query = query.where(ParticipantList.year == year)
    return list(session.scalars(query))


def get_list(*, session: Session, year: int, version: int | None = None) -> ParticipantList:
    """Return a version of a year's list (the latest when ``version`` is None), or raise ListNotPublished."""
    query = select(ParticipantList).where(ParticipantList.year == year)
    if version is not None:
        query = query.where(ParticipantList.version == version)
    found = session.scalar(query.order_by(ParticipantList.version.desc()).limit(1))
    if found is None:
        raise ListNotPublished(year=year)
    return found


def published_years(*, session: Session) -> list[int]:
    """Return the years with a published list, latest first."""
    return [
        int(y)
        for y in session.scalars(select(func.distinct(ParticipantList.year)).order_by(ParticipantList.year.desc()))
    ]
