"""FHIR inbound sync: the code map (seeded from emhana/fhir/data/code_map.csv), received bundles, the
idempotency ledger of ingested resources, and the dead-letter queue.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

from emhana.fhir.mapping import default_rows


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    code_map = op.create_table('fhir_code_map',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('system', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('item_code', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_by', BigId, nullable=True),
    sa.ForeignKeyConstraint(['updated_by'], ['account.id'], name=op.f('fk_fhir_code_map_updated_by_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_code_map')),
    sa.UniqueConstraint('system', 'code', 'resource_type', name='uq_fhir_code_map_key')
    )
    op.create_table('fhir_inbound_bundle',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('account_id', BigId, nullable=False),
    sa.Column('entity_id', BigId, nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('resources', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_data', sa.LargeBinary(), nullable=True),
    sa.Column('signature', sa.LargeBinary(), nullable=True),
    sa.Column('signer', sa.String(length=300), nullable=False),
    sa.CheckConstraint("state IN ('accepted', 'rejected')", name=op.f('ck_fhir_inbound_bundle_state')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_fhir_inbound_bundle_account_id_account')),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], name=op.f('fk_fhir_inbound_bundle_entity_id_entity')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_inbound_bundle'))
    )
    with op.batch_alter_table('fhir_inbound_bundle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fhir_inbound_bundle_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fhir_inbound_bundle_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index('ix_fhir_inbound_bundle_state', ['state', 'received_at'], unique=False)

    op.create_table('fhir_dead_letter',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('bundle_id', BigId, nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('expression', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.CheckConstraint("resolution IS NULL OR resolution IN ('replayed', 'discarded')", name=op.f('ck_fhir_dead_letter_resolution')),
    sa.ForeignKeyConstraint(['bundle_id'], ['fhir_inbound_bundle.id'], name=op.f('fk_fhir_dead_letter_bundle_id_fhir_inbound_bundle')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_dead_letter'))
    )
    with op.batch_alter_table('fhir_dead_letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fhir_dead_letter_bundle_id'), ['bundle_id'], unique=False)
        batch_op.create_index('ix_fhir_dead_letter_open', ['resolved_at', 'created_at'], unique=False)

    op.create_table('fhir_inbound_resource',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('bundle_id', BigId, nullable=False),
    sa.Column('entry_id', BigId, nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bundle_id'], ['fhir_inbound_bundle.id'], name=op.f('fk_fhir_inbound_resource_bundle_id_fhir_inbound_bundle')),
    sa.ForeignKeyConstraint(['entry_id'], ['medbook_entry.id'], name=op.f('fk_fhir_inbound_resource_entry_id_medbook_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_inbound_resource')),
    sa.UniqueConstraint('source', 'resource_type', 'resource_id', 'version', name='uq_fhir_inbound_resource_key')
    )
    with op.batch_alter_table('fhir_inbound_resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fhir_inbound_resource_bundle_id'), ['bundle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fhir_inbound_resource_entry_id'), ['entry_id'], unique=False)

    op.bulk_insert(code_map, [{**row, 'active': True} for row in default_rows()])


def downgrade() -> None:
    op.drop_table('fhir_inbound_resource')
    op.drop_table('fhir_dead_letter')
    op.drop_table('fhir_inbound_bundle')
    op.drop_table('fhir_code_map')
