"""The catalogue of decreed groups as versioned data per item (issue 15, C-22, C-53, C-54, C-55): the 2015 scope is closed
as history, and each working group gets a new version whose items say when they are required (at hiring,
periodic, by indication), how often, of whom (sex, age) and on what authority (source, verified).

Versions are added, never edited: the version in force ends where the new one begins. A new database already
has these rows (0004a inserts every packaged version); this brings an older one to the same rows and skips a
group whose catalogue already has a version from that day on (the Fund's own, which it keeps).

Revision ID: 0020
Revises: 0019
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from emhana.medbook.catalogue import default_group_rows

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

CLOSED = "decreed_2015"

group = sa.table(
    "decreed_group",
    sa.column("id", sa.BigInteger),
    sa.column("code", sa.String),
    sa.column("version", sa.Integer),
    sa.column("effective_from", sa.Date),
    sa.column("effective_to", sa.Date),
    sa.column("name_kk", sa.String),
    sa.column("name_ru", sa.String),
    sa.column("name_en", sa.String),
    sa.column("periodicity_months", sa.Integer),
    sa.column("requirements", sa.JSON),
    sa.column("verified", sa.Boolean),
    sa.column("source", sa.Text),
    sa.column("created_by", sa.BigInteger),
)


def _packaged() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = default_group_rows()
    closed = next(r for r in rows if r["code"] == CLOSED)
    added = [r for r in rows if r["version"] >= 2]  # the versions of issue 15
    return closed, added


def upgrade() -> None:
    conn = op.get_bind()
    closed, added = _packaged()
    conn.execute(
        sa.update(group)
        .where(
            group.c.code == CLOSED,
            group.c.effective_to.is_(None),
            group.c.effective_from < closed["effective_to"],
        )
        .values(effective_to=closed["effective_to"])
    )
    for row in added:
        code, begins = row["code"], row["effective_from"]
        last = conn.scalar(sa.select(sa.func.max(group.c.version)).where(group.c.code == code))
        later = conn.scalar(
            sa.select(sa.func.count()).select_from(group).where(group.c.code == code, group.c.effective_from >= begins)
        )
        if last is None or later:
            continue
        conn.execute(
            sa.update(group).where(group.c.code == code, group.c.effective_to.is_(None)).values(effective_to=begins)
        )
        conn.execute(sa.insert(group).values(**{**row, "version": last + 1}))


def downgrade() -> None:
    conn = op.get_bind()
    closed, added = _packaged()
    for row in added:
        code, begins = row["code"], row["effective_from"]
        mine = conn.execute(
            sa.select(group.c.version, group.c.effective_to).where(
                group.c.code == code, group.c.effective_from == begins, group.c.created_by.is_(None)
            )
        ).first()
        if mine is None:
            continue
        conn.execute(sa.delete(group).where(group.c.code == code, group.c.version == mine.version))
        conn.execute(  # the version before it ends where this one ended (open again if this one was open)
            sa.update(group)
            .where(group.c.code == code, group.c.version == mine.version - 1, group.c.effective_to == begins)
            .values(effective_to=mine.effective_to)
        )
    conn.execute(
        sa.update(group)
        .where(group.c.code == CLOSED, group.c.effective_to == closed["effective_to"])
        .values(effective_to=None)
    )
