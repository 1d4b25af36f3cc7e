"""Placeholder of issue 18, helper E (capitation and seals); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0035
Revises: 0034
"""

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
