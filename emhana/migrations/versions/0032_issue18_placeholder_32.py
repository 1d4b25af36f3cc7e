"""Placeholder of issue 18, helper A (access log at speed); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0032
Revises: 0031
"""

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
