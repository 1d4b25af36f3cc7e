"""The demo walks: a fresh demo seeded as `emhana demo` seeds it (demo_day, seed, the banner's starting points, the
ticking demo clock), served, and journeys 1-4 and 10 of JOURNEYS.md walked through its pages only — the test never
reads or writes the database; what it needs to start from (names, an IIN, an organization) it reads in the printed
banner, as a person would.

Steps whose page is not in the tree yet skip with "waiting for <page>" in that step only (a 404 at their URL)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emhana.kernel.i18n import gettext_for
from tests.builders.browser import login

pytestmark = pytest.mark.browser

POPULATION = 2_000  # the same code path as `make demo`'s 10,000, smaller


def t(msgid: str, lang: str = "en") -> str:
    """A catalogue message as the pages show it."""
    return gettext_for(lang, msgid)


@dataclass(frozen=True)
class Demo:
    base: str
    day: dt.date
    banner: list[str]
    pensioner_iin: str
    pensioner: str
    infant: str
    excludable_id: int | None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Seed and serve a demo exactly as `emhana demo` does, on its own clock."""
    from emhana.app import create_app
    from emhana.devtools.demo import banner, demo_day, seed, server_settings, start_clock
    from emhana.devtools.generator import run_with_progress
    from tests.builders.servers import serve

    folder: Path = tmp_path_factory.mktemp("demo-walk")
    url = f"sqlite:///{folder / 'emhana.db'}"
    day = demo_day(url)
    seed(url, population=POPULATION, seed_value=1, generate=run_with_progress, today=day)
    with start_clock(day):
        with serve(create_app(server_settings(url)), "uvicorn-demo-walk") as base:
            lines = banner(url, base, day)  # what `emhana demo` prints: the walk starts from there
            text = "\n".join(lines)
            pensioner = re.search(r"pensioner (.+?) \(\d+\), IIN (\d{12})", text)
            infant = re.search(r"for the child (.+?) \(\d+\) by actual residence", text)
            entity = re.search(r"/fund/entities/(\d+)", text)
            assert pensioner and infant, text
            yield Demo(
                base,
                day,
                lines,
                pensioner.group(2),
                pensioner.group(1),
                infant.group(1),
                int(entity.group(1)) if entity else None,
            )


def tab(browser: Any, demo: Demo, username: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    login(page, demo.base, username)
    return page


def present(page: Any, url: str, waiting_for: str) -> Any:
    """Open a page of a step; skip the step while the page is not in the tree yet (another helper builds it)."""
    response = page.goto(url)
    if response is not None and response.status == 404:
        pytest.skip(f"waiting for {waiting_for}")
    return response


def test_the_demo_banner_and_strip_show_the_clock_inside_an_open_campaign(demo: Demo, browser: Any) -> None:
    from playwright.sync_api import expect

    assert demo.banner[0].startswith(f"Demo clock: {demo.day:%A %d.%m.%Y}")
    assert "(open)" in demo.banner[1]
    assert demo.pensioner_iin and re.fullmatch(r"\d{12}", demo.pensioner_iin)
    page = tab(browser, demo, "demo-citizen")
    strip = page.locator(".demo-banner .demo-clock")
    expect(strip).to_contain_text(f"{demo.day:%d.%m.%Y}")
    page.context.close()


def test_1_a_resident_applies_to_a_clinic_near_her_and_gets_a_decision(demo: Demo, browser: Any) -> None:
    from playwright.sync_api import expect

    page = tab(browser, demo, "demo-citizen")
    page.goto(f"{demo.base}/attachment/my?lang=en")
    mine = page.locator("main").inner_text()
    page.goto(f"{demo.base}/attachment/clinics?origin=permanent&lang=en")
    clinics = page.locator(".near-results .clinic")
    expect(clinics.first).to_be_visible()
    others = [i for i in range(clinics.count()) if clinics.nth(i).locator(".meta").inner_text() not in mine]
    assert others, "no participating clinic of another organization near her registration address"
    clinic = clinics.nth(others[0])
    clinic.locator("a.district-option").filter(has_not_text=t("Pediatrician")).first.click()
    expect(page.locator("#chosen-title")).to_be_visible()
    page.locator("#place_basis").select_option("residence_permanent")
    page.locator("#apply-form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/attachment/applications/\d+"))
    expect(page.locator("#state-title")).to_have_text(t("Approved"))  # the same working day: at once
    effect = t("The attachment takes effect on %(day)s.") % {"day": f"01.01.{demo.day.year + 1}"}
    expect(page.locator("main")).to_contain_text(effect)  # a transfer takes effect on 1 January
    href = page.locator("#notice-link").get_attribute("href")
    notice = page.request.get(f"{demo.base}{href}")  # the signed notice with the clinic's seal
    assert notice.ok and notice.headers["content-type"].startswith("application/pdf")
    page.context.close()


