"""Placeholder of issue 18, helper D (national load); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0034
Revises: 0033
"""

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
