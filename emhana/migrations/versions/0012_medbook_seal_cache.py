"""Medical books keep the seal issued for each clearance entry (reused on every page and PDF while it stands),
the notification outbox addresses accounts (employer accounts without a person get reminders), and the
attachment notice keeps its QR seal text (printed again on the copy that shows the organization's signature).

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
KINDS_BEFORE = "recipient_kind IN ('person', 'entity')"
KINDS_AFTER = "recipient_kind IN ('person', 'entity', 'account')"


def upgrade() -> None:
    op.create_table(
        'medbook_seal',
        sa.Column('entry_id', BIG_ID, nullable=False),
        sa.Column('seal_id', BIG_ID, nullable=True),
        sa.Column('summary_sha256', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['medbook_entry.id'],
                                name=op.f('fk_medbook_seal_entry_id_medbook_entry')),
        sa.ForeignKeyConstraint(['seal_id'], ['trust_seal.id'], name=op.f('fk_medbook_seal_seal_id_trust_seal')),
        sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_medbook_seal')),
    )
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_outbox_recipient_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notification_outbox_recipient_kind'), KINDS_AFTER)
    with op.batch_alter_table('attachment_notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attachment_notice', schema=None) as batch_op:
        batch_op.drop_column('seal')
    op.execute("DELETE FROM notification_outbox WHERE recipient_kind = 'account'")
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_outbox_recipient_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notification_outbox_recipient_kind'), KINDS_BEFORE)
    op.drop_table('medbook_seal')
