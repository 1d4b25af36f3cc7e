"""Versions of the directory resources (Organization, Location, Practitioner, PractitionerRole) as served.

Each version of each resource is kept as it was served (``fhir_resource_version``: type, id, versionId,
lastUpdated, the SHA-256 of its content and the JSON body with its ``meta``), so that a client can read an old
version (vread), list the history of a resource or a type, search by ``_lastUpdated`` and revalidate its copy
with an ETag. A version is recorded

- at the commit of a transaction that changed the rows a resource is made of (entity, inclusion, site, post,
  practitioner): the session events below, in the same transaction (docs/architecture.md, "When a lower layer
  must act on a higher one's records": the FHIR layer listens to the registry's rows);
- when what is served differs from the latest version: an organization's participation and a post's period
  depend on the day, and rows written by Core code pass no session event. The first serve of a resource that
  has no version yet records its version 1. A read on a read-only unit of work (a route that only reads, with
  read replicas configured: docs/replicas.md) never writes in it: the resources that need a version are
  rendered again and recorded on the primary in a unit of work of its own (``primary_writer``), and served
  as the primary has them;
- by ``refresh`` over a whole type (the daily job, or by hand), so that ``_lastUpdated`` and the type's history
  see the changes of the day before anyone reads them.

A content that is the same as the latest version's (same SHA-256) records nothing. docs/fhir-versions.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    event,
    exists,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, SessionTransaction, UOWTransaction, aliased, mapped_column

from emhana.facilities.inclusion import included_on
from emhana.facilities.models import Entity, Inclusion, Post, Practitioner, Site
from emhana.fhir import resources
from emhana.kernel import clock
from emhana.kernel.db import Base, BigId
from emhana.kernel.replicas import Writer, primary_writer

ORGANIZATION, LOCATION, PRACTITIONER, ROLE = "Organization", "Location", "Practitioner", "PractitionerRole"
TYPES = (ORGANIZATION, LOCATION, PRACTITIONER, ROLE)
PENDING = "emhana.fhir.versions.pending"


class ResourceVersion(Base):
    """One version of a directory resource as it was served: its body with ``meta`` and the hash of its content."""

    __tablename__ = "fhir_resource_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[int] = mapped_column(BigInteger)
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("resource_type", "resource_id", "version_id", name="uq_fhir_resource_version"),
        Index("ix_fhir_resource_version_updated", "resource_type", "last_updated"),
    )


@dataclass(frozen=True)
class Latest:
    version_id: int
    sha256: str
    last_updated: dt.datetime


def content_hash(resource: Mapping[str, Any]) -> str:
    """Return the SHA-256 of a resource's content: its canonical JSON without ``meta``."""
    plain = {k: v for k, v in resource.items() if k != "meta"}
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def utc(moment: dt.datetime) -> dt.datetime:
    """Return an instant in UTC (SQLite gives back naive UTC values)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def instant(moment: dt.datetime) -> str:
    """Return a FHIR instant in UTC with every digit kept (``2026-03-01T10:00:00.123456Z``), so that
    ``_lastUpdated=gt<it>`` excludes the version it names."""
    return utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


def with_meta(resource: Mapping[str, Any], version_id: int | str, last_updated: dt.datetime) -> dict[str, Any]:
    """Return the resource with ``meta.versionId`` and ``meta.lastUpdated`` first after its type and id."""
    out: dict[str, Any] = {"resourceType": resource["resourceType"], "id": resource["id"]}
    out["meta"] = {"versionId": str(version_id), "lastUpdated": instant(last_updated)}
    out.update({k: v for k, v in resource.items() if k not in out})
    return out


# --- rendering the current state of resources by id ------------------------------------------------------------


def render(session: Session, rtype: str, ids: Iterable[int], day: dt.date) -> dict[int, dict[str, Any]]:
    """Return the resources of a type as they are now (without ``meta``), by id; missing ids are left out."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    out: dict[int, dict[str, Any]] = {}
    for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
        if rtype == ORGANIZATION:
            included = set(session.scalars(select(Entity.id).where(Entity.id.in_(chunk), included_on(day))))
            for e in session.scalars(select(Entity).where(Entity.id.in_(chunk))):
                out[e.id] = resources.organization(e, e.id in included)
        elif rtype == LOCATION:
            for s, e in session.execute(
                select(Site, Entity).join(Entity, Entity.id == Site.entity_id).where(Site.id.in_(chunk))
            ):
                out[s.id] = resources.location(s, e)
        elif rtype == PRACTITIONER:
            for p in session.scalars(select(Practitioner).where(Practitioner.id.in_(chunk))):
                out[p.id] = resources.practitioner(p)
        elif rtype == ROLE:
            for post in session.scalars(select(Post).where(Post.id.in_(chunk))):
                out[post.id] = resources.practitioner_role(post, day)
        else:
            raise ValueError(rtype)
    return out


