"""The Fund's page of scheduled jobs in a real browser (issue 16): the worker has run the jobs once (one of them
failed first); the Fund opens the page from the main menu and finds each job's last run, the failure with its
error and the outbox's backlog, in Russian and then in Kazakh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from emhana.app import create_app
from emhana.jobs.catalogue import BY_NAME, Context, Done, Job
from emhana.jobs.runner import run
from emhana.jobs.scheduler import Scheduler
from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.kernel.db import make_engine
from emhana.kernel.migrate import upgrade
from tests.builders.browser import PASSWORD, USERNAME, seed
from tests.builders.servers import serve

pytestmark = pytest.mark.browser


def broken(ctx: Context) -> Done:
    raise RuntimeError("database is locked")


@pytest.fixture(scope="module")
def jobs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve a database where the campaign's daily job failed at 00:30 and every job ran at 00:35."""
    url = f"sqlite:///{tmp_path_factory.mktemp('jobs') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    engine = make_engine(url)
    settings = Settings(database_url=url)
    daily = BY_NAME["campaign_daily"]
    today = clock.today()
    with clock.use(clock.Fixed(dt.datetime.combine(today, dt.time(0, 30), clock.KZ_TIME))):
        run(engine, Job(daily.name, daily.title, broken, at=daily.at), settings=settings)
    with clock.use(clock.Fixed(dt.datetime.combine(today, dt.time(8, 35), clock.KZ_TIME))):
        Scheduler(engine, settings).tick()
    engine.dispose()
    with serve(create_app(settings)) as base:
        yield base


def test_the_fund_finds_each_jobs_last_run_and_the_failure_from_the_main_menu(jobs_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{jobs_server}/login?lang=ru")
    page.get_by_label("Имя пользователя").fill(USERNAME)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти", exact=True).click()
    page.wait_for_url(f"{jobs_server}/")

    page.get_by_role("navigation", name="Главное меню").get_by_role("link", name="Задания по расписанию").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Задания по расписанию")
    daily = page.locator('table.jobs tr[data-job="campaign_daily"]')
    expect(daily).to_contain_text("Ежедневное задание кампании по прикреплению")
    expect(daily).to_contain_text("Ежедневно в 00:30 по времени Казахстана")
    expect(daily.locator("td.outcome")).to_have_text("Выполнено")
    expect(daily.locator("td.failure")).to_contain_text("RuntimeError: database is locked")
    expect(daily.locator("td.failures")).to_have_text("1 / 2")
    expect(page.locator('table.jobs tr[data-job="chain_checkpoint"] td.outcome')).to_have_text("Пропущено")
    expect(page.locator('table.jobs tr[data-job="outbox"]')).to_contain_text("Каждую минуту")
    expect(page.locator("dl.backlog dd.dead")).to_have_text("0")
    versions = page.locator('table.jobs tr[data-job="fhir_directory_versions"]')
    expect(versions).to_contain_text("Версии справочника FHIR")
    expect(versions).to_contain_text("Ежедневно в 00:45 по времени Казахстана")
    expect(page.locator("table.runs tbody tr")).to_have_count(7)  # the failed run, then the six jobs of the tick

    page.get_by_role("navigation", name="Язык").get_by_role("link", name="Қазақша").click()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Кесте бойынша тапсырмалар")
    expect(daily.locator("td.outcome")).to_have_text("Сәтті аяқталды")
    expect(page.locator("dl.backlog")).to_contain_text("Жеткізілмейтін хабарламалар")
