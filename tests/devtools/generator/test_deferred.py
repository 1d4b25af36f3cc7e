"""What a bulk load sets aside is read from the catalog: an index, key or trigger a later migration adds is handled."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import Engine, text
from typer.testing import CliRunner

from emhana import models  # noqa: F401  (registers every chained table)
from emhana.cli.main import app
from emhana.devtools.generator import generate
from emhana.devtools.generator.deferred import SET_BASED
from emhana.trust.chain.verify import verify

# A later migration's additions to the loaded tables: an index, a unique constraint, a primary key on two columns
# (of a new table the load does not fill, so it stays), and a row trigger the load does not know (it must fire).
LATER = (
    "CREATE INDEX ix_person_surname_later ON person (surname, given_name)",
    "ALTER TABLE person_phone ADD CONSTRAINT uq_person_phone_later UNIQUE (number, id)",
    "CREATE TABLE later_seen (person_id integer PRIMARY KEY)",
    "CREATE FUNCTION later_seen_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO later_seen VALUES (NEW.person_id); RETURN NEW; END $$",
    "CREATE TRIGGER later_seen_phone AFTER INSERT ON person_phone FOR EACH ROW EXECUTE FUNCTION later_seen_row()",
)
SCHEMA = """
SELECT 'index ' || tablename || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
 || ' ' || convalidated::text FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
UNION ALL SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text
 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = current_schema()::regnamespace AND NOT tgisinternal
ORDER BY 1
"""


def schema_of(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(line) for line in conn.scalars(text(SCHEMA))]


def test_a_bulk_load_puts_back_what_a_later_migration_added_and_fires_the_triggers_it_does_not_know(
    pg_url: str, engine_of: Callable[[str], Engine]
) -> None:
    engine = engine_of(pg_url)
    with engine.begin() as conn:
        for statement in LATER:
            conn.execute(text(statement))
    before = schema_of(engine)
    assert any("pk_chain_head" in line for line in before)  # set aside during the load, built again
    stats = generate(engine, population=1_500, seed=3, batch=400, bulk=True)
    assert schema_of(engine) == before
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT COUNT(*) FROM later_seen")) == 1_500  # the unknown trigger fired
        # The switched-off trigger's work was done (the rows carry their persons' fields, equal to the persons').
        assert "attachment_person_fields" in SET_BASED
        differ = conn.scalar(
            text(
                "SELECT COUNT(*) FROM attachment a JOIN person p ON p.id = a.person_id "
                "WHERE a.person_sex IS DISTINCT FROM p.sex OR a.person_birth_date IS DISTINCT FROM p.birth_date"
            )
        )
        assert stats.attachments == 1_500 and differ == 0
        report = verify(conn, ["person", "attachment"])
    assert report.clean and report.links == 3_000, report.findings[:3]
    verified = CliRunner().invoke(app, ["audit", "verify", "--json", "--database-url", pg_url])  # end to end
    assert verified.exit_code == 0, verified.output
    whole = json.loads(verified.output)
    assert whole["clean"] and whole["links"] >= 3_000
