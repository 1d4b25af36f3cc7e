"""Hash chains over journals, attachment histories and the audit log; append-only guards on the audit log.

Rows written before this revision are sealed into their chains (in id order) on upgrade.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from emhana.audit.guard import install_statements, remove_statements
from emhana.trust.chain.links import seal_unlinked

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_head",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("chain_key", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("kind", "chain_key", name=op.f("pk_chain_head")),
    )
    op.create_table(
        "chain_link",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("chain_key", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=8), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_link")),
        sa.UniqueConstraint("kind", "chain_key", "seq", name="uq_chain_link_position"),
    )
    with op.batch_alter_table("chain_link", schema=None) as batch_op:
        batch_op.create_index("ix_chain_link_record", ["kind", "record_id"], unique=False)
    bind = op.get_bind()
    seal_unlinked(bind)
    for sql in install_statements(bind.dialect.name):
        op.execute(sql)


def downgrade() -> None:
    for sql in remove_statements(op.get_bind().dialect.name):
        op.execute(sql)
    with op.batch_alter_table("chain_link", schema=None) as batch_op:
        batch_op.drop_index("ix_chain_link_record")
    op.drop_table("chain_link")
    op.drop_table("chain_head")
