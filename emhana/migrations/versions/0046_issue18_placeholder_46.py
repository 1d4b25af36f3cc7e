"""Placeholder of issue 18, the access log (helper A2); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0046
Revises: 0045
"""

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
