"""Placeholder for trust publishing: document-signer keys, list sequences (owned by the trust-publishing helper); rename the file and fill in, keeping revision ids.

Revision ID: 0009
Revises: 0008
"""


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
