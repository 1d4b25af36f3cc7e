"""Placeholder of issue 18, FHIR ingest (helper D); its helper replaces this text and fills it in (or leaves it a no-op).

Revision ID: 0039
Revises: 0038
"""

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
