"""The load of a district (its open attachments, A-80) as the database keeps it in ``district_load``.

Triggers on ``attachment`` keep the number for every row opened, ended or removed, whoever writes it
(migration 0031), so the capacity check and the near search read one number instead of counting rows.
The capacity check takes the district row's lock (``lock_loads``) before reading it; every transaction that
changes a district's load holds that lock first when it may hold more than one (docs/architecture.md,
"District load"). ``recount`` sets the numbers again from the rows: after a bulk load that bypassed the
triggers, or to check them (``drift``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import ColumnElement, Connection, Select, Table, bindparam, select, text
from sqlalchemy.orm import Session

from emhana.attachment.models import DistrictLoad
from emhana.facilities.models import District
from emhana.kernel.fastsql import Fast

LOAD = cast(Table, DistrictLoad.__table__)
DISTRICT = cast(Table, District.__table__)
_d, _l = DISTRICT.c, LOAD.c


# The districts' rows locked in id order (one order everywhere, so two transfers in opposite directions queue
# instead of deadlocking), with their load rows: a row locked after a wait is read in its latest committed
# version, so the number read counts every place taken by the transactions the lock waited for.
def _lock(ids: ColumnElement[bool]) -> Select[tuple[int, int, bool, int | None]]:
    return (
        select(_d.id, _d.capacity, _d.active, _l.attached)
        .select_from(DISTRICT.join(LOAD, _l.district_id == _d.id))
        .where(ids)
        .order_by(_d.id)
        .with_for_update(of=[DISTRICT, LOAD], key_share=True)
    )


LOCK_TWO = Fast(_lock(_d.id.in_([bindparam("a"), bindparam("b")])))  # the campaign's: target and the one left
LOCK_ANY = _lock(_d.id.in_(bindparam("ids", expanding=True)))


def lock_loads(conn: Connection, district_ids: Iterable[int]) -> dict[int, tuple[int, bool, int]]:
    """Lock districts' rows in id order and return each one's (capacity, active, open attachments)."""
    ids = sorted(set(district_ids))
    if not ids:
        return {}
    for attempt in (1, 2):
        if len(ids) <= 2:
            rows = LOCK_TWO.rows(conn, {"a": ids[0], "b": ids[-1]})
        else:
            rows = [tuple(r) for r in conn.execute(LOCK_ANY, {"ids": ids})]
        if len(rows) == len(ids) or attempt == 2:
            break
        # A district without its load row (every district gets one from a trigger; one removed by hand): give it
        # the count of its rows, then lock again. A missing district stays missing.
        conn.execute(ENSURE, {"ids": ids})
    return {int(i): (int(c), bool(a), int(n or 0)) for i, c, a, n in rows}


def loads(session: Session, district_ids: Iterable[int]) -> dict[int, int]:
    """Return the open attachments of districts (not locked; 0 for a district without a load row)."""
    ids = list(district_ids)
    if not ids:
        return {}
    counts = dict.fromkeys(ids, 0)
    counts.update(
        {int(d): int(n) for d, n in session.execute(select(_l.district_id, _l.attached).where(_l.district_id.in_(ids)))}
    )
    return counts


COUNTED = "(SELECT COUNT(*) FROM attachment t WHERE t.district_id = {d} AND t.end_date IS NULL)"
DRIFT = text(
    f"SELECT d.id FROM district d LEFT JOIN district_load l ON l.district_id = d.id "
    f"WHERE COALESCE(l.attached, -1) <> {COUNTED.format(d='d.id')} ORDER BY d.id"
)
MISSING = text(
    "INSERT INTO district_load (district_id, attached) SELECT d.id, 0 FROM district d "
    "WHERE NOT EXISTS (SELECT 1 FROM district_load l WHERE l.district_id = d.id)"
)
SET = text(
    f"UPDATE district_load SET attached = {COUNTED.format(d='district_load.district_id')} WHERE district_id IN :ids"
).bindparams(bindparam("ids", expanding=True))


ENSURE = text(
    f"INSERT INTO district_load (district_id, attached) SELECT d.id, {COUNTED.format(d='d.id')} FROM district d "
    "WHERE d.id IN :ids AND NOT EXISTS (SELECT 1 FROM district_load l WHERE l.district_id = d.id) "
    "ON CONFLICT (district_id) DO NOTHING"
).bindparams(bindparam("ids", expanding=True))


def recount(conn: Connection) -> int:
    """Set every district's load again from its open attachment rows; return the districts whose number changed.

    For after a bulk load that bypassed the triggers (while they are on, the generator's COPY needs none), or to
    repair what ``drift`` finds."""
    changed = drift(conn)
    conn.execute(MISSING)
    for i in range(0, len(changed), 1_000):
        conn.execute(SET, {"ids": changed[i : i + 1_000]})
    return len(changed)


def drift(conn: Connection) -> list[int]:
    """Return the districts whose kept load differs from a count of their open attachment rows (none when the
    triggers have seen every write)."""
    return [int(i) for i in conn.scalars(DRIFT)]
