"""Attachment extras: the capitation trace moves into the counts, and the counter of automatic refusals.

Each capitation count keeps the ids of the persons it counted and of their attachments
(capitation_count.person_ids / attachment_ids: bigint[] on PostgreSQL, JSON lists on SQLite), filled
by the same GROUP BY as the count. The per-person table capitation_person (one row, one primary-key
entry and one foreign-key check per counted person: about 20 million at the national size) is
dropped after its rows are copied into the counts; downgrade copies them back.

attachment_refusal_count counts automatic refusals per campaign year, day, reason code and channel
(written after the refused request, in a transaction of its own).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ID_LIST = postgresql.ARRAY(sa.BigInteger()).with_variant(sa.JSON(), 'sqlite')
CELL = ("p.snapshot_id = capitation_count.snapshot_id AND p.entity_id = capitation_count.entity_id "
        "AND p.sex = capitation_count.sex AND p.band = capitation_count.band")


def upgrade() -> None:
    with op.batch_alter_table('capitation_count', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_ids', ID_LIST, nullable=True))
        batch_op.add_column(sa.Column('attachment_ids', ID_LIST, nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE capitation_count SET person_ids = t.p, attachment_ids = t.a FROM ("
                   "SELECT snapshot_id, entity_id, sex, band, array_agg(person_id ORDER BY person_id) AS p, "
                   "array_agg(attachment_id ORDER BY person_id) AS a FROM capitation_person "
                   "GROUP BY snapshot_id, entity_id, sex, band) AS t "
                   "WHERE t.snapshot_id = capitation_count.snapshot_id AND t.entity_id = capitation_count.entity_id "
                   "AND t.sex = capitation_count.sex AND t.band = capitation_count.band")
        op.execute("UPDATE capitation_count SET person_ids = '{}', attachment_ids = '{}' WHERE person_ids IS NULL")
    else:
        op.execute(f"UPDATE capitation_count SET "
                   f"person_ids = (SELECT json_group_array(person_id) FROM (SELECT p.person_id "
                   f"FROM capitation_person p WHERE {CELL} ORDER BY p.person_id)), "
                   f"attachment_ids = (SELECT json_group_array(attachment_id) FROM (SELECT p.attachment_id "
                   f"FROM capitation_person p WHERE {CELL} ORDER BY p.person_id))")
    with op.batch_alter_table('capitation_count', schema=None) as batch_op:
        batch_op.alter_column('person_ids', existing_type=ID_LIST, nullable=False)
        batch_op.alter_column('attachment_ids', existing_type=ID_LIST, nullable=False)
    op.drop_table('capitation_person')
    if op.get_bind().dialect.name == 'postgresql' and op.get_bind().scalar(sa.text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")):
        # lz4 compresses the id lists about ten times faster than the default pglz (RESULTS.md, 20 M).
        op.execute("ALTER TABLE capitation_count ALTER COLUMN person_ids SET COMPRESSION lz4, "
                   "ALTER COLUMN attachment_ids SET COMPRESSION lz4")
    op.create_table('attachment_refusal_count',
    sa.Column('campaign_year', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason_code', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_year', 'day', 'reason_code', 'channel',
                            name=op.f('pk_attachment_refusal_count'))
    )


def downgrade() -> None:
    op.drop_table('attachment_refusal_count')
    op.create_table('capitation_person',
    sa.Column('snapshot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attachment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sex', sa.String(length=6), nullable=False),
    sa.Column('band', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['capitation_snapshot.id'],
                            name=op.f('fk_capitation_person_snapshot_id_capitation_snapshot')),
    sa.PrimaryKeyConstraint('snapshot_id', 'person_id', name=op.f('pk_capitation_person'))
    )
    columns = "snapshot_id, person_id, attachment_id, entity_id, sex, band"
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"INSERT INTO capitation_person ({columns}) SELECT c.snapshot_id, u.p, u.a, c.entity_id, c.sex, "
                   f"c.band FROM capitation_count c, unnest(c.person_ids, c.attachment_ids) AS u(p, a)")
    else:
        op.execute(f"INSERT INTO capitation_person ({columns}) SELECT c.snapshot_id, j.value, "
                   f"json_extract(c.attachment_ids, '$[' || j.key || ']'), c.entity_id, c.sex, c.band "
                   f"FROM capitation_count c, json_each(c.person_ids) AS j")
    with op.batch_alter_table('capitation_count', schema=None) as batch_op:
        batch_op.drop_column('attachment_ids')
        batch_op.drop_column('person_ids')
