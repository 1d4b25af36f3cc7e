"""Facilities: a GiST index on point(lon, lat) of sites for nearest-first search (PostgreSQL only).

Revision ID: 0005
Revises: mb01
"""
from alembic import op


revision = '0005'
down_revision = 'mb01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_site_point ON site USING gist (point(lon, lat))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_site_point")
