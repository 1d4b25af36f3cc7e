"""Capitation without the join (issue 18): each attachment row carries its person's sex and birth date, kept equal
to the person's by the database itself.

Why: the capitation snapshot counts attachments by entity, sex and age band; reading sex and birth date from
``person`` joined a million persons per million attachments, about five times the cost of the bare scan. With the
two fields on the attachment row the count reads one table.

How they stay equal, whoever writes (the application's writers, the generator's COPY, a test's ORM insert, SQL):
on PostgreSQL a row trigger before every insert, and before any update that sets person_id or either copy, sets
both from the person row (a value a writer gives is never kept), and a trigger after a person's sex or birth date
changes sets them on every attachment of that person. A check constraint refuses a row without them (it holds
even with triggers switched off, ``session_replication_role = replica``). On SQLite the same by triggers after the
insert and updates (SQLite cannot change the row being inserted, so the columns are nullable in the model).
``emhana.attachment.capitation.fill_person_fields`` sets them again from the persons for every row, in one
statement (the generator's bulk load switches the insert trigger off, gives the values itself and runs that
statement before switching it on again: emhana/devtools/generator/deferred.py). Existing rows are filled here.
See docs/architecture.md, "Capitation".

And each count's trace keeps the attachments counted only: ``capitation_count.person_ids`` goes, since each
attachment names its person (``attachment.person_id``, never changed, hashed in the person's attachment chain) and
the second id list doubled the aggregation and the storage of a snapshot. Before the column goes, every stored
person id is checked against its attachment's person; the upgrade stops if any differs. The downgrade gives the
column back, filled from the attachments in the same order.

Revision ID: 0037
Revises: 0036
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

FILL_PG = (
    "UPDATE attachment a SET person_sex = p.sex, person_birth_date = p.birth_date FROM person p "
    "WHERE p.id = a.person_id AND (a.person_sex IS DISTINCT FROM p.sex OR a.person_birth_date IS DISTINCT FROM "
    "p.birth_date)"
)
FILL_SQLITE = (
    "UPDATE attachment SET person_sex = (SELECT p.sex FROM person p WHERE p.id = attachment.person_id), "
    "person_birth_date = (SELECT p.birth_date FROM person p WHERE p.id = attachment.person_id)"
)

PG_UP = (
    """
    CREATE FUNCTION attachment_person_fields() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      SELECT p.sex, p.birth_date INTO NEW.person_sex, NEW.person_birth_date FROM person p WHERE p.id = NEW.person_id;
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER attachment_person_fields BEFORE INSERT OR UPDATE OF person_id, person_sex, person_birth_date "
    "ON attachment FOR EACH ROW EXECUTE FUNCTION attachment_person_fields()",
    """
    CREATE FUNCTION person_fields_to_attachments() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE attachment SET person_sex = NEW.sex, person_birth_date = NEW.birth_date WHERE person_id = NEW.id;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER person_fields_to_attachments AFTER UPDATE OF sex, birth_date ON person FOR EACH ROW "
    "WHEN (OLD.sex IS DISTINCT FROM NEW.sex OR OLD.birth_date IS DISTINCT FROM NEW.birth_date) "
    "EXECUTE FUNCTION person_fields_to_attachments()",
    "ALTER TABLE attachment ADD CONSTRAINT ck_attachment_person_fields "
    "CHECK (person_sex IS NOT NULL AND person_birth_date IS NOT NULL)",
)
PG_DOWN = (
    "ALTER TABLE attachment DROP CONSTRAINT IF EXISTS ck_attachment_person_fields",
    "DROP TRIGGER IF EXISTS person_fields_to_attachments ON person",
    "DROP TRIGGER IF EXISTS attachment_person_fields ON attachment",
    "DROP FUNCTION IF EXISTS person_fields_to_attachments()",
    "DROP FUNCTION IF EXISTS attachment_person_fields()",
)

_SQLITE_SET = (
    "UPDATE attachment SET person_sex = (SELECT p.sex FROM person p WHERE p.id = NEW.person_id), "
    "person_birth_date = (SELECT p.birth_date FROM person p WHERE p.id = NEW.person_id) WHERE id = NEW.id;"
)
_SQLITE_DIFFERS = (
    "NEW.person_sex IS NOT (SELECT p.sex FROM person p WHERE p.id = NEW.person_id) OR NEW.person_birth_date IS NOT "
    "(SELECT p.birth_date FROM person p WHERE p.id = NEW.person_id)"
)
SQLITE_UP = (
    f"CREATE TRIGGER attachment_person_fields_ins AFTER INSERT ON attachment BEGIN {_SQLITE_SET} END",
    "CREATE TRIGGER attachment_person_fields_upd AFTER UPDATE OF person_id, person_sex, person_birth_date "
    f"ON attachment WHEN {_SQLITE_DIFFERS} BEGIN {_SQLITE_SET} END",
    "CREATE TRIGGER person_fields_to_attachments AFTER UPDATE OF sex, birth_date ON person "
    "WHEN OLD.sex IS NOT NEW.sex OR OLD.birth_date IS NOT NEW.birth_date BEGIN "
    "UPDATE attachment SET person_sex = NEW.sex, person_birth_date = NEW.birth_date WHERE person_id = NEW.id; END",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS person_fields_to_attachments",
    "DROP TRIGGER IF EXISTS attachment_person_fields_upd",
    "DROP TRIGGER IF EXISTS attachment_person_fields_ins",
)


# Stored person ids that are not the person of the attachment beside them (none is expected).
PERSONS_DIFFER_PG = (
    "SELECT count(*) FROM capitation_count c CROSS JOIN LATERAL unnest(c.person_ids, c.attachment_ids) AS u(p, a) "
    "LEFT JOIN attachment t ON t.id = u.a WHERE t.person_id IS DISTINCT FROM u.p"
)
PERSONS_DIFFER_SQLITE = (
    "SELECT count(*) FROM capitation_count c JOIN json_each(c.person_ids) AS j "
    "LEFT JOIN attachment t ON t.id = json_extract(c.attachment_ids, '$[' || j.key || ']') "
    "WHERE t.person_id IS NOT j.value"
)
PERSONS_BACK_PG = (
    "UPDATE capitation_count c SET person_ids = (SELECT coalesce(array_agg(t.person_id ORDER BY x.n), '{}') "
    "FROM unnest(c.attachment_ids) WITH ORDINALITY AS x(id, n) JOIN attachment t ON t.id = x.id)"
)
PERSONS_BACK_SQLITE = (
    "UPDATE capitation_count SET person_ids = (SELECT json_group_array(p) FROM (SELECT t.person_id AS p "
    "FROM json_each(capitation_count.attachment_ids) AS j JOIN attachment t ON t.id = j.value ORDER BY j.key))"
)
ID_LIST = postgresql.ARRAY(sa.BigInteger()).with_variant(sa.JSON(), "sqlite")
HAS_LZ4 = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # Plain ALTER TABLE on both (no batch copy of the table on SQLite, which would lose its triggers).
    op.add_column("attachment", sa.Column("person_sex", sa.String(length=6), nullable=True))
    op.add_column("attachment", sa.Column("person_birth_date", sa.Date(), nullable=True))
    op.execute(FILL_PG if postgres else FILL_SQLITE)  # before the triggers: one statement, no row trigger
    for statement in PG_UP if postgres else SQLITE_UP:
        op.execute(statement)
    differ = op.get_bind().exec_driver_sql(PERSONS_DIFFER_PG if postgres else PERSONS_DIFFER_SQLITE).scalar()
    if differ:
        raise RuntimeError(f"{differ} stored capitation person ids differ from their attachments' persons")
    op.execute("ALTER TABLE capitation_count DROP COLUMN person_ids")


def downgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.add_column("capitation_count", sa.Column("person_ids", ID_LIST, nullable=True))
    op.execute(PERSONS_BACK_PG if postgres else PERSONS_BACK_SQLITE)
    with op.batch_alter_table("capitation_count") as batch:  # SQLite: a copy of the table (it has no trigger)
        batch.alter_column("person_ids", existing_type=ID_LIST, nullable=False)
    if postgres and bind.exec_driver_sql(HAS_LZ4).scalar():
        op.execute("ALTER TABLE capitation_count ALTER COLUMN person_ids SET COMPRESSION lz4")  # as 0035 left it
    for statement in PG_DOWN if postgres else SQLITE_DOWN:
        op.execute(statement)
    op.execute("ALTER TABLE attachment DROP COLUMN person_birth_date")  # SQLite 3.35 and later, PostgreSQL
    op.execute("ALTER TABLE attachment DROP COLUMN person_sex")
