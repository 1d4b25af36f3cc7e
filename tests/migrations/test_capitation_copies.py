"""Migration 0037 over stored data (SQLite or PostgreSQL): attachments get their person's sex and birth date, a
stored capitation trace keeps its attachment ids only once its person ids are found to be the attachments'
persons, and the downgrade gives the person ids back in the same order."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text

from emhana.kernel.db import make_engine
from emhana.kernel.migrate import alembic_config, downgrade, upgrade
from tests.builders.databases import fresh_database


def ids(value: Any) -> list[int]:
    """An id list as stored: bigint[] on PostgreSQL, JSON text on SQLite."""
    return [int(i) for i in (json.loads(value) if isinstance(value, str) else value)]


def seed(conn: Connection, person_ids: list[int]) -> tuple[list[int], list[int]]:
    """Two persons attached to one entity and a snapshot counting them with ``person_ids`` stored beside their
    attachments (the trace as it was up to migration 0036); return the persons' and attachments' ids."""
    kato = conn.execute(text("SELECT code, version FROM kato_unit ORDER BY code LIMIT 1")).one()
    conn.execute(
        text(
            "INSERT INTO entity (id, bin, name_kk, name_ru, legal_form, ownership, program_gobmp, program_osms) "
            "VALUES (1, '150340001236', 'A', 'A', 'gkp', 'state', true, true)"
        )
    )
    conn.execute(
        text(
            "INSERT INTO site (id, entity_id, code, kind, name_kk, name_ru, kato_code, kato_version, lat, lon, "
            "address_kk, address_ru, active) VALUES (1, 1, 'S1', 'polyclinic', 'S', 'S', :code, :version, 51.1, "
            "71.4, '', '', true)"
        ),
        {"code": kato[0], "version": kato[1]},
    )
    conn.execute(
        text(
            "INSERT INTO district (id, site_id, number, profile, capacity, active) VALUES (1, 1, 1, 'therapy', 9, true)"
        )
    )
    people = [(11, "male", dt.date(1980, 1, 1)), (12, "female", dt.date(2020, 6, 1))]
    for pid, sex, born in people:
        conn.execute(
            text(
                "INSERT INTO person (id, iin, surname, given_name, birth_date, sex, category) "
                "VALUES (:id, :iin, 'S', 'G', :born, :sex, 'citizen')"
            ),
            {"id": pid, "iin": f"0000000000{pid}", "born": born, "sex": sex},
        )
    for aid, pid in ((21, 12), (22, 11)):
        conn.execute(
            text(
                "INSERT INTO attachment (id, person_id, entity_id, site_id, district_id, place_basis, cause, "
                "begin_date, decided_on) VALUES (:id, :pid, 1, 1, 1, 'residence_permanent', 'first_attachment', "
                "'2025-01-01', '2024-12-01')"
            ),
            {"id": aid, "pid": pid},
        )
    conn.execute(
        text(
            "INSERT INTO capitation_snapshot (id, as_of, bands, total, taken_at) "
            "VALUES (1, '2025-06-01', '0-17,18+', 2, '2025-06-01 10:00:00+00')"
        )
    )
    postgres = conn.dialect.name == "postgresql"
    conn.execute(
        text(
            "INSERT INTO capitation_count (snapshot_id, entity_id, sex, band, count, person_ids, attachment_ids) "
            f"VALUES (1, 1, 'male', '18+', 2, {':p' if postgres else ':pj'}, {':a' if postgres else ':aj'})"
        ),
        {"p": person_ids, "a": [21, 22], "pj": json.dumps(person_ids), "aj": json.dumps([21, 22])},
    )
    return [11, 12], [21, 22]


def test_upgrade_copies_the_persons_fields_and_keeps_the_trace_and_downgrade_gives_the_person_ids_back(
    tmp_path: Path,
) -> None:
    with fresh_database(tmp_path) as url:
        upgrade(url, "0036")
        engine = make_engine(url)
        with engine.begin() as conn:
            seed(conn, [12, 11])
        upgrade(url, "0037")
        with engine.connect() as conn:
            copies = conn.execute(text("SELECT id, person_sex, person_birth_date FROM attachment ORDER BY id")).all()
            assert [(i, s, str(b)) for i, s, b in copies] == [(21, "female", "2020-06-01"), (22, "male", "1980-01-01")]
            assert "person_ids" not in {c["name"] for c in inspect(conn).get_columns("capitation_count")}
            assert ids(conn.execute(text("SELECT attachment_ids FROM capitation_count")).scalar()) == [21, 22]
            # Then a correction of a person reaches the attachment (the triggers are in place).
            conn.execute(text("UPDATE person SET birth_date = '1979-12-31' WHERE id = 11"))
            assert str(conn.execute(text("SELECT person_birth_date FROM attachment WHERE id = 22")).scalar()) == (
                "1979-12-31"
            )
            conn.rollback()
        downgrade(url, "0036")
        with engine.connect() as conn:
            assert ids(conn.execute(text("SELECT person_ids FROM capitation_count")).scalar()) == [12, 11]
            assert "person_sex" not in {c["name"] for c in inspect(conn).get_columns("attachment")}
        engine.dispose()


def test_upgrade_stops_when_a_stored_person_is_not_the_person_of_its_attachment(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        upgrade(url, "0036")
        engine = make_engine(url)
        with engine.begin() as conn:
            seed(conn, [11, 12])  # the other order: each person beside the other's attachment
        config = alembic_config(url)
        with engine.connect() as conn:  # the test's own connection, closed whatever the migration does
            config.attributes["connection"] = conn
            with pytest.raises(RuntimeError, match="2 stored capitation person ids differ"):
                command.upgrade(config, "0037")
        engine.dispose()
