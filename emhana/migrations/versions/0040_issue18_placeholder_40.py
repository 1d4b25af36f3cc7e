"""Placeholder of issue 18, audited reads (helper A); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0040
Revises: 0039
"""

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
