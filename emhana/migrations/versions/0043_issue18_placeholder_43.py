"""Placeholder of issue 18, the campaign transaction (helper B); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0043
Revises: 0042
"""

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
