"""Placeholder of issue 18, national load (helper E); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0044
Revises: 0043
"""

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