def test_2_a_parent_applies_for_her_child_under_5_and_a_neighbour_is_refused(demo: Demo, browser: Any) -> None:
    from playwright.sync_api import expect

    page = tab(browser, demo, "demo-citizen")
    page.goto(f"{demo.base}/attachment/clinics?origin=actual&lang=en")
    child = page.locator("#person option", has_text=demo.infant)  # the banner names the child under 5
    child_id = child.get_attribute("value")
    assert child_id
    page.goto(f"{demo.base}/attachment/clinics?origin=actual&person={child_id}&profile=pediatric&lang=en")
    option = page.locator(".near-results a.district-option").first
    expect(option).to_be_visible()
    option.click()
    expect(page.locator("#person_id")).to_have_value(child_id)
    page.locator("#place_basis").select_option("actual_residence")  # a child under 5
    page.locator("#apply-form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/attachment/applications/\d+"))
    expect(page.locator("#state-title")).to_have_text(t("Approved"))
    apply_url = page.url
    page.context.close()

    neighbour = tab(browser, demo, "demo-neighbour")
    neighbour.goto(f"{demo.base}/attachment/clinics?origin=permanent&lang=en")
    neighbour.locator(".near-results a.district-option").first.click()
    neighbour.locator("#person_id").evaluate(
        "(select, id) => { select.add(new Option('', id, true, true)); }", child_id
    )  # a crafted form: the child is not hers to choose
    neighbour.locator("#apply-form button[type=submit]").first.click()
    refusal = t("An application for a minor or for another person must come from a valid legal representative.")
    expect(neighbour.locator("main")).to_contain_text(refusal)
    neighbour.goto(apply_url)
    expect(neighbour.locator("main")).not_to_contain_text(t("Approved"))  # someone else's: a not-found page
    neighbour.context.close()


def test_3_the_registrar_records_a_written_application_and_approves_it_from_the_queue(demo: Demo, browser: Any) -> None:
    from playwright.sync_api import expect

    page = tab(browser, demo, "demo-registrar")
    page.goto(f"{demo.base}/attachment/record?lang=en")
    page.locator("#iin").fill(demo.pensioner_iin)
    page.locator("form[action='/attachment/record/lookup'] button[type=submit]").click()
    form = page.locator("form.record-form")
    expect(form).to_be_visible()
    form.locator("input[name=channel][value=written]").check()
    adult = form.locator("#district_id option").filter(has_not_text=t("Pediatrician")).first
    form.locator("#district_id").select_option(adult.get_attribute("value"))
    scan = {"name": "application.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 written application"}
    for i, (kind, number) in enumerate(
        (("written_application", "W-1"), ("pension_certificate", "P-2027-15"), ("id_card", "012345678"))
    ):
        form.locator(f"select[name=doc_kind_{i}]").select_option(kind)
        form.locator(f"input[name=doc_number_{i}]").fill(number)
        if i == 0:
            form.locator(f"input[name=doc_file_{i}]").set_input_files(scan)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/attachment/applications/\d+"))
    application = page.url

    page.goto(f"{demo.base}/attachment/queue?lang=en")
    row = page.locator("table.queue tbody tr", has_text=demo.pensioner)
    expect(row).to_have_count(1)
    row.get_by_role("link").first.click()
    page.locator("input[name=decision][value=approve]").check()
    page.locator("#note").fill("Documents checked")
    page.locator("form.decide-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/attachment/queue"))
    page.goto(application)
    expect(page.locator("#state-title")).to_have_text(t("Approved"))
    page.context.close()


def test_4_the_fund_excludes_an_organization_and_sees_its_people_redistributed(demo: Demo, browser: Any) -> None:
    from playwright.sync_api import expect

    assert demo.excludable_id is not None
    page = tab(browser, demo, "demo-fund-admin")
    present(page, f"{demo.base}/fund/entities/{demo.excludable_id}?lang=en", "the Fund's exclusion page (H-fund)")
    page.locator("input[name=status][value=excluded]").check()
    page.locator("#effective_from").fill(f"{demo.day:%Y-%m-%d}")  # from today: no longer offered in the search
    page.locator("#reason").fill("Licence revoked")
    page.locator("#reason").press("Enter")
    page.wait_for_url(re.compile(rf"/fund/entities/{demo.excludable_id}/redistribution"))
    expect(page.locator("#exclusion")).to_contain_text("Licence revoked")
    assert int(page.locator("#moved").inner_text().replace("\xa0", "").replace(" ", "")) > 0
    expect(page.locator("#unplaced")).to_have_text("0")  # nobody left without a clinic
    expect(page.locator("table.redistribution-entities tbody tr").first).to_be_visible()  # where they went
    page.context.close()


def test_10_the_fund_reads_the_campaign_and_takes_a_capitation_snapshot(demo: Demo, browser: Any) -> None:
    from playwright.sync_api import expect

    page = tab(browser, demo, "demo-fund-admin")
    page.goto(f"{demo.base}/attachment/dashboard?lang=en")
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(demo.day.year))
    for title in ("Applications per day", "Flows between organizations", "Refusals by reason"):
        expect(page.get_by_role("img", name=t(title))).to_be_visible()
    refusals = page.locator("table.refusals tbody tr")
    assert refusals.count() >= 5  # automatic refusals by reason and the registrars', each by name
    expect(page.locator("table.refusals")).not_to_contain_text("attachment.")
    present(page, f"{demo.base}/attachment/snapshots/new?lang=en", "the capitation snapshot page (H-fund)")
    page.locator("main form[method=post] button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/attachment/snapshots/\d+"))
    with page.expect_download() as download:
        page.locator("a[href$='.csv']").first.click()
    assert download.value.suggested_filename.endswith(".csv")
    page.context.close()
