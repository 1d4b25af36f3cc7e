"""Placeholder of issue 18, the load helper's; its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0049
Revises: 0048
"""

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
