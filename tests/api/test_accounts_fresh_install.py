"""A fresh install outside demo mode runs end to end without touching the database: migrate an empty database,
make the first Fund administrator with ``emhana accounts create``, then only HTTP — the Fund registers an
organization and appoints its administrator, who appoints a registrar, who signs in and reads her queue.
No row is written by SQL or by a builder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from emhana.app import create_app
from emhana.cli.main import app as cli
from emhana.kernel.config import Settings
from emhana.kernel.migrate import upgrade
from tests.builders.accounts import first_sign_in, sign_in
from tests.builders.databases import fresh_database

FUND_PASSWORD = "the-first-fund-password"
ENTITY = {
    "bin": "150340001236",
    "name_kk": "№3 қалалық емхана",
    "name_ru": "Городская поликлиника №3",
    "legal_form": "state_enterprise_phv",
    "ownership": "state",
    "licence_number": "KZ12LAA00001234",
    "licence_issued_on": "2015-03-01",
    "status_from": "2020-01-01",
    "sites": [
        {
            "code": "S1",
            "kind": "polyclinic",
            "name_kk": "№3 қалалық емхана",
            "name_ru": "Городская поликлиника №3",
            "address_ru": "г.Астана, пр. Абая, 12",
            "kato": "710000000",
            "lat": 51.128,
            "lon": 71.4304,
            "districts": [{"number": 1, "profile": "gp", "capacity": 1700}],
        }
    ],
}


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


def test_a_fresh_install_runs_end_to_end_through_the_command_line_and_http(empty_database: str) -> None:
    url = empty_database
    upgrade(url)
    made = CliRunner().invoke(
        cli,
        [
            "accounts",
            "create",
            "aigul.fund",
            "--role",
            "fund_admin",
            "--name",
            "Айгүл Сейітқызы",
            "--database-url",
            url,
        ],
        input=f"{FUND_PASSWORD}\n{FUND_PASSWORD}\n",
    )
    assert made.exit_code == 0, made.output
    assert FUND_PASSWORD not in made.output  # the prompt never echoes it

    app = create_app(Settings(database_url=url))  # not demo mode
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            fund = sign_in(client, "aigul.fund", FUND_PASSWORD)
            entity = client.post("/api/v1/facilities/entities", json=ENTITY, headers=fund)
            assert entity.status_code == 201, entity.text
            head = client.post(
                "/api/v1/accounts",
                json={
                    "username": "head.polyclinic3",
                    "display_name": "Бас дәрігердің орынбасары",
                    "role": "entity_admin",
                    "entity_id": entity.json()["id"],
                },
                headers=fund,
            )
            assert head.status_code == 201, head.text
            head_auth = first_sign_in(client, "head.polyclinic3", head.json()["one_time_password"])
            clerk = client.post(
                "/api/v1/accounts",
                json={"username": "dana.registrar", "display_name": "Дана Тіркеуші", "role": "registrar"},
                headers=head_auth,
            )
            assert clerk.status_code == 201, clerk.text
            clerk_auth = first_sign_in(client, "dana.registrar", clerk.json()["one_time_password"])
            me = client.get("/api/v1/auth/me", headers=clerk_auth).json()
            assert (me["role"], me["entity_id"]) == ("registrar", entity.json()["id"])
            queue = client.get("/api/v1/attachment/queue", headers=clerk_auth)
            assert queue.status_code == 200, queue.text
            assert queue.json() == []
    finally:
        app.state.engine.dispose()
