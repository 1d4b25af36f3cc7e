"""Medical books: an index on journal entries by kind and valid-until, for the daily reminder query that finds
the clearances ending in a window across all books (docs/scale.md: 1.6 M books).

Revision ID: 0011
Revises: 0010
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_medbook_entry_kind_valid_until', 'medbook_entry', ['kind', 'valid_until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_medbook_entry_kind_valid_until', table_name='medbook_entry')
