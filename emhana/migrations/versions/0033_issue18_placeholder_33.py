"""Placeholder of issue 18, helper C (FHIR ingest); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0033
Revises: 0032
"""

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
