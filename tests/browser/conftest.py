"""A real uvicorn server over a seeded SQLite database, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
USERNAME, PASSWORD, DISPLAY_NAME = "aigul.fund", "correct-horse-battery", "Айгүл Сейітқызы"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any, name: str = "uvicorn") -> Iterator[str]:
    """Run the app with uvicorn in a thread on a free local port; yield its base URL, then stop it."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            log_config=None,
            ws="none",
            http="h11",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def seed(url: str) -> None:
    """Write three participating entities and a Fund account with a known password."""
    from emhana.accounts.roles import Role
    from emhana.accounts.service import actor_of, create_account
    from emhana.facilities.io import DistrictRecord
    from emhana.facilities.service import apply_records
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from tests.factories import ALMATY, entity_record, site_record

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


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the app with uvicorn on a free local port for the module; yield its base URL."""
    from emhana.app import create_app
    from emhana.kernel.config import Settings
    from emhana.kernel.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    with serve(create_app(Settings(database_url=url))) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Launch Debian's chromium (never a downloaded browser)."""
    if not CHROMIUM.exists():
        if os.environ.get("EMHANA_REQUIRE_BROWSER"):  # set by .ci/run: CI must run these, never skip them
            pytest.fail("Debian chromium not installed (/usr/bin/chromium) but EMHANA_REQUIRE_BROWSER is set")
        pytest.skip("Debian chromium not installed (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