# --- versions ------------------------------------------------------------------------------------------------


def _latest_condition(rtype: str) -> ColumnElement[bool]:
    """The condition that a version row of the statement is the latest one of its resource."""
    newer = aliased(ResourceVersion)
    return and_(
        ResourceVersion.resource_type == rtype,
        ~exists().where(
            newer.resource_type == ResourceVersion.resource_type,
            newer.resource_id == ResourceVersion.resource_id,
            newer.version_id > ResourceVersion.version_id,
        ),
    )


def latest(session: Session, rtype: str, ids: Iterable[int]) -> dict[int, Latest]:
    """Return the latest recorded version of each resource that has one."""
    wanted = sorted(set(ids))
    out: dict[int, Latest] = {}
    for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
        rows = session.execute(
            select(
                ResourceVersion.resource_id,
                ResourceVersion.version_id,
                ResourceVersion.sha256,
                ResourceVersion.last_updated,
            ).where(_latest_condition(rtype), ResourceVersion.resource_id.in_(chunk))
        )
        for rid, vid, sha, when in rows:
            out[int(rid)] = Latest(int(vid), sha, utc(when))
    return out


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert version rows; a row another transaction has just written (same type, id, version) is skipped."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(ResourceVersion).values(rows).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(ResourceVersion).values(rows).on_conflict_do_nothing())


def stamp(
    session: Session, rtype: str, current: Mapping[int, Mapping[str, Any]], now: dt.datetime
) -> dict[int, dict[str, Any]]:
    """Return the resources with their ``meta``, recording a new version of each whose content differs from its
    latest version (or that has none) at ``now``; on a read-only unit of work, on the primary (``_stamp_on``)."""
    writer = primary_writer(session)
    if writer is not None:
        return _stamp_on(writer, session, rtype, current, now)
    out: dict[int, dict[str, Any]] = {}
    todo = dict(current)
    for _ in range(3):  # a concurrent writer may take a version number: read again and retry
        if not todo:
            break
        known = latest(session, rtype, todo)
        rows: list[dict[str, Any]] = []
        for rid, resource in todo.items():
            sha = content_hash(resource)
            last = known.get(rid)
            if last is not None and last.sha256 == sha:
                out[rid] = with_meta(resource, last.version_id, last.last_updated)
                continue
            version = 1 if last is None else last.version_id + 1
            served = with_meta(resource, version, now)
            rows.append(
                {
                    "resource_type": rtype,
                    "resource_id": rid,
                    "version_id": version,
                    "last_updated": utc(now),
                    "sha256": sha,
                    "body": json.dumps(served, ensure_ascii=False, separators=(",", ":")),
                }
            )
        if not rows:
            break
        _insert(session, rows)
        todo = {r["resource_id"]: todo[r["resource_id"]] for r in rows}
    for rid, resource in todo.items():  # what the retries could not settle: served as its latest version
        if rid not in out:
            last = latest(session, rtype, [rid]).get(rid)
            out[rid] = with_meta(resource, last.version_id if last else 1, last.last_updated if last else now)
    return out


def _stamp_on(
    writer: Writer, session: Session, rtype: str, current: Mapping[int, Mapping[str, Any]], now: dt.datetime
) -> dict[int, dict[str, Any]]:
    """``stamp`` for a read-only unit of work (a standby's, or the primary's; docs/replicas.md): the resources
    whose latest version has their content are served with it; the others are rendered again on the primary
    (the read's database may lag behind it: what it rendered may be older than the primary's latest version)
    and their versions recorded there, in a unit of work of the primary's own, and served as the primary has
    them. A resource the primary does not have is served without ``meta``."""
    known = latest(session, rtype, current)
    out: dict[int, dict[str, Any]] = {}
    todo: list[int] = []
    for rid, resource in current.items():
        last = known.get(rid)
        if last is not None and last.sha256 == content_hash(resource):
            out[rid] = with_meta(resource, last.version_id, last.last_updated)
        else:
            todo.append(rid)
    if todo:
        with writer() as primary:
            out.update(stamp(primary, rtype, render(primary, rtype, todo, clock.today()), now))
        for rid in todo:
            out.setdefault(rid, dict(current[rid]))
    return out


