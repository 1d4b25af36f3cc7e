"""Legal representation with its basis document (issue 14): the kind of document and its number.

Existing rows get the document their relation implies (a parent: the birth certificate; a guardian or a foster
carer: the guardianship decision; a trustee: the trusteeship decision; a power of attorney keeps that name, which
is no basis of legal representation and is no longer honoured) and, as number, the start of the text they held.
A representation that began while the person was a minor now ends on the eve of the 18th birthday (A-24, A-65),
even when it was recorded without an end or with a later one.

Revision ID: 0015
Revises: 0014
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

KINDS = {
    "parent": "birth_certificate",
    "guardian": "guardianship_decision",
    "foster_carer": "guardianship_decision",
    "trustee": "trusteeship_decision",
}
MAJORITY = 18


def _minority_ends(born: dt.date) -> dt.date:
    try:
        birthday = born.replace(year=born.year + MAJORITY)
    except ValueError:  # born on 29 February
        birthday = dt.date(born.year + MAJORITY, 3, 1)
    return birthday - dt.timedelta(days=1)


def upgrade() -> None:
    with op.batch_alter_table("legal_representation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("document_number", sa.String(length=60), nullable=True))
    table = sa.table(
        "legal_representation",
        sa.column("id", sa.BigInteger),
        sa.column("represented_id", sa.BigInteger),
        sa.column("basis", sa.String),
        sa.column("basis_document", sa.String),
        sa.column("document_kind", sa.String),
        sa.column("document_number", sa.String),
        sa.column("valid_from", sa.Date),
        sa.column("valid_to", sa.Date),
    )
    person = sa.table("person", sa.column("id", sa.BigInteger), sa.column("birth_date", sa.Date))
    kind = sa.case(*((table.c.basis == k, v) for k, v in KINDS.items()), else_=table.c.basis)
    op.execute(table.update().values(document_kind=kind, document_number=sa.func.substr(table.c.basis_document, 1, 60)))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(table.c.id, table.c.valid_from, table.c.valid_to, person.c.birth_date).join(
            person, person.c.id == table.c.represented_id
        )
    ).all()
    shorten = []
    for row_id, valid_from, valid_to, born in rows:
        ends = _minority_ends(born)
        if valid_from <= ends and (valid_to is None or valid_to > ends):
            shorten.append({"rid": row_id, "ends": ends})
    if shorten:  # one executemany, not a statement per row
        conn.execute(
            table.update().where(table.c.id == sa.bindparam("rid")).values(valid_to=sa.bindparam("ends")), shorten
        )
    with op.batch_alter_table("legal_representation", schema=None) as batch_op:
        batch_op.alter_column("document_kind", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("document_number", existing_type=sa.String(length=60), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("legal_representation", schema=None) as batch_op:
        batch_op.drop_column("document_number")
        batch_op.drop_column("document_kind")
