"""A-23 (M) pregnant women by actual residence and A-26 (M) home visits outside the service zone: two policy
flags, the application's declared pregnancy and requested home visits, and the attachment's ``care_at_home``.

Existing policies get the packaged values (pregnant women by actual residence: yes; the applicant's choice
of home visits: no); existing applications declared no pregnancy and asked nothing; existing attachments
have ``care_at_home`` NULL (nothing was agreed), which the attachment hash chain leaves out of the record
hash, so their chains verify as before.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pregnant_actual_residence', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('care_at_home_by_applicant', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('attachment_application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pregnant', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('care_at_home', sa.Boolean(), nullable=True))
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('care_at_home', sa.Boolean(), nullable=True))
    # The server defaults stay (dropping them would rebuild the tables on SQLite); the application always
    # writes these columns itself.


def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_column('care_at_home')
    with op.batch_alter_table('attachment_application', schema=None) as batch_op:
        batch_op.drop_column('care_at_home')
        batch_op.drop_column('pregnant')
    with op.batch_alter_table('campaign_policy', schema=None) as batch_op:
        batch_op.drop_column('care_at_home_by_applicant')
        batch_op.drop_column('pregnant_actual_residence')
