"""Accounts for real operation (issue 14): the one-time password flag, when an account was deactivated and
who created it.

Existing accounts keep their passwords (no change required), stay as active as they were and have no known
creator (the demo seeding or the command line made them).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key("fk_account_created_by_account", "account", ["created_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_constraint("fk_account_created_by_account", type_="foreignkey")
        batch_op.drop_column("created_by")
        batch_op.drop_column("deactivated_at")
        batch_op.drop_column("must_change_password")
