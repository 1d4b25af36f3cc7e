"""Placeholder of issue 18, the campaign helper's; its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0048
Revises: 0047
"""

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
