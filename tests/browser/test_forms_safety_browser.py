"""Pages that keep a browser on HTML pages in a real chromium: a language switch after a refused form, a login that
returns to the page asked for, the Fund's dashboard labels readable in kk, ru and en, and /docs and /redoc with
no network beyond the local server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from emhana.kernel.clock import KZ_TIME
from tests.builders.browser import PASSWORD, USERNAME, seed
from tests.builders.servers import serve

pytestmark = pytest.mark.browser

NOW = dt.datetime(2025, 9, 20, 10, 0, tzinfo=KZ_TIME)
LONG_RU = (
    "Коммунальное государственное предприятие на праве хозяйственного ведения «Городская поликлиника №5» "
    "управления общественного здравоохранения акимата города Астаны"
)
LONG_KK = (
    "Астана қаласы әкімдігінің қоғамдық денсаулық сақтау басқармасының шаруашылық жүргізу құқығындағы "
    "«№5 қалалық емхана» мемлекеттік коммуналдық кәсіпорны"
)
REASONS = {  # the counted automatic refusal, by its name in each language, never its code
    "kk": "Адам осы учаскеге бекітілген.",
    "ru": "Человек уже прикреплён к этому участку.",
    "en": "The person is already attached to this district.",
}


def seed_history(url: str) -> None:
    """Add the policies, an entity with a long official name, three people who moved to it from polyclinic No. 3
    in the 2025 campaign, and automatic refusals counted as "already attached"."""
    from sqlalchemy import select

    from emhana.accounts.models import Account
    from emhana.accounts.roles import Role
    from emhana.accounts.service import actor_of
    from emhana.attachment.application.refusals import add
    from emhana.attachment.campaign.policy import seed_default_policies
    from emhana.attachment.models import Application, Attachment
    from emhana.facilities.service import apply_records, get_entity_by_bin
    from emhana.identity.models import Person
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from tests.builders.facilities import entity_record, site_record

    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            seed_default_policies(s)
            fund = s.scalars(select(Account).where(Account.username == USERNAME)).one()
            assert fund.role == Role.FUND_ADMIN.value
            apply_records(
                session=s,
                actor=actor_of(fund),
                records=[
                    entity_record(
                        "160340001239",
                        name_ru=LONG_RU,
                        name_kk=LONG_KK,
                        licence_number="KZ77LAA00005555",
                        sites=[site_record("L1", name_ru="Поликлиника №5", name_kk="№5 емхана")],
                    )
                ],
            )
            old, new = (get_entity_by_bin(session=s, bin_=b) for b in ("150340001236", "160340001239"))
            for i, iin in enumerate(("900101300011", "900101300022", "900101300033")):
                person = Person(
                    iin=iin, surname="Тест", given_name=f"Адам{i}", birth_date=dt.date(1990, 1, 1), sex="male"
                )
                person.category = "citizen"
                s.add(person)
                s.flush()
                site, district = old.sites[0], old.sites[0].districts[0]
                s.add(
                    Attachment(
                        person_id=person.id,
                        entity_id=old.id,
                        site_id=site.id,
                        district_id=district.id,
                        place_basis="residence_permanent",
                        cause="first",
                        begin_date=dt.date(2020, 1, 1),
                        end_date=dt.date(2025, 12, 31),
                        end_reason="transfer",
                        decided_on=dt.date(2019, 12, 1),
                    )
                )
                s.flush()
                site, district = new.sites[0], new.sites[0].districts[0]
                application = Application(
                    person_id=person.id,
                    applicant_person_id=person.id,
                    channel="egov",
                    entity_id=new.id,
                    site_id=site.id,
                    district_id=district.id,
                    place_basis="residence_permanent",
                    state="approved",
                    submitted_at=NOW,
                    filed_on=NOW.date(),
                    deadline=NOW + dt.timedelta(days=1),
                    decided_at=NOW,
                )
                s.add(application)
                s.flush()
                s.add(
                    Attachment(
                        person_id=person.id,
                        entity_id=new.id,
                        site_id=site.id,
                        district_id=district.id,
                        place_basis="residence_permanent",
                        cause="voluntary_change",
                        begin_date=dt.date(2026, 1, 1),
                        application_id=application.id,
                        decided_on=NOW.date(),
                    )
                )
        with engine.begin() as conn:
            add(
                conn,
                [
                    {
                        "campaign_year": 2025,
                        "day": NOW.date(),
                        "reason_code": "attachment.already_attached",
                        "channel": "egov",
                        "count": 4,
                    }
                ],
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def history_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from emhana.app import create_app
    from emhana.kernel import clock
    from emhana.kernel.config import Settings
    from emhana.kernel.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('forms') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    seed_history(url)
    with clock.use(clock.Fixed(NOW)):
        with serve(create_app(Settings(database_url=url)), "uvicorn-forms") as base:
            yield base


LINES = "t => [...t.querySelectorAll('tspan')].map(s => s.textContent).join(' ')"  # a wrapped label's lines


def no_json(page: Any) -> None:
    """The page in the tab is an HTML page, not a raw problem+json."""
    assert page.evaluate("document.contentType") == "text/html"
    assert page.locator("header.site-header").count() == 1


def test_language_switch_after_a_refused_login_and_login_returns_to_the_page(history_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    base = history_server
    # A page that needs a login sends to the login form, which says why.
    page.goto(f"{base}/attachment/dashboard?year=2025&lang=ru")
    expect(page).to_have_url(f"{base}/login?next=%2Fattachment%2Fdashboard%3Fyear%3D2025")
    expect(page.locator("#login-notice")).to_have_text("Войдите, чтобы увидеть эту страницу.")
    # A wrong password: the refused form is rendered at POST /login; the language links lead to a GET page.
    page.get_by_label("Имя пользователя").fill(USERNAME)
    page.get_by_label("Пароль").fill("wrong")
    page.get_by_role("button", name="Войти", exact=True).click()
    expect(page.locator("#login-error")).to_be_visible()
    page.get_by_role("navigation", name="Язык").get_by_role("link", name="Қазақша").click()
    no_json(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Кіру")
    page.reload()
    no_json(page)
    # The form still brings the person to the page first asked for.
    page.get_by_label("Пайдаланушы аты").fill(USERNAME)
    page.get_by_label("Құпиясөз").fill(PASSWORD)
    page.get_by_role("button", name="Кіру", exact=True).click()
    expect(page).to_have_url(f"{base}/attachment/dashboard?year=2025")
    # A URL that only receives forms, opened by a browser: an HTML page in the person's language.
    page.goto(f"{base}/logout")
    no_json(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Сұрау қабылданбады")


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_dashboard_labels_are_names_that_fit(history_server: str, page: Any, lang: str) -> None:
    from playwright.sync_api import expect

    base = history_server
    page.goto(f"{base}/login?next=/attachment/dashboard%3Fyear%3D2025&lang={lang}")
    page.locator("#username").fill(USERNAME)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.locator("#refusals-title")).to_be_visible()
    refusals = page.locator("#refusals-title ~ svg.chart")
    expect(refusals).to_contain_text(REASONS[lang])
    assert "attachment." not in page.locator("main").inner_text()
    flows = page.locator("#flows-title ~ svg.chart")
    long_name = LONG_KK if lang == "kk" else LONG_RU
    assert long_name in " ".join(flows.locator("text.label").first.evaluate(LINES).split())
    # Every label lies inside its drawing: nothing is cut off at the right edge.
    outside = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart')].flatMap(svg => {
             const box = svg.getBoundingClientRect();
             return [...svg.querySelectorAll('text')].filter(t => {
               const r = t.getBoundingClientRect();
               return r.right > box.right + 1 || r.left < box.left - 1;
             }).map(t => t.textContent);
           })"""
    )
    assert outside == []
    page.screenshot(path=f"/tmp/emhana-dashboard-labels-{lang}.png", full_page=True)


def test_api_docs_work_without_network(history_server: str, browser: Any) -> None:
    from playwright.sync_api import expect

    base = history_server
    context = browser.new_context()
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    try:
        tab.goto(f"{base}/docs")
        expect(tab.locator(".opblock").first).to_be_visible(timeout=30_000)
        assert tab.locator(".opblock").count() > 20  # the operations are rendered, not a blank page
        tab.goto(f"{base}/redoc")
        # ReDoc lays out the whole API in the page's script: seconds on a busy machine (5 s, expect's default,
        # was not always enough while the other test worker ran)
        expect(tab.get_by_text("/api/v1/ping").first).to_be_attached(timeout=30_000)
        assert outside == []
    finally:
        context.close()
