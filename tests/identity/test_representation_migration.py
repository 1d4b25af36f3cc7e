"""Migration 0015 gives existing representations the document their relation implies and ends a minor's at 18."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import text

from emhana.kernel.db import make_engine
from emhana.kernel.migrate import upgrade
from tests.builders.databases import fresh_database

PEOPLE = [
    (1, "880315301280", dt.date(1988, 3, 15)),
    (2, "050617622310", dt.date(2005, 6, 17)),
    (3, "920704411239", dt.date(1992, 7, 4)),
]
ROWS = [  # id, representative, represented, basis, text, valid_from, valid_to
    (1, 1, 2, "parent", "birth certificate I-АЛ 1234567", dt.date(2005, 6, 17), None),
    (
        2,
        1,
        2,
        "guardian",
        "decision of the guardianship authority No. 5 of 01.02.2010",
        dt.date(2010, 2, 1),
        dt.date(2040, 1, 1),
    ),
    (3, 1, 3, "power_of_attorney", "x" * 80, dt.date(2024, 1, 1), None),
    (4, 1, 3, "trustee", "court decision 2-77/2020", dt.date(2020, 5, 5), None),
]


def test_existing_rows_get_their_document_and_a_minors_end(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        upgrade(url, "0014")
        engine = make_engine(url)
        with engine.begin() as conn:
            for pid, iin, born in PEOPLE:
                conn.execute(
                    text(
                        "INSERT INTO person (id, iin, surname, given_name, birth_date, sex, category)"
                        " VALUES (:id, :iin, 'Тестов', 'Тест', :born, 'male', 'citizen')"
                    ),
                    {"id": pid, "iin": iin, "born": born},
                )
            for rid, rep, who, basis, doc, start, end in ROWS:
                conn.execute(
                    text(
                        "INSERT INTO legal_representation (id, representative_id, represented_id, basis,"
                        " basis_document, valid_from, valid_to) VALUES (:id, :rep, :who, :basis, :doc, :start, :end)"
                    ),
                    {"id": rid, "rep": rep, "who": who, "basis": basis, "doc": doc, "start": start, "end": end},
                )
        engine.dispose()
        upgrade(url, "0015")
        engine = make_engine(url)
        with engine.connect() as conn:
            got = conn.execute(
                text("SELECT id, document_kind, document_number, valid_to FROM legal_representation ORDER BY id")
            ).all()
        engine.dispose()
    ends = dt.date(2023, 6, 16)  # the eve of the child's 18th birthday
    rows = [(i, kind, number, None if end is None else dt.date.fromisoformat(str(end))) for i, kind, number, end in got]
    assert rows == [
        (1, "birth_certificate", "birth certificate I-АЛ 1234567", ends),
        (2, "guardianship_decision", "decision of the guardianship authority No. 5 of 01.02.2010", ends),
        (3, "power_of_attorney", "x" * 60, None),
        (4, "trusteeship_decision", "court decision 2-77/2020", None),  # an adult's trusteeship has no set end
    ]
