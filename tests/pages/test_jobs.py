"""The Fund's page of scheduled jobs (issue 16): each job's schedule, last run, last failure with its error and
failures of the week, the latest runs, and the outbox's backlog with its dead letters, in kk, ru and en; no
other role sees it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.jobs.catalogue import BY_NAME, Context, Done, Job
from emhana.jobs.runner import run
from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.medbook.remind import OWNER_TEMPLATE
from emhana.notify.models import Notification
from emhana.notify.outbox import RecipientKind, enqueue

HTML = {"Accept": "text/html,application/xhtml+xml"}
MakeActor = Callable[..., tuple[Actor, str]]
AT = dt.datetime(2025, 9, 10, 10, 0, tzinfo=clock.KZ_TIME)


def bearer(token: str) -> dict[str, str]:
    return {**HTML, "Authorization": f"Bearer {token}"}


def broken(ctx: Context) -> Done:
    raise RuntimeError("SMTP relay refused")


@pytest.fixture
def history(engine: Engine, sessions: sessionmaker[Session]) -> None:
    """The campaign's job failed once and then succeeded; three messages wait, one of them a dead letter."""
    settings = Settings(database_url=str(engine.url))
    daily = BY_NAME["campaign_daily"]
    with clock.use(clock.Fixed(AT)):
        run(engine, Job(daily.name, daily.title, broken, at=daily.at), settings=settings)
    with clock.use(clock.Fixed(AT + dt.timedelta(minutes=5))):
        run(engine, daily, settings=settings)
    with sessions.begin() as s:
        for n in range(3):
            enqueue(
                s,
                kind=RecipientKind.PERSON,
                recipient_id=n,
                template=OWNER_TEMPLATE,
                params={},
                dedupe_key=f"page-{n}",
                now=AT.astimezone(dt.UTC),  # the outbox stores UTC, as clock.now() gives
            )
        s.flush()
        s.execute(update(Notification).where(Notification.dedupe_key == "page-0").values(state="dead", attempts=15))
        s.execute(update(Notification).where(Notification.dedupe_key == "page-1").values(state="failed", attempts=2))


def cells(html: str, job: str) -> str:
    found = re.search(rf'<tr data-job="{job}">(.*?)</tr>', html, re.S)
    assert found, job
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


@pytest.mark.parametrize(
    ("lang", "title", "succeeded", "never"),
    [
        ("en", "Scheduled jobs", "Succeeded", "Not run yet"),
        ("ru", "Задания по расписанию", "Выполнено", "Ещё не запускалось"),
        ("kk", "Кесте бойынша тапсырмалар", "Сәтті аяқталды", "Әлі орындалған жоқ"),
    ],
)
def test_the_fund_sees_last_runs_failures_and_the_backlog(
    client: TestClient, make_actor: MakeActor, history: None, lang: str, title: str, succeeded: str, never: str
) -> None:
    _, fund = make_actor(Role.FUND_ADMIN)
    with clock.use(clock.Fixed(AT + dt.timedelta(hours=1))):
        page = client.get(f"/oversight/jobs?lang={lang}", headers=bearer(fund))
    assert page.status_code == 200
    assert f"<h1>{title}</h1>" in page.text
    daily = cells(page.text, "campaign_daily")
    assert "10.09.2025 10:05" in daily and succeeded in daily  # the last run
    assert "10.09.2025 10:00" in daily and "RuntimeError: SMTP relay refused" in daily  # the last failure
    assert daily.endswith("1 / 2")  # failures and runs of the week
    assert never in cells(page.text, "outbox")
    backlog = re.sub(r"\s+", " ", page.text.split('class="facts backlog"')[1].split("</dl>")[0])
    assert re.search(r'class="pending">1<', backlog) and re.search(r'class="failed">1<', backlog)
    assert re.search(r'class="dead">1<', backlog) and "10.09.2025 10:00" in backlog


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.ENTITY_ADMIN, Role.VERIFIER])
def test_no_other_role_sees_the_page(client: TestClient, make_actor: MakeActor, role: Role) -> None:
    _, token = make_actor(role)
    assert client.get("/oversight/jobs?lang=en", headers=bearer(token)).status_code in (403, 404)


def test_schedules_in_words() -> None:
    from emhana.pages.jobs import schedule_words

    every_five = Job("x", "X", broken, every=dt.timedelta(minutes=5))
    assert schedule_words("en", BY_NAME["campaign_daily"]) == "Daily at 00:30, Kazakhstan time"
    assert schedule_words("ru", BY_NAME["medbook_reminders"]) == "Ежедневно в 08:00 по времени Казахстана"
    assert schedule_words("kk", BY_NAME["outbox"]) == "Әр минут сайын"
    assert schedule_words("en", every_five) == "Every 5 minutes" and every_five.cron == "*/5 * * * *"
    assert BY_NAME["campaign_daily"].cron == "30 19 * * *"  # 00:30 in Kazakhstan is 19:30 UTC
