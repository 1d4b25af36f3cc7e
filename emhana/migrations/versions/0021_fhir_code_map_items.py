"""The FHIR code map names a diagnosis by its own item (issue 15): Conditions A51 and A54 map to the diagnoses
"syphilis" and "gonorrhoea", no longer to the laboratory tests of those names (an item is recorded under its own
kind); the at-hiring typhoid serology gets its local code, so an MIS can send it.

The rows are written here, not read from the package, so the migration means the same later.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOCAL = "https://fhir.emhana.kz/CodeSystem/medbook-item"
RENAMED = (("A51", "syphilis", "syphilis_infection"), ("A54", "gonorrhea", "gonorrhea_infection"))
ADDED = {
    "system": LOCAL,
    "code": "typhoid_serology",
    "resource_type": "Observation",
    "kind": "lab_result",
    "item_code": "typhoid_serology",
    "note": "local item code",
}

code_map = sa.table(
    "fhir_code_map",
    sa.column("system", sa.String),
    sa.column("code", sa.String),
    sa.column("resource_type", sa.String),
    sa.column("kind", sa.String),
    sa.column("item_code", sa.String),
    sa.column("note", sa.Text),
    sa.column("active", sa.Boolean),
)


def _rename(old_new: tuple[tuple[str, str, str], ...]) -> None:
    for code, before, after in old_new:
        op.execute(
            code_map.update()
            .where(code_map.c.system == ICD10, code_map.c.code == code, code_map.c.item_code == before)
            .values(item_code=after)
        )


def upgrade() -> None:
    _rename(RENAMED)
    found = op.get_bind().execute(
        sa.select(sa.func.count())
        .select_from(code_map)
        .where(code_map.c.system == LOCAL, code_map.c.code == ADDED["code"])
    )
    if not found.scalar():
        op.bulk_insert(code_map, [{**ADDED, "active": True}])


def downgrade() -> None:
    op.execute(code_map.delete().where(code_map.c.system == LOCAL, code_map.c.code == ADDED["code"]))
    _rename(tuple((code, after, before) for code, before, after in RENAMED))
