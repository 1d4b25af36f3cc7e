"""Capitation snapshot in parallel (issue 18): on PostgreSQL, an id-list aggregate that parallel workers can
combine, a function that runs the counting query so that PostgreSQL may use parallel workers for it inside the
INSERT, and lz4 for the stored id lists. SQLite is unchanged.

Why: PostgreSQL 15 neither plans an INSERT ... SELECT in parallel nor combines array_agg across workers, so the
snapshot ran on one core. ``capitation_ids`` is array_agg for bigint with array_cat as its combine function;
``capitation_cells`` returns the rows of the SELECT it is given (PL/pgSQL's RETURN QUERY may run in parallel,
PostgreSQL 14 and later), and the INSERT takes its rows from it. See emhana/attachment/capitation.py.

Revision ID: 0035
Revises: 0034
"""

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

PG_UP = (
    # array_append grows the (expanded) state array in place, so this is linear like array_agg.
    "CREATE AGGREGATE capitation_ids(bigint) (SFUNC = array_append, STYPE = bigint[], COMBINEFUNC = array_cat, "
    "PARALLEL = SAFE)",
    # SECURITY INVOKER (the default): it runs a SELECT with the caller's own rights, nothing more.
    "CREATE FUNCTION capitation_cells(query text) RETURNS SETOF record LANGUAGE plpgsql PARALLEL UNSAFE AS "
    "$$ BEGIN RETURN QUERY EXECUTE query; END $$",
)
PG_DOWN = (
    "DROP FUNCTION IF EXISTS capitation_cells(text)",
    "DROP AGGREGATE IF EXISTS capitation_ids(bigint)",
)
LZ4 = (
    "ALTER TABLE capitation_count ALTER COLUMN person_ids SET COMPRESSION {0}, "
    "ALTER COLUMN attachment_ids SET COMPRESSION {0}"
)
HAS_LZ4 = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in PG_UP:
        op.execute(statement)
    # The id lists of a national snapshot are hundreds of MB: lz4 compresses them several times faster than
    # pglz (where the server is built with it; the stored values stay readable either way).
    if bind.exec_driver_sql(HAS_LZ4).scalar():
        op.execute(LZ4.format("lz4"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.exec_driver_sql(HAS_LZ4).scalar():
        op.execute(LZ4.format("pglz"))
    for statement in PG_DOWN:
        op.execute(statement)
