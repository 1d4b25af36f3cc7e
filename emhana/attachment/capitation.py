"""Capitation snapshots (A-120, A-121): dated, immutable counts of the attached population per entity,
sex and age band, with the persons counted, computed from attachment begin and end dates only.

Nothing decided on a day changes any day up to it (new attachments begin tomorrow at the earliest,
see rules.begin_date), so the count of a past day is the same whenever it is computed; a stored
snapshot is never rewritten. The work runs inside the database in one INSERT ... SELECT ... GROUP BY:
each count is stored with the ids of the attachments counted, gathered by the same GROUP BY (capitation_ids on
PostgreSQL, json_group_array on SQLite); each names its person (``attachment.person_id``, never changed and
hashed in the person's attachment chain), so the persons of a count are read through them (``persons_of``).

On PostgreSQL the SELECT runs in parallel workers (issue 18; migration 0035): PostgreSQL 15 plans no
INSERT ... SELECT in parallel, so the INSERT takes its rows from ``capitation_cells``, which runs the SELECT
(RETURN QUERY may use workers), and the id lists are gathered by ``capitation_ids``, an array_agg whose
partial lists the workers' results are joined by (array_agg has no combine function before PostgreSQL 16).
The cells are grouped by entity, sex and the index of the person's birth date among the band thresholds
(width_bucket, an integer), and only the few thousand cells are given their band's label; the planner, which
cannot know how few such indexes there are, is told that the workers' rows cost little to gather
(``parallel_tuple_cost``), so that it aggregates in the workers (issue 18: joining every row to a VALUES list of
the labels, which told it instead, made the snapshot about a fifth slower). The INSERT of the cells and the
snapshot's total are one statement.

The count reads one table (issue 18; migration 0037): each attachment row carries its person's sex and birth date,
set from the person row by the database itself on every insert and again whenever the person's change, so they are
the person's own (a join of every person cost about five times the bare scan). The trace is one id list per cell,
the attachments (issue 18, migration 0037: the list of their persons beside it doubled the aggregation and the
storage, and repeated what each attachment row says); from it anyone can recount each cell from ``person`` and
the attachment dates (docs/architecture.md, "Capitation"). ``fill_person_fields`` sets the copies again for every
row in one statement.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Text,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from emhana.accounts.service import Actor
from emhana.attachment.enums import DEFAULT_BANDS
from emhana.attachment.models import Attachment, CapitationCount, CapitationSnapshot
from emhana.attachment.rules import years_before
from emhana.audit.service import record_event
from emhana.facilities.models import Entity
from emhana.kernel import clock, csvsafe
from emhana.kernel.errors import InvalidDates, InvalidInput, NotFound, SnapshotExists
from emhana.kernel.i18n import N_

# PostgreSQL settings for the transaction that counts (L; measured on 20 M attachments, RESULTS.md): memory to
# hash the persons in one batch and to keep the few thousand cells with their id lists in a hash table; no sort
# plan and no nested loop (never a probe of the attachments by index once per person, whatever the estimates);
# no JIT (each parallel worker would compile the expressions again, for a query that is done in well under a
# second per million); the workers' rows (a few thousand cells, which the planner estimates at many more) cheap to
# gather, so that they aggregate.
COUNT_SETTINGS = {
    "work_mem": "1GB",
    "enable_sort": "off",
    "enable_nestloop": "off",
    "jit": "off",
    "parallel_tuple_cost": "0.0001",
}
# The columns capitation_cells returns (migration 0035), in order, with their types.
CELL_COLUMNS = "entity_id bigint, sex text, band text, count bigint, attachment_ids bigint[]"
REASON_FUTURE = N_("a capitation snapshot can only be taken for today or a past day")
BAD_BANDS = N_("The age bands must look like 0,1-4,5-14,65+ and cover every age from 0 without gaps.")
# A-121 (L): the default bands (enums.DEFAULT_BANDS, infants under 1 apart) have no verified source; a snapshot
# taken with them says so until the Fund sets its own bands (the ``bands`` of take_snapshot, from the API or CLI).
UNVERIFIED_BANDS = N_(
    "The age bands are an unverified default (under 1, 1-4, 5-14, 15-17, 18-39, 40-64, 65 and over) until the "
    "Fund sets them from the tariff rules."
)


def bands_unverified(bands: str) -> bool:
    """Tell whether a snapshot's bands are the unverified default rather than bands the Fund set (A-121, L)."""
    return normalized_bands(bands) == normalized_bands(DEFAULT_BANDS)


def normalized_bands(text: str) -> str:
    """Return bands as stored: their labels joined by commas."""
    return ",".join(b.label for b in bands_or_refuse(text))


@dataclass(frozen=True)
class Band:
    label: str
    low: int
    high: int | None


