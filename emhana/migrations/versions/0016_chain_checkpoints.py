"""Signed checkpoints of the chain heads (append-only), and the rows that say who owns what chained too.

The tables chained from this revision on (person, legal_representation, account, medical_book,
attachment_application) get their rows written before it sealed into their chains, in id order, so an
upgraded register verifies clean; from now on every change the application writes appends a link.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from emhana.audit.guard import CHECKPOINTS, install_statements, remove_statements
from emhana.trust.chain.links import seal_unlinked

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NEWLY_CHAINED = ("person", "representation", "account", "book", "application")


def upgrade() -> None:
    op.create_table(
        "chain_checkpoint",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("boundary", sa.BigInteger(), nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_checkpoint")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # link ids never reused (AUTOINCREMENT): a checkpoint pins links up to an id
        for sql in remove_statements("sqlite", ("chain_link",)):
            op.execute(sql)
        with op.batch_alter_table(
            "chain_link", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            batch_op.alter_column("id", existing_type=sa.Integer(), autoincrement=True)
        for sql in install_statements("sqlite", ("chain_link",)):
            op.execute(sql)
    seal_unlinked(bind, kinds=NEWLY_CHAINED)
    for sql in install_statements(bind.dialect.name, CHECKPOINTS):
        op.execute(sql)


def downgrade() -> None:
    for sql in remove_statements(op.get_bind().dialect.name, CHECKPOINTS, function=False):
        op.execute(sql)
    op.drop_table("chain_checkpoint")
