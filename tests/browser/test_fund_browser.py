"""The Fund's steps of issue 16 in a real browser, in kk, ru and en:

- journey 4: the Fund excludes a clinic from the database from today with a reason, lands on the redistribution it
  caused (how many people moved and where to) and the clinic leaves the public directory's search;
- journey 10's end: the Fund takes a capitation snapshot on a page and downloads its two CSV exports;
- B-02: the Fund publishes the list of participating entities for a campaign; a second publication is a new
  version and the public sees both, with their publication dates.

The server's clock stands on 16 December 2025, after the 2025 campaign period."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emhana.kernel.clock import KZ_TIME
from tests.builders.browser import PASSWORD, USERNAME, seed
from tests.builders.servers import serve

pytestmark = pytest.mark.browser

TODAY = dt.datetime(2025, 12, 16, 10, 0, tzinfo=KZ_TIME)
CLOSING_BIN = "050440003344"
CLOSING_RU = "ТОО «Закрываемая клиника»"
CLOSING_KK = "«Жабылатын емхана» ЖШС"
PEOPLE = 3


def seed_closing_clinic(url: str) -> None:
    """Add the campaign policies and a clinic in Astana with three people attached to it."""
    from sqlalchemy import select

    from emhana.attachment.campaign.policy import seed_default_policies
    from emhana.attachment.models import Attachment
    from emhana.facilities.io import DistrictRecord
    from emhana.facilities.models import District, Site
    from emhana.facilities.service import apply_records, get_entity_by_bin
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from tests.builders.facilities import entity_record, site_record
    from tests.builders.people import add_person

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        with unit_of_work(sessions) as s:
            seed_default_policies(s)
            apply_records(
                session=s,
                actor=None,
                records=[
                    entity_record(
                        CLOSING_BIN,
                        name_ru=CLOSING_RU,
                        name_kk=CLOSING_KK,
                        licence_number="KZ77LAA00007777",
                        sites=[site_record("Z1", lat=51.13, lon=71.44, districts=[DistrictRecord("gp", 1, 50)])],
                    )
                ],
            )
        people = [add_person(sessions, born=dt.date(1980 + i, 5, 1)) for i in range(PEOPLE)]
        with unit_of_work(sessions) as s:
            entity = get_entity_by_bin(session=s, bin_=CLOSING_BIN)
            site_id, district_id = s.execute(
                select(Site.id, District.id)
                .join(District, District.site_id == Site.id)
                .where(Site.entity_id == entity.id)
            ).one()
            for pid in people:
                s.add(
                    Attachment(
                        person_id=pid,
                        entity_id=entity.id,
                        site_id=site_id,
                        district_id=district_id,
                        place_basis="residence_permanent",
                        cause="first_attachment",
                        begin_date=dt.date(2024, 1, 1),
                        decided_on=dt.date(2023, 12, 1),
                    )
                )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def fund_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from emhana.app import create_app
    from emhana.kernel import clock
    from emhana.kernel.config import Settings
    from emhana.kernel.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('fund') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    seed_closing_clinic(url)
    with clock.use(clock.Fixed(TODAY)):
        with serve(create_app(Settings(database_url=url)), "uvicorn-fund") as base:
            yield base


def log_in(page: Any, base: str, lang: str) -> None:
    page.goto(f"{base}/login?lang={lang}")
    page.locator("#username").fill(USERNAME)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[action='/login'] button[type=submit]").click()


def switch(page: Any, lang: str) -> None:
    """Click the language link of the page (the URL keeps the page and its query)."""
    with page.expect_navigation():
        page.locator(f"a[hreflang='{lang}']").first.click()
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("lang", lang)


def test_the_fund_excludes_a_clinic_and_sees_the_redistribution(fund_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    log_in(page, fund_server, "kk")
    page.goto(f"{fund_server}/attachment/dashboard?lang=kk")
    page.get_by_role("link", name="Денсаулық сақтау субъектілері").click()
    page.locator("#q").fill(CLOSING_BIN)
    page.locator("form[role=search] button").click()
    page.get_by_role("link", name=CLOSING_KK).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CLOSING_KK)

    page.get_by_label("Дерекқордан шығару").check()
    page.locator("#effective_from").fill("2025-12-20")
    page.locator("#reason").fill("")
    page.get_by_role("button", name="Шешімді тіркеу").click()
    # the browser's own check stops an empty reason; a reason of spaces reaches the server and is refused
    page.locator("#reason").fill("   ")
    page.get_by_role("button", name="Шешімді тіркеу").click()
    expect(page.locator("#inclusion-error")).to_be_visible()
    expect(page.locator("#effective_from")).to_have_value("2025-12-20")  # the form kept what was typed
    switch(page, "ru")  # the language link of a refused form opens the form again, never a raw 405
    expect(page.get_by_role("heading", level=1)).to_have_text(CLOSING_RU)

    page.get_by_label("Исключить из базы данных").check()
    page.locator("#effective_from").fill("2025-12-16")
    page.locator("#reason").fill("Лицензия отозвана")
    page.get_by_role("button", name="Записать решение").click()
    page.wait_for_url(f"{fund_server}/fund/entities/*/redistribution")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Перераспределение")
    expect(page.locator("#exclusion")).to_contain_text("16.12.2025")
    expect(page.locator("#exclusion")).to_contain_text("Лицензия отозвана")
    expect(page.locator("#moved")).to_have_text(str(PEOPLE))
    expect(page.locator("#still-attached")).to_have_text("0")
    expect(page.locator("table.redistribution-entities tbody tr")).not_to_have_count(0)

    switch(page, "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Redistribution of the people of")
    expect(page.locator("#moved")).to_have_text(str(PEOPLE))
    switch(page, "kk")
    expect(page.get_by_role("heading", level=2).first).to_have_text("Адамдар қайда бөлінді")

    page.goto(f"{fund_server}/facilities?lang=ru&q={CLOSING_BIN}")  # excluded today: gone from the public search
    expect(page.locator("main")).not_to_contain_text(CLOSING_RU)
    page.goto(f"{fund_server}/fund/entities?lang=en&q={CLOSING_BIN}")
    expect(page.locator("table.fund-entities tbody tr").first).to_contain_text("Excluded")


def test_the_fund_takes_a_capitation_snapshot_and_downloads_it(fund_server: str, page: Any) -> None:
    from playwright.sync_api import expect

    log_in(page, fund_server, "ru")
    page.goto(f"{fund_server}/attachment/snapshots?lang=ru")
    page.get_by_role("link", name="Зафиксировать численность прикреплённого населения").click()
    page.locator("#as_of").fill("2030-01-01")
    page.get_by_role("button", name="Зафиксировать").click()
    expect(page.locator("#snapshot-error")).to_be_visible()
    expect(page.locator("#as_of")).to_have_value("2030-01-01")

    page.locator("#as_of").fill("2025-12-16")
    page.get_by_role("button", name="Зафиксировать").click()
    page.wait_for_url(f"{fund_server}/attachment/snapshots/*")
    expect(page.get_by_role("heading", level=1)).to_contain_text("16.12.2025")
    expect(page.locator("#snapshot-total")).to_contain_text(str(PEOPLE))
    expect(page.locator("table.snapshot-counts tbody tr")).to_have_count(2)  # one organization, by sex
    expect(page.locator("table.snapshot-counts tbody")).to_contain_text(CLOSING_RU)

    with page.expect_download() as counts_download:
        page.locator("#export-counts").click()
    counts = list(csv.DictReader(io.StringIO(Path(counts_download.value.path()).read_text(encoding="utf-8"))))
    assert {r["entity_bin"] for r in counts} == {CLOSING_BIN} and sum(int(r["count"]) for r in counts) == PEOPLE
    with page.expect_download() as persons_download:
        page.locator("#export-persons").click()
    persons = list(csv.DictReader(io.StringIO(Path(persons_download.value.path()).read_text(encoding="utf-8"))))
    assert len(persons) == PEOPLE and len({r["person_id"] for r in persons}) == PEOPLE
    assert all(r["as_of"] == "2025-12-16" and r["attachment_id"] for r in persons)

    switch(page, "kk")
    expect(page.get_by_role("heading", level=1)).to_contain_text("бекітілген халық санын тіркеу")
    switch(page, "en")
    expect(page.locator("#export-persons")).to_have_text("Export the persons counted (CSV)")


def test_the_fund_publishes_the_list_of_participants_and_the_public_reads_its_versions(
    fund_server: str, page: Any
) -> None:
    from playwright.sync_api import expect

    log_in(page, fund_server, "en")
    page.goto(f"{fund_server}/fund/participants?lang=en")
    page.locator("#year").select_option("2026")
    page.locator("#published_on").fill("2026-01-05")
    page.get_by_role("button", name="Publish the list").click()
    expect(page.locator("#publish-error")).to_contain_text("the publication date cannot be later than today")
    expect(page.locator("#published_on")).to_have_value("2026-01-05")

    for day in ("2025-12-15", "2025-12-16"):
        expect(page.locator("#year")).to_have_value("2026")  # the next campaign is chosen for the Fund
        page.locator("#published_on").fill(day)
        page.get_by_role("button", name="Publish the list").click()
        page.wait_for_url(f"{fund_server}/fund/participants?year=2026*")
    expect(page.locator("#publish-notice")).to_contain_text("Version 2 of the list for 2026 is published")
    expect(page.locator("table.participant-lists tbody tr")).to_have_count(2)

    page.context.clear_cookies()  # the public list needs no account
    page.goto(f"{fund_server}/participants/2026?lang=ru")
    expect(page.locator("#list-version")).to_contain_text("Версия 2, опубликована 16.12.2025")
    expect(page.locator("table.participants")).to_contain_text("ГКП на ПХВ")
    page.get_by_role("link", name="Версия 1 от 15.12.2025").click()
    expect(page.locator("#list-version")).to_contain_text("Версия 1, опубликована 15.12.2025")
    switch(page, "kk")
    expect(page.get_by_role("heading", level=1)).to_have_text("2026 жылғы бекіту науқанына қатысушы ұйымдар")
    switch(page, "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Participating organizations of the 2026 campaign")
