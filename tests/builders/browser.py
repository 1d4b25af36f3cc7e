"""The browser journeys' database: three participating entities and a Fund account with a known password; Debian's
chromium and its arguments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from emhana.accounts.roles import Role
from emhana.accounts.service import actor_of, create_account
from emhana.facilities.io import DistrictRecord
from emhana.facilities.service import apply_records
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from tests.builders.facilities import ALMATY, entity_record, site_record

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
USERNAME, PASSWORD, DISPLAY_NAME = "aigul.fund", "correct-horse-battery", "Айгүл Сейітқызы"


def seed(url: str) -> None:
    """Write three participating entities and a Fund account with a known password."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            account = create_account(
                session=s, username=USERNAME, password=PASSWORD, role=Role.FUND_ADMIN, display_name=DISPLAY_NAME
            )
            almaty = site_record(
                "A1",
                lat=43.2389,
                lon=76.8897,
                kato=ALMATY,
                kind="family_health_centre",
                name_kk="«Денсаулық» отбасылық денсаулық орталығы",
                name_ru="Центр семейного здоровья «Денсаулык»",
                address_kk="Алматы қ., Төле би көшесі, 101",
                address_ru="г.Алматы, ул. Толе би, 101",
                districts=[DistrictRecord("gp", 1, 1700), DistrictRecord("gp", 2, 1650)],
            )
            apply_records(
                session=s,
                actor=actor_of(account),
                records=[
                    entity_record(),
                    entity_record(
                        "990240001233",
                        name_kk="«Денсаулық» ЖШС",
                        name_ru="ТОО «Денсаулык»",
                        legal_form="llp",
                        ownership="private",
                        licence_number="KZ55LAA00009876",
                        sites=[almaty],
                        status_from=dt.date(2021, 9, 14),
                    ),
                ],
            )
    finally:
        engine.dispose()


def login(page: Any, base: str, username: str) -> None:
    """Sign in on the login page as a demo account."""
    from emhana.devtools.demo import DEMO_PASSWORD

    page.goto(f"{base}/login?lang=en")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("form[action='/login'] button[type=submit]").click()
