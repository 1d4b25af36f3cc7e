"""Issue 17 (inbound semantics): a journal entry may be a retraction (FHIR entered-in-error), a row that supersedes
the entry it retracts, which then no longer counts (medbook.service.current_entries).

Revision ID: 0030
Revises: 0029
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("medbook_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retracted", sa.Boolean(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_medbook_entry_retraction"), "retracted IS NULL OR (retracted AND supersedes_id IS NOT NULL)"
        )


def downgrade() -> None:
    with op.batch_alter_table("medbook_entry", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_medbook_entry_retraction"), type_="check")
        batch_op.drop_column("retracted")
