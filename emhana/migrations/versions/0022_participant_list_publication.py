"""The published list of participating entities of a campaign year, kept version by version (issue 16, B-02):
participant_list (one row per published version, with its publication date, the day it reflects and a SHA-256
digest of its rows) and participant_list_entry (the entities as published: BIN, names, region).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "participant_list",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["published_by"], ["account.id"], name=op.f("fk_participant_list_published_by_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_list")),
        sa.UniqueConstraint("year", "version", name="uq_participant_list_year_version"),
    )
    with op.batch_alter_table("participant_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participant_list_year"), ["year"], unique=False)
    op.create_table(
        "participant_list_entry",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("list_id", BIG_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entity_id", BIG_ID, nullable=False),
        sa.Column("bin", sa.String(length=12), nullable=False),
        sa.Column("name_kk", sa.String(length=300), nullable=False),
        sa.Column("name_ru", sa.String(length=300), nullable=False),
        sa.Column("region_kato", sa.String(length=9), nullable=True),
        sa.ForeignKeyConstraint(["entity_id"], ["entity.id"], name=op.f("fk_participant_list_entry_entity_id_entity")),
        sa.ForeignKeyConstraint(
            ["list_id"], ["participant_list.id"], name=op.f("fk_participant_list_entry_list_id_participant_list")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_list_entry")),
        sa.UniqueConstraint("list_id", "entity_id", name="uq_participant_list_entry_entity"),
    )
    with op.batch_alter_table("participant_list_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participant_list_entry_list_id"), ["list_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("participant_list_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_list_entry_list_id"))
    op.drop_table("participant_list_entry")
    with op.batch_alter_table("participant_list", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_list_year"))
    op.drop_table("participant_list")
