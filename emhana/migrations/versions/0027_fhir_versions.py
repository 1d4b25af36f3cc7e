"""Versions of the FHIR directory resources (issue 17): each version of each Organization, Location,
Practitioner and PractitionerRole as it was served (type, id, versionId, lastUpdated, SHA-256 of the content,
body with its meta), for vread, _history, _lastUpdated and ETags (emhana/fhir/versions.py).

Existing rows get their version 1 when first served or at the first ``versions.refresh`` (docs/fhir-versions.md):
the migration writes no versions, so it does not render resources with code of a later schema.

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fhir_resource_version",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_resource_version")),
        sa.UniqueConstraint("resource_type", "resource_id", "version_id", name="uq_fhir_resource_version"),
    )
    with op.batch_alter_table("fhir_resource_version", schema=None) as batch_op:
        batch_op.create_index("ix_fhir_resource_version_updated", ["resource_type", "last_updated"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fhir_resource_version", schema=None) as batch_op:
        batch_op.drop_index("ix_fhir_resource_version_updated")
    op.drop_table("fhir_resource_version")
