"""Trust publishing: the scheme CA and facility document signers (keys encrypted at rest), the register of
issued seals with their revocation status, and the published signed lists (docs/credentials.md §6).

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('trust_scheme_ca',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('kid', sa.String(length=16), nullable=False),
    sa.Column('certificate', sa.LargeBinary(), nullable=False),
    sa.Column('key_ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('key_wrap', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('active_slot', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'retired')", name=op.f('ck_trust_scheme_ca_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trust_scheme_ca')),
    sa.UniqueConstraint('active_slot', name=op.f('uq_trust_scheme_ca_active_slot')),
    sa.UniqueConstraint('kid', name=op.f('uq_trust_scheme_ca_kid'))
    )
    op.create_table('trust_dsc',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('entity_id', BIG_ID, nullable=False),
    sa.Column('scheme_ca_id', BIG_ID, nullable=False),
    sa.Column('bin', sa.String(length=12), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=16), nullable=False),
    sa.Column('certificate', sa.LargeBinary(), nullable=False),
    sa.Column('key_ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('key_wrap', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('active_entity_id', BIG_ID, nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'retired', 'revoked')", name=op.f('ck_trust_dsc_status')),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], name=op.f('fk_trust_dsc_entity_id_entity')),
    sa.ForeignKeyConstraint(['scheme_ca_id'], ['trust_scheme_ca.id'],
                            name=op.f('fk_trust_dsc_scheme_ca_id_trust_scheme_ca')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trust_dsc')),
    sa.UniqueConstraint('active_entity_id', name=op.f('uq_trust_dsc_active_entity_id')),
    sa.UniqueConstraint('entity_id', 'number', name='uq_trust_dsc_entity_number')
    )
    with op.batch_alter_table('trust_dsc', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trust_dsc_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trust_dsc_kid'), ['kid'], unique=False)

    op.create_table('trust_seal',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('dsc_id', BIG_ID, nullable=False),
    sa.Column('kid', sa.String(length=16), nullable=False),
    sa.Column('cti_hash', sa.LargeBinary(length=16), nullable=False),
    sa.Column('signature_hash', sa.LargeBinary(length=16), nullable=False),
    sa.Column('record_type', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_by', BIG_ID, nullable=True),
    sa.Column('superseded_by_id', BIG_ID, nullable=True),
    sa.CheckConstraint("status IN ('valid', 'revoked', 'superseded', 'issued-in-error')",
                       name=op.f('ck_trust_seal_status')),
    sa.ForeignKeyConstraint(['dsc_id'], ['trust_dsc.id'], name=op.f('fk_trust_seal_dsc_id_trust_dsc')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['trust_seal.id'],
                            name=op.f('fk_trust_seal_superseded_by_id_trust_seal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trust_seal')),
    sa.UniqueConstraint('kid', 'cti_hash', name='uq_trust_seal_kid_cti')
    )
    with op.batch_alter_table('trust_seal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trust_seal_dsc_id'), ['dsc_id'], unique=False)
        batch_op.create_index('ix_trust_seal_listed', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_trust_seal_reference', ['record_type', 'reference'], unique=False)

    op.create_table('trust_published_list',
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.CheckConstraint("name IN ('trust', 'revocation')", name=op.f('ck_trust_published_list_name')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_trust_published_list'))
    )


def downgrade() -> None:
    op.drop_table('trust_published_list')
    with op.batch_alter_table('trust_seal', schema=None) as batch_op:
        batch_op.drop_index('ix_trust_seal_reference')
        batch_op.drop_index('ix_trust_seal_listed')
        batch_op.drop_index(batch_op.f('ix_trust_seal_dsc_id'))
    op.drop_table('trust_seal')
    with op.batch_alter_table('trust_dsc', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trust_dsc_kid'))
        batch_op.drop_index(batch_op.f('ix_trust_dsc_entity_id'))
    op.drop_table('trust_dsc')
    op.drop_table('trust_scheme_ca')