def parse_bands(text: str) -> tuple[Band, ...]:
    """Parse "0,1-4,5-14,...,65+" into contiguous bands from age 0, the last one open; a band of one age is
    written alone ("0": infants under 1); ValueError otherwise."""
    bands: list[Band] = []
    expected = 0
    parts = [p.strip() for p in text.split(",") if p.strip()]
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and part.endswith("+"):
            low, high = int(part[:-1]), None
        elif "-" in part and not last:
            a, b = part.split("-", 1)
            low, high = int(a), int(b)
        elif part.isdigit() and not last:
            low = high = int(part)
        else:
            raise ValueError(part)
        if low != expected or (high is not None and high < low):
            raise ValueError(part)
        bands.append(Band(part, low, high))
        expected = (high or 0) + 1
    if not bands:
        raise ValueError(text)
    return tuple(bands)


def bands_or_refuse(text: str) -> tuple[Band, ...]:
    """Parse age bands or raise InvalidInput with a message in every language."""
    try:
        return parse_bands(text)
    except ValueError:
        raise InvalidInput(BAD_BANDS) from None


def band_of(bands: tuple[Band, ...], as_of: dt.date) -> ColumnElement[str]:
    """Return a SQL expression naming a person's age band on a day, by birth-date thresholds (one band, "0+":
    its label)."""
    whens: list[tuple[ColumnElement[bool], str]] = [
        (Attachment.person_birth_date <= years_before(as_of, b.low), b.label) for b in reversed(bands[1:])
    ]
    if not whens:
        return literal(bands[0].label, Text)
    return case(*whens, else_=literal(bands[0].label))


def active_on(as_of: dt.date) -> ColumnElement[bool]:
    """Return the SQL condition: an attachment is in effect on a day (insured term included, A-91)."""
    return and_(
        Attachment.begin_date <= as_of,
        or_(Attachment.end_date.is_(None), Attachment.end_date >= as_of),
        or_(Attachment.insured_until.is_(None), Attachment.insured_until >= as_of),
    )


def counted(as_of: dt.date, bands: tuple[Band, ...]):  # type: ignore[no-untyped-def]
    """Return the SELECT of the persons counted on a day: person, attachment, entity, sex, band (the person's sex
    and birth date as the attachment row carries them, equal to the person's: migration 0037)."""
    band = band_of(bands, as_of).label("band")
    return select(
        Attachment.person_id,
        Attachment.id.label("attachment_id"),
        Attachment.entity_id,
        Attachment.person_sex.label("sex"),
        band,
    ).where(active_on(as_of))


def birth_bucket(bands: tuple[Band, ...], as_of: dt.date) -> ColumnElement[int]:
    """Return a SQL expression (PostgreSQL) giving the number of band thresholds on or before a person's birth date
    on a day: the person's band is ``bands[len(bands) - 1 - bucket]``.

    The same bands as band_of: a person is in band i when born on or before years_before(as_of, low) of
    bands 1..i, i.e. not after it. width_bucket counts the thresholds (each of those days plus one, ascending) that
    are on or before the birth date, so the band's index is the number of bands past the first less that count."""
    days = sorted(years_before(as_of, b.low) + dt.timedelta(days=1) for b in bands[1:])
    if not days:
        return literal(0, Integer)
    thresholds = text("ARRAY[" + ", ".join(f"DATE '{d.isoformat()}'" for d in days) + "]")
    return func.width_bucket(Attachment.person_birth_date, thresholds)


def cells_select(as_of: dt.date, bands: tuple[Band, ...], *, ids: bool):  # type: ignore[no-untyped-def]
    """Return the PostgreSQL SELECT of the cells of a day: entity, sex, band, count (and with ``ids`` the
    attachments counted), in the column types of CELL_COLUMNS: grouped by entity, sex and birth_bucket, then each
    cell given its band's label."""
    keys: list[Any] = [Attachment.entity_id, Attachment.person_sex]
    if len(bands) > 1:  # (one band: no bucket, whose constant a GROUP BY would read as a column's position)
        keys.append(birth_bucket(bands, as_of).label("bucket"))
    aggregates: list[ColumnElement[Any]] = [func.count().label("count")]
    if ids:
        aggregates.append(func.capitation_ids(Attachment.id).label("ids"))
    cells = select(*keys, *aggregates).where(active_on(as_of)).group_by(*keys).subquery("cells")
    last = len(bands) - 1
    label: ColumnElement[str] = (
        case(*((cells.c.bucket == last - i, literal(b.label, Text)) for i, b in enumerate(bands)))
        if len(bands) > 1
        else literal(bands[0].label, Text)
    )
    return select(
        cells.c.entity_id,
        cast(cells.c.person_sex, Text),
        label,
        cells.c.count,
        *([cells.c.ids] if ids else []),
    )


