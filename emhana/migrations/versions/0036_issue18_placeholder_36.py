"""Placeholder of issue 18, near search (helper C); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0036
Revises: 0035
"""

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
