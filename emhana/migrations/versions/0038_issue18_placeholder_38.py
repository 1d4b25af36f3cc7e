"""Index of the attachment an application opened (issue 18): ``attachment.application_id``, partial (only the rows
an application opened have one).

Why: the answer to a filed application names the attachment it opened (``attachment_of``: ``WHERE
attachment.application_id = ?``), and without an index that read scanned every attachment row, one per person: about
77 ms at 200,000 persons, seconds at 5 million, on every application decided through the API. The index holds only
the rows opened by an application (the campaign's changes), not the bulk-loaded first attachments.

Revision ID: 0038
Revises: 0037
"""

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

WHERE = sa.text("application_id IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_attachment_application",
        "attachment",
        ["application_id"],
        postgresql_where=WHERE,
        sqlite_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_attachment_application", table_name="attachment")
