"""initial schema

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kato_unit',
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('type_code', sa.Integer(), nullable=False),
    sa.Column('name_ru', sa.String(length=200), nullable=False),
    sa.Column('name_kk', sa.String(length=200), nullable=False),
    sa.Column('parent_code', sa.String(length=9), nullable=True),
    sa.ForeignKeyConstraint(['parent_code'], ['kato_unit.code'], name=op.f('fk_kato_unit_parent_code_kato_unit')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_kato_unit'))
    )
    with op.batch_alter_table('kato_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kato_unit_parent_code'), ['parent_code'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('iin', sa.String(length=12), nullable=False),
    sa.Column('surname', sa.String(length=100), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('patronymic', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=6), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('death_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("sex IN ('male', 'female')", name=op.f('ck_person_sex')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('iin', name=op.f('uq_person_iin'))
    )
    op.create_table('practitioner',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('iin', sa.String(length=12), nullable=False),
    sa.Column('surname', sa.String(length=100), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('patronymic', sa.String(length=100), nullable=True),
    sa.Column('specialties', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioner')),
    sa.UniqueConstraint('iin', name=op.f('uq_practitioner_iin'))
    )
    op.create_table('region',
    sa.Column('kato', sa.String(length=9), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('name_ru', sa.String(length=100), nullable=False),
    sa.Column('name_kk', sa.String(length=100), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('males', sa.Integer(), nullable=False),
    sa.Column('females', sa.Integer(), nullable=False),
    sa.Column('hospitals', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('kato', name=op.f('pk_region'))
    )
    op.create_table('entity',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('bin', sa.String(length=12), nullable=False),
    sa.Column('name_kk', sa.String(length=300), nullable=False),
    sa.Column('name_ru', sa.String(length=300), nullable=False),
    sa.Column('legal_form', sa.String(length=32), nullable=False),
    sa.Column('ownership', sa.String(length=16), nullable=False),
    sa.Column('program_gobmp', sa.Boolean(), nullable=False),
    sa.Column('program_osms', sa.Boolean(), nullable=False),
    sa.Column('contract_from', sa.Date(), nullable=True),
    sa.Column('contract_to', sa.Date(), nullable=True),
    sa.Column('region_kato', sa.String(length=9), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['region_kato'], ['kato_unit.code'], name=op.f('fk_entity_region_kato_kato_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entity')),
    sa.UniqueConstraint('bin', name=op.f('uq_entity_bin'))
    )
    with op.batch_alter_table('entity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entity_region_kato'), ['region_kato'], unique=False)

    op.create_table('identity_document',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_identity_document_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_document'))
    )
    with op.batch_alter_table('identity_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_document_person_id'), ['person_id'], unique=False)

    op.create_table('legal_representation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('representative_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('represented_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('basis', sa.String(length=32), nullable=False),
    sa.Column('basis_document', sa.String(length=200), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.CheckConstraint('representative_id <> represented_id', name=op.f('ck_legal_representation_not_self')),
    sa.ForeignKeyConstraint(['representative_id'], ['person.id'], name=op.f('fk_legal_representation_representative_id_person')),
    sa.ForeignKeyConstraint(['represented_id'], ['person.id'], name=op.f('fk_legal_representation_represented_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_representation'))
    )
    with op.batch_alter_table('legal_representation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_representation_representative_id'), ['representative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_legal_representation_represented_id'), ['represented_id'], unique=False)

    op.create_table('person_address',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text_kk', sa.Text(), nullable=True),
    sa.Column('text_ru', sa.Text(), nullable=True),
    sa.Column('kato_code', sa.String(length=9), nullable=False),
    sa.Column('kato_version', sa.String(length=32), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['kato_code'], ['kato_unit.code'], name=op.f('fk_person_address_kato_code_kato_unit')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_person_address_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_address'))
    )
    with op.batch_alter_table('person_address', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_address_kato_code'), ['kato_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_address_person_id'), ['person_id'], unique=False)

    op.create_table('person_phone',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_person_phone_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_phone'))
    )
    with op.batch_alter_table('person_phone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_phone_person_id'), ['person_id'], unique=False)

    op.create_table('account',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('entity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], name=op.f('fk_account_entity_id_entity')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_account_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('username', name=op.f('uq_account_username'))
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_person_id'), ['person_id'], unique=False)

    op.create_table('inclusion',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], name=op.f('fk_inclusion_entity_id_entity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inclusion'))
    )
    with op.batch_alter_table('inclusion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inclusion_entity_id'), ['entity_id'], unique=False)

    op.create_table('licence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('subtypes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], name=op.f('fk_licence_entity_id_entity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence'))
    )
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_entity_id'), ['entity_id'], unique=False)

    op.create_table('site',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name_kk', sa.String(length=300), nullable=False),
    sa.Column('name_ru', sa.String(length=300), nullable=False),
    sa.Column('address_kk', sa.Text(), nullable=False),
    sa.Column('address_ru', sa.Text(), nullable=False),
    sa.Column('kato_code', sa.String(length=9), nullable=False),
    sa.Column('kato_version', sa.String(length=32), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], name=op.f('fk_site_entity_id_entity')),
    sa.ForeignKeyConstraint(['kato_code'], ['kato_unit.code'], name=op.f('fk_site_kato_code_kato_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
    sa.UniqueConstraint('entity_id', 'code', name='uq_site_entity_code')
    )
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_kato_code'), ['kato_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_lat'), ['lat'], unique=False)

    op.create_table('api_token',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_api_token_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_account_id'), ['account_id'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_audit_event_account_id_account')),
    sa.ForeignKeyConstraint(['subject_person_id'], ['person.id'], name=op.f('fk_audit_event_subject_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_subject_person_id'), ['subject_person_id'], unique=False)

    op.create_table('district',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('profile', sa.String(length=16), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['doctor_id'], ['practitioner.id'], name=op.f('fk_district_doctor_id_practitioner')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_district_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_district')),
    sa.UniqueConstraint('site_id', 'number', name='uq_district_site_number')
    )
    with op.batch_alter_table('district', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_district_site_id'), ['site_id'], unique=False)

    op.create_table('idempotency_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_idempotency_record_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_record')),
    sa.UniqueConstraint('account_id', 'key', name='uq_idempotency_account_key')
    )
    op.create_table('post',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('practitioner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], name=op.f('fk_post_entity_id_entity')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_post_practitioner_id_practitioner')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_post_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post'))
    )
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_post_practitioner_id'), ['practitioner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_practitioner_id'))
        batch_op.drop_index(batch_op.f('ix_post_entity_id'))

    op.drop_table('post')
    op.drop_table('idempotency_record')
    with op.batch_alter_table('district', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_district_site_id'))

    op.drop_table('district')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_subject_person_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_account_id'))

    op.drop_table('audit_event')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_account_id'))

    op.drop_table('api_token')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_lat'))
        batch_op.drop_index(batch_op.f('ix_site_kato_code'))
        batch_op.drop_index(batch_op.f('ix_site_entity_id'))

    op.drop_table('site')
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_entity_id'))

    op.drop_table('licence')
    with op.batch_alter_table('inclusion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inclusion_entity_id'))

    op.drop_table('inclusion')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_person_id'))
        batch_op.drop_index(batch_op.f('ix_account_entity_id'))

    op.drop_table('account')
    with op.batch_alter_table('person_phone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_phone_person_id'))

    op.drop_table('person_phone')
    with op.batch_alter_table('person_address', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_address_person_id'))
        batch_op.drop_index(batch_op.f('ix_person_address_kato_code'))

    op.drop_table('person_address')
    with op.batch_alter_table('legal_representation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_representation_represented_id'))
        batch_op.drop_index(batch_op.f('ix_legal_representation_representative_id'))

    op.drop_table('legal_representation')
    with op.batch_alter_table('identity_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_document_person_id'))

    op.drop_table('identity_document')
    with op.batch_alter_table('entity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entity_region_kato'))

    op.drop_table('entity')
    op.drop_table('region')
    op.drop_table('practitioner')
    op.drop_table('person')
    with op.batch_alter_table('kato_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kato_unit_parent_code'))

    op.drop_table('kato_unit')
