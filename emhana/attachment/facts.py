"""Core reads of the facts the attachment rules need, in as few round trips as the locks allow.

The person row is locked first (with its addresses in the same statement), then the target district
with its site, entity, the entity's inclusion, the pending application and the applicant's contact are read
with the person's history in one statement (``target_and_periods``). The district rows are locked last, with
the load the database keeps for each (``emhana.attachment.load``): the target's and that of the district the
person leaves, in id order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Date, Table, bindparam, or_, select, true

from emhana.attachment.enums import State
from emhana.attachment.load import lock_loads
from emhana.attachment.models import Application, Attachment
from emhana.audit.models import ChainLink
from emhana.facilities.inclusion import included_on, participating_on
from emhana.facilities.models import District, Entity, Inclusion, Site
from emhana.facilities.rules import InclusionStatus
from emhana.identity.models import IdentityDocument, Person, PersonAddress
from emhana.kernel.fastsql import Fast
from emhana.notify.models import NotificationContact

ATTACHMENT = cast(Table, Attachment.__table__)
APPLICATION = cast(Table, Application.__table__)
PERSON = cast(Table, Person.__table__)
ADDRESS = cast(Table, PersonAddress.__table__)
ID_DOCUMENT = cast(Table, IdentityDocument.__table__)
DISTRICT = cast(Table, District.__table__)
SITE = cast(Table, Site.__table__)
ENTITY = cast(Table, Entity.__table__)
CONTACT = cast(Table, NotificationContact.__table__)
INCLUSION = cast(Table, Inclusion.__table__)
LINK = cast(Table, ChainLink.__table__)


@dataclass(frozen=True)
class Address:
    id: int
    kind: str
    kato_code: str
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass(frozen=True)
class PersonRow:
    """A locked person with the facts the rules and the notices need."""

    id: int
    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: dt.date
    death_date: dt.date | None
    category: str
    addresses: tuple[Address, ...]
    sealed_notices: bool = True  # some attachment notice of the person has a valid seal

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.given_name, self.patronymic) if p)


@dataclass(frozen=True)
class Target:
    """The chosen district with its site and entity, and what else one statement can tell."""

    district_id: int
    district_active: bool
    number: int
    profile: str
    doctor_id: int | None
    site_id: int
    site_active: bool
    site_kato: str
    site_name_kk: str
    site_name_ru: str
    address_kk: str
    address_ru: str
    entity_id: int
    entity_name_kk: str
    entity_name_ru: str
    contract_to: dt.date | None
    included: bool
    pending_application: int | None
    applicant_language: str | None = None  # the applicant's notification contact (notify.outbox)
    applicant_email: str | None = None
    included_to: dt.date | None = None  # the end of the entity's inclusion in force that day (A-05, B-05)


@dataclass(frozen=True)
class Period:
    """One attachment row of a person, with whether its entity participates on the day read."""

    id: int
    person_id: int
    entity_id: int
    site_id: int
    district_id: int
    place_basis: str
    cause: str
    begin_date: dt.date
    end_date: dt.date | None
    end_reason: str | None
    insured_until: dt.date | None
    decided_on: dt.date
    participating: bool = True
    entity_language: str | None = None  # the entity's notification contact (notify.outbox)
    entity_email: str | None = None
    chained: bool = False  # the row has links in its person's hash chain (audit.chain)
    end_hash: str | None = None  # the record hash of its latest end link, if any

    @property
    def linked(self) -> tuple[bool, str | None]:
        return self.chained, self.end_hash


# The statements are built once, with bound parameters: the hot path then skips building and coercing
# them on every call (SQLAlchemy still finds their compiled form in its cache).
DAY = bindparam("day", type_=Date)


_p, _a = PERSON.c, ADDRESS.c
LOCK_PERSON = (
    select(
        _p.id,
        _p.iin,
        _p.surname,
        _p.given_name,
        _p.patronymic,
        _p.birth_date,
        _p.death_date,
        _p.category,
        _a.id,
        _a.kind,
        _a.kato_code,
        _a.valid_from,
        _a.valid_to,
    )
    .select_from(PERSON.outerjoin(ADDRESS, _a.person_id == _p.id))
    .where(_p.id == bindparam("person_id"))
    .with_for_update(of=PERSON, key_share=True)
)


FAST_LOCK_PERSON = Fast(LOCK_PERSON)


def lock_person(conn: Connection, person_id: int, statement: Fast = FAST_LOCK_PERSON) -> PersonRow | None:
    """Lock a person row (the first lock of every attachment transaction) and read it with its addresses.

    ``statement``: LOCK_PERSON, or LOCK_PERSON with one more column, whether the person has attachment notices
    with a valid seal (the decision's path adds it, emhana.attachment.application.decision)."""
    rows = statement.rows(conn, {"person_id": person_id})
    if not rows:
        return None
    first = rows[0]
    addresses = tuple(Address(r[8], r[9], r[10], r[11], r[12]) for r in rows if r[8] is not None)
    return PersonRow(
        id=first[0],
        iin=first[1],
        surname=first[2],
        given_name=first[3],
        patronymic=first[4],
        birth_date=first[5],
        death_date=first[6],
        category=first[7],
        addresses=addresses,
        sealed_notices=bool(first[13]) if len(first) > 13 else True,
    )


_d, _s, _e, _c = DISTRICT.c, SITE.c, ENTITY.c, CONTACT.c


def _contact(column: ColumnElement[str | None], kind: str, recipient: ColumnElement[int]) -> ColumnElement[str | None]:
    """Return a scalar subquery: a field of a recipient's notification contact (language or e-mail)."""
    return select(column).where(_c.recipient_kind == kind, _c.recipient_id == recipient).scalar_subquery()


def included_until_on(day: ColumnElement[dt.date]) -> ColumnElement[dt.date | None]:
    """Return a scalar subquery: the first day the statement's entity is no longer included, of the inclusion period
    in force on the day (``emhana.facilities.inclusion.included_until`` in the target's statement)."""
    return (
        select(INCLUSION.c.effective_to)
        .where(
            INCLUSION.c.entity_id == _e.id,
            INCLUSION.c.status == InclusionStatus.INCLUDED.value,
            INCLUSION.c.effective_from <= day,
            or_(INCLUSION.c.effective_to.is_(None), INCLUSION.c.effective_to > day),
        )
        .order_by(INCLUSION.c.effective_from.desc())
        .limit(1)
        .scalar_subquery()
    )


TARGET = (
    select(
        _d.id,
        _d.active,
        _d.number,
        _d.profile,
        _d.doctor_id,
        _s.id,
        _s.active,
        _s.kato_code,
        _s.name_kk,
        _s.name_ru,
        _s.address_kk,
        _s.address_ru,
        _e.id,
        _e.name_kk,
        _e.name_ru,
        _e.contract_to,
        included_on(DAY),
        select(APPLICATION.c.id)
        .where(APPLICATION.c.person_id == bindparam("person_id"), APPLICATION.c.state == State.SUBMITTED.value)
        .limit(1)
        .scalar_subquery(),
        _contact(_c.language, "person", bindparam("applicant_id")),
        _contact(_c.email, "person", bindparam("applicant_id")),
        included_until_on(DAY),
    )
    .select_from(DISTRICT.join(SITE, _s.id == _d.site_id).join(ENTITY, _e.id == _s.entity_id))
    .where(_d.id == bindparam("district_id"))
)


FAST_TARGET = Fast(TARGET)


def target(conn: Connection, *, district_id: int, person_id: int, applicant_id: int, day: dt.date) -> Target | None:
    """Return the district with its site and entity (not locked), the person's pending application and the
    applicant's notification contact, in one statement."""
    rows = FAST_TARGET.rows(
        conn, {"district_id": district_id, "person_id": person_id, "applicant_id": applicant_id, "day": day}
    )
    return Target(*rows[0]) if rows else None


PERIOD_FIELDS = (
    "id",
    "person_id",
    "entity_id",
    "site_id",
    "district_id",
    "place_basis",
    "cause",
    "begin_date",
    "end_date",
    "end_reason",
    "insured_until",
    "decided_on",
)
_l = LINK.c
_links = (_l.kind == "attachment", _l.record_id == ATTACHMENT.c.id)
PERIODS = (
    select(
        *(ATTACHMENT.c[k] for k in PERIOD_FIELDS),
        participating_on(DAY),
        _contact(_c.language, "entity", ATTACHMENT.c.entity_id),
        _contact(_c.email, "entity", ATTACHMENT.c.entity_id),
        select(_l.id).where(*_links).exists(),
        select(_l.record_hash).where(*_links, _l.event == "end").order_by(_l.seq.desc()).limit(1).scalar_subquery(),
    )
    .select_from(ATTACHMENT.join(ENTITY, _e.id == ATTACHMENT.c.entity_id))
    .where(ATTACHMENT.c.person_id == bindparam("person_id"))
    .order_by(ATTACHMENT.c.begin_date, ATTACHMENT.c.id)
)


FAST_PERIODS = Fast(PERIODS)


def periods(conn: Connection, person_id: int, day: dt.date) -> list[Period]:
    """Return every attachment of a person, earliest first, each with its entity's participation on a day
    (included with a Fund contract not yet ended, A-04, B-06); read after the person's lock."""
    return [_period(r) for r in FAST_PERIODS.rows(conn, {"person_id": person_id, "day": day})]


def _period(r: Sequence[Any]) -> Period:
    return Period(
        **dict(zip(PERIOD_FIELDS, r, strict=False)),
        participating=bool(r[12]),
        entity_language=r[13],
        entity_email=r[14],
        chained=bool(r[15]),
        end_hash=r[16],
    )


# The target and the person's history in one round trip: the target's row beside each attachment of the person
# (once, with none, for a person without any). Both are read after the person's lock, which every writer of a
# person's attachments and applications takes first, so nothing they show can change before the commit.
_TARGET_ROW, _PERIOD_ROWS = TARGET.subquery("target_row"), PERIODS.subquery("period_rows")
TARGET_WIDTH = len(TARGET.selected_columns)
FAST_TARGET_AND_PERIODS = Fast(
    select(*_TARGET_ROW.c, *_PERIOD_ROWS.c)
    .select_from(_TARGET_ROW.outerjoin(_PERIOD_ROWS, true()))
    .order_by(_PERIOD_ROWS.c.begin_date, _PERIOD_ROWS.c.id)
)


def target_and_periods(
    conn: Connection, *, district_id: int, person_id: int, applicant_id: int, day: dt.date
) -> tuple[Target | None, list[Period]]:
    """Return ``target`` and ``periods`` of the same person and day in one statement (None and [] for a missing
    district)."""
    rows = FAST_TARGET_AND_PERIODS.rows(
        conn, {"district_id": district_id, "person_id": person_id, "applicant_id": applicant_id, "day": day}
    )
    if not rows:
        return None, []
    n = TARGET_WIDTH
    return Target(*rows[0][:n]), [_period(r[n:]) for r in rows if r[n] is not None]


# The person and the applicant (the same id twice for a person applying for themself). An IN list, not an OR: its
# generic plan is the custom one, so PostgreSQL plans the prepared statement once (an OR of the two was planned anew
# at every execution).
DOCUMENTS = Fast(
    select(ID_DOCUMENT.c.person_id, ID_DOCUMENT.c.kind, ID_DOCUMENT.c.expires_on).where(
        ID_DOCUMENT.c.person_id.in_([bindparam("person_id"), bindparam("applicant_id")])
    )
)


def documents_on_file(conn: Connection, person_id: int, applicant_id: int) -> list[tuple[int, str, dt.date | None]]:
    """Return (person, kind, expires on) of the identity documents the state systems hold for a person and
    their applicant (A-53)."""
    return [
        (int(p), str(k), x) for p, k, x in DOCUMENTS.rows(conn, {"person_id": person_id, "applicant_id": applicant_id})
    ]


def lock_district_load(conn: Connection, district_id: int, lowering: Iterable[int] = ()) -> tuple[int, int] | None:
    """Lock an active district row with its kept load (``emhana.attachment.load``) and return (capacity,
    attached), or None when the district is missing or inactive.

    ``lowering``: the districts whose load this transaction will lower (the person's running attachment), locked
    in the same statement, all in id order, so that two transfers in opposite directions queue instead of
    deadlocking. A row locked after a wait is read in its latest committed version: the number counts the place a
    concurrent winner has just taken (A-80)."""
    locked = lock_loads(conn, {district_id, *lowering})
    found = locked.get(district_id)
    if found is None or not found[1]:
        return None
    return found[0], found[2]
