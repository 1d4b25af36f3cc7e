"""Placeholder of issue 18, helper B (district load counter, campaign and near); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0031
Revises: 0030
"""

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
