"""Placeholder of issue 18, the book and FHIR Patient reads (helper A3); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0045
Revises: 0044
"""

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
