"""Placeholder of issue 18, campaign transaction (helper B); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0038
Revises: 0037
"""

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
