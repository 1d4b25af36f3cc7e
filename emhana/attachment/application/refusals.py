"""The counter of automatic refusals (the Fund's "refusals by reason", reason codes of A-70/A-71): per campaign
year, day, reason code and channel, written after the refused request's own transaction has ended, in a transaction of
its own, so that the refusal itself leaves the domain tables as they were."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from emhana.attachment.models import RefusalCount

COUNTS = cast(Table, RefusalCount.__table__)
PENDING = "attachment.refusals"
log = logging.getLogger(__name__)


def count_later(session: Session, *, year: int, day: dt.date, reason_code: str, channel: str) -> None:
    """Count one automatic refusal once the session's transaction ends (committed, rolled back or closed)."""
    pending: list[dict[str, Any]] | None = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = []
        event.listen(session, "after_transaction_end", _ended)
    pending.append({"campaign_year": year, "day": day, "reason_code": reason_code, "channel": channel, "count": 1})


def _ended(session: Session, transaction: SessionTransaction) -> None:
    """Write the counted refusals when the session's outermost transaction has ended."""
    if transaction.parent is None:
        _write(session)


def _write(session: Session) -> None:
    """Write the refusals counted in a session, each an upsert adding one (after its transaction ended)."""
    pending: list[dict[str, Any]] = session.info.get(PENDING) or []
    if not pending:
        return
    rows, pending[:] = list(pending), []
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection | Engine) else None
    if engine is None:
        return
    try:
        with engine.begin() as conn:
            add(conn, rows)
    except SQLAlchemyError:  # the count is a statistic: its failure must not hide the refusal
        log.exception("could not count %d automatic refusal(s)", len(rows))


def add(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add refusals to the counter (INSERT ... ON CONFLICT DO UPDATE, PostgreSQL and SQLite)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(COUNTS)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["campaign_year", "day", "reason_code", "channel"],
            set_={"count": COUNTS.c.count + stmt.excluded.count},
        ),
        rows,
    )


def by_reason(session: Session, year: int) -> dict[str, int]:
    """Return the automatic refusals of a campaign year by reason code."""
    rows = session.execute(
        select(COUNTS.c.reason_code, func.sum(COUNTS.c.count))
        .where(COUNTS.c.campaign_year == year)
        .group_by(COUNTS.c.reason_code)
    )
    return {str(code): int(n) for code, n in rows}
