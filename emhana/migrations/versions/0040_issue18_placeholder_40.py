"""An index of each account's audit events by time (issue 18): the daily read volume of an account is counted
from it (emhana.identity.service.flag_read_volume) as a range of that day's events of the account, and the
day's flag is found in the same range, instead of every event the account ever caused (docs/access-log.md,
"Read volume").

Revision ID: 0040
Revises: 0039
"""

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_account_at", "audit_event", ["account_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_event_account_at", table_name="audit_event")
