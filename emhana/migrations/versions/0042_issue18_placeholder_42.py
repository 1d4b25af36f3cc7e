"""Placeholder of issue 18, the attachment read (helper A1); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0042
Revises: 0041
"""

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
