"""FHIR Bulk Data $export (issue 17, item 4): the exports asked for (account, level, group, types, _since, state,
transaction time, progress, error, expiry) and their NDJSON files, kept in the database until they expire.

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fhir_bulk_export",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("entity_id", ID, nullable=True),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("group_id", ID, nullable=True),
        sa.Column("types", sa.String(length=200), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("level IN ('system', 'group')", name=op.f("ck_fhir_bulk_export_level")),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed', 'cancelled')", name=op.f("ck_fhir_bulk_export_state")
        ),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_fhir_bulk_export_account_id_account")),
        sa.ForeignKeyConstraint(["entity_id"], ["entity.id"], name=op.f("fk_fhir_bulk_export_entity_id_entity")),
        sa.ForeignKeyConstraint(["group_id"], ["entity.id"], name=op.f("fk_fhir_bulk_export_group_id_entity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_bulk_export")),
    )
    with op.batch_alter_table("fhir_bulk_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fhir_bulk_export_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_fhir_bulk_export_state", ["state", "requested_at"], unique=False)

    op.create_table(
        "fhir_bulk_export_file",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("export_id", ID, nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"], ["fhir_bulk_export.id"], name=op.f("fk_fhir_bulk_export_file_export_id_fhir_bulk_export")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_bulk_export_file")),
        sa.UniqueConstraint("export_id", "resource_type", "seq", name="uq_fhir_bulk_export_file_seq"),
    )
    with op.batch_alter_table("fhir_bulk_export_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fhir_bulk_export_file_export_id"), ["export_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fhir_bulk_export_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fhir_bulk_export_file_export_id"))
    op.drop_table("fhir_bulk_export_file")
    with op.batch_alter_table("fhir_bulk_export", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_bulk_export_state")
        batch_op.drop_index(batch_op.f("ix_fhir_bulk_export_account_id"))
    op.drop_table("fhir_bulk_export")