def served(session: Session, rtype: str, found: list[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """Return a list of rendered resources (in order) with their ``meta``, recording the versions they need."""
    stamped = stamp(session, rtype, {int(r["id"]): r for r in found}, now)
    return [stamped[int(r["id"])] for r in found]


def current(session: Session, rtype: str, rid: int, day: dt.date, now: dt.datetime) -> dict[str, Any] | None:
    """Return a resource as it is now with its ``meta`` (its version recorded if new), or None when missing."""
    found = render(session, rtype, [rid], day)
    return stamp(session, rtype, found, now)[rid] if rid in found else None


def refresh(session: Session, rtype: str, day: dt.date, now: dt.datetime, batch: int = 2000) -> int:
    """Record a version of every resource of a type whose content changed since its latest version (or that has
    none yet); return how many versions were recorded. For the daily job (participation and posts change with
    the day) and the first versions of a database that had none."""
    column = {ORGANIZATION: Entity.id, LOCATION: Site.id, PRACTITIONER: Practitioner.id, ROLE: Post.id}[rtype]
    recorded, after = 0, 0
    while True:
        ids = list(session.scalars(select(column).where(column > after).order_by(column).limit(batch)))
        if not ids:
            return recorded
        before = latest(session, rtype, ids)
        stamped = stamp(session, rtype, render(session, rtype, ids, day), now)
        recorded += sum(
            1
            for rid, r in stamped.items()
            if rid not in before or str(before[rid].version_id) != r["meta"]["versionId"]
        )
        after = ids[-1]


def refresh_all(*, session: Session, day: dt.date, now: dt.datetime) -> int:
    """Refresh every directory type (``refresh``); return how many versions were recorded. The daily job's body."""
    return sum(refresh(session, rtype, day, now) for rtype in TYPES)


def version(session: Session, rtype: str, rid: int, version_id: int) -> dict[str, Any] | None:
    """Return one recorded version of a resource as it was served (vread), or None."""
    body = session.scalar(
        select(ResourceVersion.body).where(
            ResourceVersion.resource_type == rtype,
            ResourceVersion.resource_id == rid,
            ResourceVersion.version_id == version_id,
        )
    )
    return json.loads(body) if body is not None else None


@dataclass(frozen=True)
class Bounds:
    """A ``_lastUpdated`` (or ``_since``/``_at``) range: each bound an instant with whether it is included."""

    low: tuple[dt.datetime, bool] | None = None
    high: tuple[dt.datetime, bool] | None = None

    def condition(self, column: Any) -> list[ColumnElement[bool]]:
        cond: list[ColumnElement[bool]] = []
        if self.low is not None:
            cond.append(column >= self.low[0] if self.low[1] else column > self.low[0])
        if self.high is not None:
            cond.append(column <= self.high[0] if self.high[1] else column < self.high[0])
        return cond

    def __bool__(self) -> bool:
        return self.low is not None or self.high is not None


_MOMENT = re.compile(
    r"^(eq|gt|lt|ge|le|sa|eb)?(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def _interval(match: re.Match[str]) -> tuple[dt.datetime, dt.datetime]:
    """Return the instants [start, end) a FHIR date or dateTime stands for at its precision (a date without a
    zone in Kazakhstan's time)."""
    _, year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = clock.KZ_TIME
    if zone == "Z":
        tz = dt.UTC
    elif zone:
        sign = 1 if zone[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    start = dt.datetime(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int((fraction or ".0")[1:].ljust(6, "0")),
        tzinfo=tz,
    )
    if month is None:
        end = start.replace(year=start.year + 1)
    elif day is None:
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    elif hour is None:
        end = start + dt.timedelta(days=1)
    elif second is None:
        end = start + dt.timedelta(minutes=1)
    elif fraction is None:
        end = start + dt.timedelta(seconds=1)
    else:
        end = start + dt.timedelta(microseconds=10 ** (6 - min(6, len(fraction) - 1)))
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def parse_bounds(values: Iterable[str]) -> Bounds:
    """Return the range of ``_lastUpdated`` values (each ``[prefix]date``, prefixes eq, gt, ge, lt, le, sa, eb;
    several values must all hold); ValueError when one is not a FHIR date or dateTime."""
    low: tuple[dt.datetime, bool] | None = None
    high: tuple[dt.datetime, bool] | None = None
    for raw in values:
        match = _MOMENT.match(raw.strip())
        if match is None:
            raise ValueError(raw)
        start, end = _interval(match)
        prefix = match.group(1) or "eq"
        lows = {"eq": (start, True), "ge": (start, True), "gt": (end, True), "sa": (end, True)}
        highs = {"eq": (end, False), "le": (end, False), "lt": (start, False), "eb": (start, False)}
        if prefix in lows and (low is None or lows[prefix][0] > low[0]):
            low = lows[prefix]
        if prefix in highs and (high is None or highs[prefix][0] < high[0]):
            high = highs[prefix]
    return Bounds(low, high)


def updated_within(rtype: str, id_column: Any, bounds: Bounds) -> ColumnElement[bool]:
    """Return the SQL condition: the latest version of the resource whose id is ``id_column`` was recorded
    within the bounds (a resource with no version yet has no lastUpdated and does not match)."""
    return exists().where(
        _latest_condition(rtype),
        ResourceVersion.resource_id == id_column,
        *bounds.condition(ResourceVersion.last_updated),
    )


def history(
    session: Session,
    rtype: str,
    rid: int | None,
    *,
    since: dt.datetime | None,
    count: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Return the versions of a resource (or of every resource of a type), newest first, as served."""
    cond: list[ColumnElement[bool]] = [ResourceVersion.resource_type == rtype]
    if rid is not None:
        cond.append(ResourceVersion.resource_id == rid)
    if since is not None:
        cond.append(ResourceVersion.last_updated >= utc(since))
    total = session.scalar(select(func.count()).select_from(ResourceVersion).where(*cond)) or 0
    bodies = session.scalars(
        select(ResourceVersion.body)
        .where(*cond)
        .order_by(
            ResourceVersion.last_updated.desc(), ResourceVersion.resource_id.desc(), ResourceVersion.version_id.desc()
        )
        .limit(count)
        .offset(offset)
    )
    return total, [json.loads(b) for b in bodies]


# --- the session events: versions recorded at the commit of a change -------------------------------------------


def _pending(session: Session) -> dict[str, set[int]]:
    found: dict[str, set[int]] | None = session.info.get(PENDING)
    if found is None:
        found = {t: set() for t in (*TYPES, "entity_sites")}
        session.info[PENDING] = found
    return found


_TRACKED = {Entity, Inclusion, Site, Post, Practitioner}


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _flush: UOWTransaction) -> None:
    pending: dict[str, set[int]] | None = None
    changed = [o for o in session.dirty if type(o) in _TRACKED and session.is_modified(o, include_collections=False)]
    for obj in (*session.new, *changed, *session.deleted):
        kind = type(obj)
        if kind not in _TRACKED:
            continue
        if pending is None:
            pending = _pending(session)
        if kind is Entity:
            pending[ORGANIZATION].add(obj.id)
            pending["entity_sites"].add(obj.id)  # a Location names its organization
        elif kind is Inclusion:
            pending[ORGANIZATION].add(obj.entity_id)
        elif kind is Site:
            pending[LOCATION].add(obj.id)
        elif kind is Post:
            pending[ROLE].add(obj.id)
        elif kind is Practitioner:
            pending[PRACTITIONER].add(obj.id)


@event.listens_for(Session, "before_commit")
def _record_pending(session: Session) -> None:
    if not session.info.get(PENDING):
        return
    session.flush()
    pending: dict[str, set[int]] = session.info.pop(PENDING)
    entity_sites = pending.pop("entity_sites")
    if entity_sites:
        pending[LOCATION] |= set(session.scalars(select(Site.id).where(Site.entity_id.in_(sorted(entity_sites)))))
    now, day = clock.now(), clock.today()
    for rtype in TYPES:
        if pending.get(rtype):
            stamp(session, rtype, render(session, rtype, pending[rtype], day), now)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(PENDING, None)
