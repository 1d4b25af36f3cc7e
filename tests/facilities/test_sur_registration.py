"""Registration in the Resource Management System (СУР), which with a medical licence lets an organization issue
and examine for personal medical books (C-04, issue 15): imported from the register's files (an older file without
the column still imports), published by the API and shown on the entity's page."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from io import StringIO

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.facilities import io
from emhana.facilities.models import Entity
from tests.builders.facilities import entity_record, site_record

OTHER_BIN = "120540012332"


def upload(client: TestClient, headers: dict[str, str], data: bytes) -> int:
    files = {"file": ("list.csv", data, "text/csv")}
    return client.post("/api/v1/facilities/import", headers=headers, files=files).status_code


def test_the_register_carries_the_sur_registration_and_shows_it(
    client: TestClient, auth: Callable[..., dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    admin = auth(Role.FUND_ADMIN)
    registered = entity_record(sur_registered_on=dt.date(2019, 4, 2))
    unregistered = entity_record(
        OTHER_BIN, sur_registered_on=None, licence_number="KZ55LAA00009876", sites=[site_record("O1", lat=51.2)]
    )
    csv_text = io.write_csv([registered, unregistered])
    assert csv_text.splitlines()[0].split(",").count("sur_registered_on") == 1
    assert upload(client, admin, csv_text.encode()) == 200
    with sessions() as s:
        ids: dict[str, int] = {row.bin: row.id for row in s.execute(select(Entity.bin, Entity.id))}
    one = client.get(f"/api/v1/facilities/entities/{ids[registered.bin]}").json()
    other = client.get(f"/api/v1/facilities/entities/{ids[OTHER_BIN]}").json()
    assert (one["sur_registered_on"], other["sur_registered_on"]) == ("2019-04-02", None)
    page = client.get(f"/facilities/{ids[registered.bin]}?lang=en").text
    assert "Registered in the Resource Management System" in page and "since 02.04.2019" in page
    assert "не зарегистрирована" in client.get(f"/facilities/{ids[OTHER_BIN]}?lang=ru").text
    assert "Ресурстарды басқару жүйесінде тіркелген" in client.get(f"/facilities/{ids[OTHER_BIN]}?lang=kk").text
    exported = client.get("/api/v1/facilities/export?format=csv").content
    assert sorted(r.sur_registered_on or dt.date.min for r in io.read_csv(exported, {"710000000"})[0]) == [
        dt.date.min,
        dt.date(2019, 4, 2),
    ]


def test_a_file_without_the_column_still_imports(
    client: TestClient, auth: Callable[..., dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    rows = list(csv.DictReader(StringIO(io.write_csv([entity_record()]))))
    out = StringIO()
    columns = [c for c in io.COLUMNS if c != "sur_registered_on"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({c: row[c] for c in columns} for row in rows)
    older = out.getvalue()
    assert "sur_registered_on" not in older
    assert upload(client, auth(Role.FUND_ADMIN), older.encode()) == 200
    with sessions() as s:
        assert s.scalar(select(Entity.sur_registered_on)) is None
