"""A seal can be revoked with the reason "suspended" (issue 15): the clearance it states was suspended (C-30).

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

STATUSES_BEFORE = "status IN ('valid', 'revoked', 'superseded', 'issued-in-error')"
STATUSES_AFTER = "status IN ('valid', 'revoked', 'superseded', 'issued-in-error', 'suspended')"


def upgrade() -> None:
    with op.batch_alter_table("trust_seal", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_trust_seal_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_trust_seal_status"), STATUSES_AFTER)


def downgrade() -> None:
    op.execute("UPDATE trust_seal SET status = 'revoked' WHERE status = 'suspended'")
    with op.batch_alter_table("trust_seal", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_trust_seal_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_trust_seal_status"), STATUSES_BEFORE)
