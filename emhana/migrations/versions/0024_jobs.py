"""Jobs that run themselves (issue 16): the record of each run (job_run), dead letters in the outbox, and on
PostgreSQL the job queue of procrastinate (emhana/jobs/queue.py).

The queue's schema is the library's own (``procrastinate.schema.SchemaManager.get_schema()``, the
``schema.sql`` of the installed version, applied in this migration's transaction). A later procrastinate
that changes its schema ships migration files of its own (``procrastinate/sql/migrations``): a later
migration of emhana applies those. SQLite has no queue (the worker schedules in the process there).

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa


revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

STATES_BEFORE = "state IN ('pending', 'sent', 'failed')"
STATES_AFTER = "state IN ('pending', 'sent', 'failed', 'dead')"

QUEUE_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs", "procrastinate_workers")
QUEUE_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status")
DROP_QUEUE_FUNCTIONS = r"""
DO $$
DECLARE f record;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || f.signature || ' CASCADE';
    END LOOP;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('running', 'succeeded', 'skipped', 'failed')", name=op.f("ck_job_run_outcome")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
    )
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.create_index("ix_job_run_job_started", ["job", "started_at"], unique=False)
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notification_outbox_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notification_outbox_state"), STATES_AFTER)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Through the driver as it is: psycopg formats nothing without parameters (the schema has % in messages).
        bind.connection.driver_connection.execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS " + ", ".join(QUEUE_TABLES) + " CASCADE")
        op.execute(DROP_QUEUE_FUNCTIONS)
        op.execute("DROP TYPE IF EXISTS " + ", ".join(QUEUE_TYPES) + " CASCADE")
    op.execute("UPDATE notification_outbox SET state = 'failed' WHERE state = 'dead'")  # tried again, not lost
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notification_outbox_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notification_outbox_state"), STATES_BEFORE)
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_index("ix_job_run_job_started")
    op.drop_table("job_run")
