"""Signing in as eGov does (issue 16, item 6): the one-time sign-in challenges an EDS signs, and portal
applications as a kind of signed record.

``sign_in_challenge`` keeps the SHA-256 of each challenge's nonce, the site it was issued for, when it lapses, when
it was used, how it ended and the account it opened. ``record_signature.record_kind`` admits
``attachment_application`` (the applicant's signature over her portal application's canonical form).

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

KINDS_BEFORE = "record_kind IN ('medbook_entry', 'attachment_notice')"
KINDS_AFTER = "record_kind IN ('medbook_entry', 'attachment_notice', 'attachment_application')"


def upgrade() -> None:
    op.create_table(
        "sign_in_challenge",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("nonce_sha256", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_sign_in_challenge_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_challenge")),
        sa.UniqueConstraint("nonce_sha256", name=op.f("uq_sign_in_challenge_nonce_sha256")),
    )
    with op.batch_alter_table("record_signature", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_record_signature_record_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_record_signature_record_kind"), KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM record_signature WHERE record_kind = 'attachment_application'")
    with op.batch_alter_table("record_signature", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_record_signature_record_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_record_signature_record_kind"), KINDS_BEFORE)
    op.drop_table("sign_in_challenge")
