"""Placeholder of issue 18, capitation (helper F); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0037
Revises: 0036
"""

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
