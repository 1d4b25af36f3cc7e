"""A change outside the campaign for a valid reason (A-42, issue 16): the application's reason is one of the
enumerated values of A-42 (relocation; closure, reorganization or loss of contract of the current
organization), checked by the database as well as by the API's schema; and which messages of the citizen's
inbox each account has seen (notification_seen: read and unread).

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

REASONS = "change_reason IS NULL OR change_reason IN ('relocation', 'closure')"


def upgrade() -> None:
    with op.batch_alter_table("attachment_application", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_attachment_application_change_reason"), REASONS)
    op.create_table(
        "notification_seen",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("notification_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_notification_seen_account_id_account")),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification_outbox.id"],
            name=op.f("fk_notification_seen_notification_id_notification_outbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_seen")),
        sa.UniqueConstraint("account_id", "notification_id", name="uq_notification_seen_account"),
    )


def downgrade() -> None:
    op.drop_table("notification_seen")
    with op.batch_alter_table("attachment_application", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attachment_application_change_reason"), type_="check")
