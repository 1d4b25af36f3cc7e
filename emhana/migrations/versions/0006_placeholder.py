"""Placeholder for attachment extras (owned by the attachment helper); rename the file and fill in, keeping revision ids.

Revision ID: 0006
Revises: 0005
"""


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
