"""Load the KATO classifier (НК РК 11-2025) and the regions table.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

from emhana.reference.loader import kato_rows, region_rows

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    kato = sa.table(
        "kato_unit", sa.column("code"), sa.column("version"), sa.column("level"), sa.column("type_code"),
        sa.column("name_ru"), sa.column("name_kk"), sa.column("parent_code"))
    rows = list(kato_rows())
    for start in range(0, len(rows), 2000):
        op.bulk_insert(kato, rows[start:start + 2000])
    region = sa.table(
        "region", sa.column("kato"), sa.column("name_en"), sa.column("name_ru"), sa.column("name_kk"),
        sa.column("population"), sa.column("males"), sa.column("females"), sa.column("hospitals"))
    op.bulk_insert(region, region_rows())


def downgrade() -> None:
    op.execute("DELETE FROM region")
    op.execute("DELETE FROM kato_unit")
