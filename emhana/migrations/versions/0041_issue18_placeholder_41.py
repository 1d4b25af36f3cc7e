"""Placeholder of issue 18, near search and capitation (helper C); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0041
Revises: 0040
"""

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
