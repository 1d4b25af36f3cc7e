"""Issue 18: each district's open attachments kept in ``district_load`` by the database itself (A-80).

The capacity check of the campaign and the near search read one number per district instead of counting its
open attachment rows. Triggers keep it whoever writes the rows (the application's writers, the generator's
COPY, a test's ORM insert): on PostgreSQL one trigger per statement, over its transition tables, so a bulk COPY
costs one grouped upsert; on SQLite one per row. A new district gets its row from a trigger on ``district``.
The table is filled from the rows here; ``emhana.attachment.load.recount`` does it again at any time.

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

# The grouped change of a statement, in district order (row locks taken in one order, docs/architecture.md).
_PG_APPLY = """
    INSERT INTO district_load AS l (district_id, attached)
    SELECT district_id, SUM(delta) FROM ({rows}) AS changed
    GROUP BY district_id HAVING SUM(delta) <> 0 ORDER BY district_id
    ON CONFLICT (district_id) DO UPDATE SET attached = l.attached + EXCLUDED.attached;
"""
_NEW = "SELECT district_id, 1 AS delta FROM new_rows WHERE end_date IS NULL"
_OLD = "SELECT district_id, -1 AS delta FROM old_rows WHERE end_date IS NULL"

PG_UP = [
    f"""
    CREATE FUNCTION district_load_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {_PG_APPLY.format(rows=_NEW)} RETURN NULL; END $$
    """,
    f"""
    CREATE FUNCTION district_load_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {_PG_APPLY.format(rows=_NEW + " UNION ALL " + _OLD)} RETURN NULL; END $$
    """,
    f"""
    CREATE FUNCTION district_load_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {_PG_APPLY.format(rows=_OLD)} RETURN NULL; END $$
    """,
    """
    CREATE FUNCTION district_load_new_district() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO district_load (district_id, attached) SELECT id, 0 FROM new_rows ORDER BY id
      ON CONFLICT (district_id) DO NOTHING;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER district_load_ins AFTER INSERT ON attachment REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION district_load_inserted()",
    "CREATE TRIGGER district_load_upd AFTER UPDATE ON attachment REFERENCING OLD TABLE AS old_rows "
    "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION district_load_updated()",
    "CREATE TRIGGER district_load_del AFTER DELETE ON attachment REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION district_load_deleted()",
    "CREATE TRIGGER district_load_district AFTER INSERT ON district REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION district_load_new_district()",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS district_load_ins ON attachment",
    "DROP TRIGGER IF EXISTS district_load_upd ON attachment",
    "DROP TRIGGER IF EXISTS district_load_del ON attachment",
    "DROP TRIGGER IF EXISTS district_load_district ON district",
    "DROP FUNCTION IF EXISTS district_load_inserted()",
    "DROP FUNCTION IF EXISTS district_load_updated()",
    "DROP FUNCTION IF EXISTS district_load_deleted()",
    "DROP FUNCTION IF EXISTS district_load_new_district()",
]

_SQLITE_ADD = (
    "INSERT INTO district_load (district_id, attached) SELECT NEW.district_id, 1 WHERE NEW.end_date IS NULL "
    "ON CONFLICT (district_id) DO UPDATE SET attached = attached + 1;"
)
_SQLITE_TAKE = "UPDATE district_load SET attached = attached - 1 WHERE district_id = OLD.district_id;"
SQLITE_UP = [
    f"CREATE TRIGGER district_load_ins AFTER INSERT ON attachment WHEN NEW.end_date IS NULL BEGIN {_SQLITE_ADD} END",
    "CREATE TRIGGER district_load_upd AFTER UPDATE OF end_date, district_id ON attachment "
    "WHEN (OLD.end_date IS NULL) <> (NEW.end_date IS NULL) OR OLD.district_id <> NEW.district_id BEGIN "
    f"UPDATE district_load SET attached = attached - 1 WHERE district_id = OLD.district_id "
    f"AND OLD.end_date IS NULL; {_SQLITE_ADD} END",
    f"CREATE TRIGGER district_load_del AFTER DELETE ON attachment WHEN OLD.end_date IS NULL BEGIN {_SQLITE_TAKE} END",
    "CREATE TRIGGER district_load_district AFTER INSERT ON district BEGIN "
    "INSERT OR IGNORE INTO district_load (district_id, attached) VALUES (NEW.id, 0); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS district_load_ins",
    "DROP TRIGGER IF EXISTS district_load_upd",
    "DROP TRIGGER IF EXISTS district_load_del",
    "DROP TRIGGER IF EXISTS district_load_district",
]

FILL = (
    "INSERT INTO district_load (district_id, attached) SELECT d.id, (SELECT COUNT(*) FROM attachment t "
    "WHERE t.district_id = d.id AND t.end_date IS NULL) FROM district d"
)


def upgrade() -> None:
    op.create_table(
        "district_load",
        sa.Column("district_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attached", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"], name=op.f("fk_district_load_district_id_district")),
        sa.PrimaryKeyConstraint("district_id", name=op.f("pk_district_load")),
    )
    op.execute(FILL)
    for statement in PG_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_table("district_load")