FILL_PERSON_FIELDS = {
    # The same statements as migration 0037's fill: only the rows whose copies differ are written.
    "postgresql": (
        "UPDATE attachment a SET person_sex = p.sex, person_birth_date = p.birth_date FROM person p "
        "WHERE p.id = a.person_id AND (a.person_sex IS DISTINCT FROM p.sex "
        "OR a.person_birth_date IS DISTINCT FROM p.birth_date)"
    ),
    "sqlite": (
        "UPDATE attachment SET person_sex = (SELECT p.sex FROM person p WHERE p.id = attachment.person_id), "
        "person_birth_date = (SELECT p.birth_date FROM person p WHERE p.id = attachment.person_id) "
        "WHERE person_sex IS NOT (SELECT p.sex FROM person p WHERE p.id = attachment.person_id) "
        "OR person_birth_date IS NOT (SELECT p.birth_date FROM person p WHERE p.id = attachment.person_id)"
    ),
}


def fill_person_fields(conn: Connection) -> int:
    """Set every attachment row's copy of its person's sex and birth date from the person, in one statement, and
    return the rows that differed (0 when the triggers of migration 0037 kept them, as they do for every writer).

    For a load that wrote rows with the triggers switched off (``session_replication_role = replica``); the
    check constraint on PostgreSQL refuses such rows without the copies, so a load that switches triggers off
    gives them itself (as ``emhana bench capitation --sql-rows`` does) and this repairs any that differ."""
    return int(conn.execute(text(FILL_PERSON_FIELDS[conn.dialect.name])).rowcount or 0)


