"""A real uvicorn server over a seeded SQLite database, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from emhana.app import create_app
from emhana.devtools.generator import run_with_progress
from emhana.kernel.config import Settings
from emhana.kernel.migrate import upgrade
from tests.builders.browser import CHROMIUM, CHROMIUM_ARGS, seed
from tests.builders.servers import serve


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the app with uvicorn on a free local port for the module; yield its base URL."""
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


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Serve the app over a small demo database (module scope); yield its base URL and the demo citizen's IIN."""
    from sqlalchemy import select

    from emhana.accounts.models import Account
    from emhana.app import create_app
    from emhana.devtools.demo import seed, server_settings
    from emhana.identity.models import Person
    from emhana.kernel.db import make_engine, make_sessionmaker

    url = f"sqlite:///{tmp_path_factory.mktemp('medbook') / 'emhana.db'}"
    seed(url, population=300, seed_value=1, generate=run_with_progress)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        iin = s.scalar(
            select(Person.iin).join(Account, Account.person_id == Person.id).where(Account.username == "demo-citizen")
        )
    engine.dispose()
    assert iin is not None
    with serve(create_app(server_settings(url)), "uvicorn-medbook") as base:  # as `emhana demo`: its PKI trusted
        yield base, iin
