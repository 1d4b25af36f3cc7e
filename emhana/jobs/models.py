"""The record of each run of a scheduled job (emhana.jobs.runner writes it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emhana.kernel.db import Base, BigId


class JobRun(Base):
    """One run of one job: when it started (and the day in Kazakhstan it ran for), when it finished, how it
    ended (running, succeeded, skipped, failed), how many items it did, and the error when it failed."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(40))
    day: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(10))
    items: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_job_run_job_started", "job", "started_at"),
        CheckConstraint("outcome IN ('running', 'succeeded', 'skipped', 'failed')", name="outcome"),
    )


QUEUE_PREFIX = "procrastinate_"  # the job queue's tables on PostgreSQL (migration 0024; emhana/jobs/queue.py)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:  # noqa: ARG001  (Alembic's signature)
    """Alembic's ``include_name``: compare every table but the job queue's, which procrastinate's own schema
    defines (migration 0024) and no model of emhana describes."""
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_PREFIX))