def tune_for_counting(session: Session) -> None:
    """Apply COUNT_SETTINGS to the session's current transaction only, in one statement (PostgreSQL; nothing
    elsewhere)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(*(func.set_config(name, value, True) for name, value in COUNT_SETTINGS.items())))


def compute_counts(*, session: Session, as_of: dt.date, bands: str = DEFAULT_BANDS) -> dict[tuple[int, str, str], int]:
    """Compute the counts of a day from attachment history without storing anything."""
    tune_for_counting(session)
    parsed = bands_or_refuse(bands)
    if session.get_bind().dialect.name == "postgresql":
        found = session.execute(cells_select(as_of, parsed, ids=False))
        return {(int(e), str(s), str(b)): int(n) for e, s, b, n in found}
    sub = counted(as_of, parsed).subquery()
    rows = session.execute(
        select(sub.c.entity_id, sub.c.sex, sub.c.band, func.count()).group_by(sub.c.entity_id, sub.c.sex, sub.c.band)
    )
    return {(int(e), str(s), str(b)): int(n) for e, s, b, n in rows}


def take_snapshot(
    *,
    session: Session,
    actor: Actor | None,
    as_of: dt.date,
    today: dt.date,
    bands: str = DEFAULT_BANDS,
    now: dt.datetime | None = None,
) -> CapitationSnapshot:
    """Store the snapshot of a day with the persons counted; a day already taken is returned as it was."""
    parsed = bands_or_refuse(bands)
    normalized = ",".join(b.label for b in parsed)
    if as_of > today:
        raise InvalidDates(reason=REASON_FUTURE)
    existing = session.scalar(select(CapitationSnapshot).where(CapitationSnapshot.as_of == as_of))
    if existing is not None:
        if existing.bands != normalized:
            raise SnapshotExists(day=as_of.isoformat())
        return existing
    snap = CapitationSnapshot(
        as_of=as_of,
        bands=normalized,
        total=0,
        taken_at=now or clock.now(),
        taken_by=actor.account_id if actor else None,
    )
    session.add(snap)
    session.flush()
    tune_for_counting(session)
    set_committed_value(snap, "total", store_cells(session, snap.id, as_of, parsed))  # the row holds it already
    record_event(
        session=session,
        actor=actor,
        action="capitation.snapshot",
        object_type="capitation_snapshot",
        object_id=as_of.isoformat(),
        purpose=f"{snap.total} persons",
    )
    return snap


STORED = ("snapshot_id", "entity_id", "sex", "band", "count", "attachment_ids")


def store_cells(session: Session, snapshot_id: int, as_of: dt.date, bands: tuple[Band, ...]) -> int:
    """Store the cells of a day with the attachments counted, in one INSERT ... SELECT inside the database, and
    the snapshot's total (the sum of the counts) in its row; return the total. On PostgreSQL both are one
    statement."""
    total_of = select(func.coalesce(func.sum(CapitationCount.count), 0)).where(
        CapitationCount.snapshot_id == snapshot_id
    )
    if session.get_bind().dialect.name != "postgresql":
        sub = counted(as_of, bands).subquery()
        session.execute(
            insert(CapitationCount).from_select(
                list(STORED),
                select(
                    literal(snapshot_id),
                    sub.c.entity_id,
                    sub.c.sex,
                    sub.c.band,
                    func.count(),
                    func.json_group_array(sub.c.attachment_id),
                ).group_by(sub.c.entity_id, sub.c.sex, sub.c.band),
            )
        )
        total = int(session.scalar(total_of) or 0)
        session.execute(
            update(CapitationSnapshot).where(CapitationSnapshot.id == snapshot_id).values(total=total),
            execution_options={"synchronize_session": False},
        )
        return total
    # The SELECT goes to capitation_cells as text, its values inlined: dates, the band labels (digits, "-" and
    # "+" only, parse_bands) and integers, rendered by SQLAlchemy's literal compiler.
    query = str(
        cells_select(as_of, bands, ids=True).compile(
            dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
        )
    )
    total = session.scalar(
        text(
            f"WITH stored AS (INSERT INTO capitation_count ({', '.join(STORED)}) "
            f"SELECT :snapshot_id, c.* FROM capitation_cells(:query) AS c({CELL_COLUMNS}) RETURNING count) "
            "UPDATE capitation_snapshot SET total = (SELECT coalesce(sum(count), 0) FROM stored) "
            "WHERE id = :snapshot_id RETURNING total"
        ),
        {"snapshot_id": snapshot_id, "query": query},
    )
    return int(total or 0)


def get_snapshot(*, session: Session, snapshot_id: int) -> CapitationSnapshot:
    """Return a snapshot or raise NotFound."""
    snap = session.get(CapitationSnapshot, snapshot_id)
    if snap is None:
        raise NotFound()
    return snap


def list_snapshots(*, session: Session) -> list[CapitationSnapshot]:
    """Return every snapshot, latest day first."""
    return list(session.scalars(select(CapitationSnapshot).order_by(CapitationSnapshot.as_of.desc())))


def counts_of(*, session: Session, snapshot: CapitationSnapshot) -> list[CapitationCount]:
    """Return the stored counts of a snapshot in entity, sex and band order."""
    order = {label: i for i, label in enumerate(snapshot.bands.split(","))}
    rows = session.scalars(select(CapitationCount).where(CapitationCount.snapshot_id == snapshot.id))
    return sorted(rows, key=lambda c: (c.entity_id, c.sex, order.get(c.band, len(order))))


@dataclass(frozen=True)
class TracedPerson:
    """A person counted in a snapshot, with the attachment that counted them (A-121)."""

    person_id: int
    attachment_id: int
    entity_id: int
    sex: str
    band: str


# The attachments of a snapshot's cells (of one entity, or all) with the person of each, in the database.
TRACED = {
    "postgresql": (
        "SELECT a.person_id, a.id, c.entity_id, c.sex, c.band FROM capitation_count c "
        "CROSS JOIN LATERAL unnest(c.attachment_ids) AS x(id) JOIN attachment a ON a.id = x.id "
        "WHERE c.snapshot_id = :snapshot_id AND (CAST(:entity_id AS bigint) IS NULL OR c.entity_id = :entity_id)"
    ),
    "sqlite": (
        "SELECT a.person_id, a.id, c.entity_id, c.sex, c.band FROM capitation_count c "
        "JOIN json_each(c.attachment_ids) AS x JOIN attachment a ON a.id = x.value "
        "WHERE c.snapshot_id = :snapshot_id AND (:entity_id IS NULL OR c.entity_id = :entity_id)"
    ),
}


def persons_of(*, session: Session, snapshot: CapitationSnapshot, entity_id: int | None = None) -> list[TracedPerson]:
    """Return the persons counted in a snapshot, by entity and person (traceability to the person, A-121): the
    attachments stored in each count, each with its person."""
    found = session.execute(
        text(TRACED[session.get_bind().dialect.name]), {"snapshot_id": snapshot.id, "entity_id": entity_id}
    )
    traced = [TracedPerson(int(p), int(a), int(e), str(s), str(b)) for p, a, e, s, b in found]
    return sorted(traced, key=lambda t: (t.entity_id, t.person_id))


CSV_HEADER = ("as_of", "entity_id", "entity_bin", "sex", "age_band", "count")


def export_csv(*, session: Session, snapshot: CapitationSnapshot) -> str:
    """Return the snapshot's counts as CSV (one row per entity, sex and age band)."""
    rows = counts_of(session=session, snapshot=snapshot)
    bins = (
        {
            int(i): str(b)
            for i, b in session.execute(select(Entity.id, Entity.bin).where(Entity.id.in_({r.entity_id for r in rows})))
        }
        if rows
        else {}
    )
    out = io.StringIO()
    writer = csvsafe.Writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow((snapshot.as_of.isoformat(), r.entity_id, bins.get(r.entity_id, ""), r.sex, r.band, r.count))
    return out.getvalue()
