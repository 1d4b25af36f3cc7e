"""Record signatures: one verified detached CMS per journal entry or attachment notice, with its evidence.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('record_signature',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('record_kind', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('canonical_sha256', sa.String(length=64), nullable=False),
    sa.Column('cms', sa.LargeBinary(), nullable=False),
    sa.Column('signer_certificate', sa.LargeBinary(), nullable=False),
    sa.Column('signer_iin', sa.String(length=12), nullable=True),
    sa.Column('signer_bin', sa.String(length=12), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verifier', sa.String(length=16), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('attached_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("record_kind IN ('medbook_entry', 'attachment_notice')",
                       name=op.f('ck_record_signature_record_kind')),
    sa.ForeignKeyConstraint(['attached_by'], ['account.id'], name=op.f('fk_record_signature_attached_by_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_signature')),
    sa.UniqueConstraint('record_kind', 'record_id', name='uq_record_signature_record')
    )


def downgrade() -> None:
    op.drop_table('record_signature')
