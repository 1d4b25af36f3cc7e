"""Journeys 7 and 11 of JOURNEYS.md in a real browser, over one demo server, as the people in them do them in the
pages (the clinic's MIS posts signed FHIR bundles, as an MIS does):

7. (kk) the demo citizen's stool test is positive: her clearance is suspended at once, her employer sees it, her
   old seal reads SUSPENDED, the PHC clinic she is referred to acknowledges the referral; after a negative control
   and a new exam the therapist grants clearance again; the history keeps all of it.
11. (en) the cook, cleared at the demo clinic for a school canteen, moves to an individual entrepreneur's café; a
   second clinic's responsible therapist finds her book by IIN with a purpose, starts an examination, records the
   job change and the exams and grants clearance; the book keeps both jobs; the café sees her status, the school
   no longer does.
7 again. (ru, en) an active diagnosis from the MIS suspends the cook the same way; the café sees it.

Each journey's outcome is also read in the other two page languages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from emhana.medbook.labels import item_label
from tests.builders.journey_pages import (
    CITIZEN,
    EMPLOYER,
    LANGS,
    SCHOOL,
    THERAPIST,
    Tabs,
    decide,
    dmy,
    find_book,
    issue_book,
    record,
    seal_of,
    send_scope,
    serve_journeys,
    sign_own,
    t,
    verify,
)
from tests.builders.journeys import (
    CAFE,
    CAFE_IIN,
    COOK,
    PHC_REGISTRAR,
    THERAPIST_2,
    JourneyWorld,
    diagnosis,
    local_today,
    mis_token,
    post_results,
    result,
)

pytestmark = pytest.mark.browser

CAFE_JOB = ("повар", "повар-кондитер", "Кафе «Жібек жолы»")  # profession, position, workplace
SUSPENDED_SEAL = "No seal: the clearance for work is suspended until the controls are negative."


@pytest.fixture(scope="module")
def journeys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, JourneyWorld]]:
    with serve_journeys(tmp_path_factory.mktemp("journeys-moves")) as served:
        yield served


@pytest.fixture(scope="module")
def tab(browser: Any, journeys: tuple[str, JourneyWorld]) -> Iterator[Tabs]:
    tabs = Tabs(browser, journeys[0])
    yield tabs
    tabs.close()


@pytest.fixture(scope="module")
def story() -> dict[str, Any]:
    """What one journey leaves for the next: the MIS's token, the cook's seal."""
    return {}


# --- 7. An infection is found (kk) ----------------------------------------------------------------------------


def test_journey_7_an_infection_suspends_and_a_new_clearance_follows(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, w = journeys
    citizen = tab(CITIZEN)
    old_seal, _, _ = seal_of(citizen, base, "kk")
    token = story["mis"] = mis_token(base)
    yesterday, today = local_today() - dt.timedelta(days=1), local_today()
    post_results(base, token, w, [result(w.citizen.iin, "lab_result", "intestinal_carriage", yesterday, positive=True)])

    # At once: her book says suspended and where she is referred; no seal; her employer sees it.
    citizen.goto(f"{base}/medbook/my?lang=kk")
    book = citizen.locator("article.medbook")
    expect(book.locator(".medbook-clearance")).to_contain_text("Допуск приостановлен")  # her book is in Russian
    expect(book.locator(".referral")).to_have_text(f"Направлено в {w.receiving_clinic}")
    expect(citizen.locator("section.medbook-seal svg")).to_have_count(0)
    expect(citizen.locator("section.medbook-seal")).to_contain_text(t("kk", SUSPENDED_SEAL))
    employer = tab(EMPLOYER)
    employer.goto(f"{base}/medbook/workers?lang=kk")
    row = employer.locator("table.medbook-workers tbody tr", has_text=w.citizen.surname)
    expect(row).to_contain_text(t("kk", "Clearance suspended"))
    expect(row).not_to_contain_text(item_label("intestinal_carriage").in_language("kk"))  # status only
    checker = tab("")
    assert verify(checker, base, "kk", text=old_seal) == "SUSPENDED"
    expect(checker.locator("#verdict h2")).to_contain_text(t("kk", "Clearance suspended"))

    # The clinic she is referred to sees the referral and acknowledges it.
    clinic = tab(PHC_REGISTRAR)
    clinic.goto(f"{base}/medbook/referrals?lang=kk")
    line = clinic.locator("#incoming-referrals tbody tr", has_text=w.citizen.surname)
    expect(line).to_contain_text(item_label("intestinal_carriage").in_language("kk"))
    expect(line).to_contain_text(w.clinic_kk)
    with clinic.expect_navigation():
        line.get_by_role("button", name=t("kk", "Acknowledge")).click()
    expect(clinic.locator("p.notice")).to_have_text(
        t("kk", "The referral is acknowledged; the worker and the referring organization are told.")
    )
    expect(line).to_contain_text(t("kk", "Acknowledged on %(day)s", day=dmy(today)))

    # A negative control from the MIS, a new exam at the desk, and clearance again.
    post_results(base, token, w, [result(w.citizen.iin, "lab_result", "intestinal_carriage", today)])
    therapist = tab(THERAPIST)
    find_book(therapist, base, w.citizen.iin, "examination after treatment", "kk")
    record(therapist, "kk", "specialist_exam", "therapist", "normal")
    decide(therapist, "kk", "Cleared for work")
    sign_own(therapist, "kk")
    expect(therapist.locator("article.medbook .medbook-clearance")).to_contain_text("Допущен к работе")
    journal = therapist.locator("table.medbook-journal")
    expect(journal.locator("tr", has_text="Допуск приостановлен")).not_to_have_count(0)  # the history keeps all
    carriage = journal.locator("tr", has_text=item_label("intestinal_carriage").in_language("ru"))
    expect(carriage.filter(has_text="положительный")).to_have_count(1)
    expect(carriage.filter(has_text="отрицательный")).to_have_count(2)  # before and after
    expect(journal).to_contain_text(f"Принято: {w.receiving_clinic}, {dmy(today)}")
    new_seal, _, _ = seal_of(citizen, base, "kk")
    assert verify(checker, base, "kk", text=new_seal) == "VALID"
    clinic.goto(f"{base}/medbook/referrals?lang=kk")
    expect(clinic.locator("#incoming-referrals tbody tr", has_text=w.citizen.surname)).to_contain_text(
        t("kk", "Closed: clearance granted again")
    )
    for lang in ("ru", "en"):
        employer.goto(f"{base}/medbook/workers?lang={lang}")
        row = employer.locator("table.medbook-workers tbody tr", has_text=w.citizen.surname)
        expect(row).to_contain_text(t(lang, "Cleared for work"))
        clinic.goto(f"{base}/medbook/referrals?lang={lang}")
        expect(clinic.locator("#incoming-referrals")).to_contain_text(t(lang, "Closed: clearance granted again"))
        assert verify(checker, base, lang, text=old_seal) == "SUSPENDED"
        expect(checker.locator("#verdict h2")).to_contain_text(t(lang, "Clearance suspended"))


# --- 11. A worker changes job and clinic (en) -----------------------------------------------------------------


def test_journey_11_the_cook_changes_job_and_clinic(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, w = journeys
    # Before: the cook was cleared at the demo clinic for the school canteen (journey 5).
    first = tab(THERAPIST)
    send_scope(first, base, mis_token(base), w, issue_book(first, base, w.cook.iin), local_today())
    decide(first, "ru", "Cleared for work")
    sign_own(first, "ru")
    school = tab(EMPLOYER)
    school.goto(f"{base}/medbook/workers?lang=en")
    expect(school.locator("table.medbook-workers tbody tr", has_text=w.cook.surname)).to_contain_text(
        t("en", "Cleared for work")
    )

    page = tab(THERAPIST_2)
    find_book(page, base, w.cook.iin, "periodic examination at a new job", "en")
    expect(page.locator("article.medbook")).to_contain_text(SCHOOL[2])
    page.get_by_label(t("en", "Kind of examination")).select_option(label=t("en", "Periodic examination"))
    page.get_by_label(t("en", "Purpose of the examination")).fill("periodic examination at a new job")
    with page.expect_navigation():
        page.get_by_role("button", name=t("en", "Start an examination")).click()
    book_url = page.url.split("?")[0]
    assert re.search(r"/medbook/desk/books/\d+$", book_url), page.url

    with page.expect_navigation():
        page.get_by_role("link", name=t("en", "Jobs: record a job change or a second job")).click()
    page.get_by_label(t("en", "Profession")).fill(CAFE_JOB[0])
    page.get_by_label(t("en", "Position")).fill(CAFE_JOB[1])
    page.get_by_label(t("en", "Workplace")).fill(CAFE_JOB[2])
    page.get_by_label(t("en", "Employer's BIN, or IIN of an individual entrepreneur")).fill(CAFE_IIN)
    page.get_by_label(t("en", "Decreed group")).select_option(label="Public catering")
    page.get_by_label(t("en", "Works there since")).fill(local_today().isoformat())  # the school job began today
    with page.expect_navigation():
        page.get_by_role("button", name=t("en", "Record the job")).click()
    assert page.locator("p.alert").count() == 0, page.locator("p.alert").all_inner_texts()
    expect(page.locator("p.notice")).to_have_text(t("en", "The job is recorded in the employment history."))

    # The new clinic's exams, and clearance there, signed by its responsible therapist.
    page.goto(f"{book_url}?lang=en")
    for item in ("therapist", "dermatovenerologist"):
        record(page, "en", "specialist_exam", item, "normal")
    decide(page, "en", "Cleared for work")
    sign_own(page, "en")
    book = page.locator("article.medbook")
    expect(book.locator(".medbook-clearance")).to_contain_text("Допущен к работе")
    expect(book.locator("tr.job")).to_have_count(2)
    expect(book.locator("tr.job-current")).to_contain_text(CAFE_JOB[2])
    expect(book.locator("tr.job-current")).to_contain_text(CAFE_IIN)
    expect(book.locator("tr.job-ended")).to_contain_text(SCHOOL[2])
    journal = book.locator("table.medbook-journal")
    expect(journal.locator("tr", has_text="Demo responsible therapist 2")).to_have_count(3)  # two exams, clearance

    cafe = tab(CAFE)
    for lang in LANGS:
        cafe.goto(f"{base}/medbook/workers?lang={lang}")
        row = cafe.locator("table.medbook-workers tbody tr", has_text=w.cook.surname)
        expect(row).to_contain_text(t(lang, "Cleared for work"))
        expect(row).to_contain_text(CAFE_JOB[1])
        school.goto(f"{base}/medbook/workers?lang={lang}")
        expect(school.locator("table.medbook-workers tbody tr", has_text=w.cook.surname)).to_have_count(0)
        page.goto(f"{book_url}/jobs?lang={lang}")
        rows = page.locator("table.medbook-jobs-table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text(t(lang, "Current job"))
        expect(rows.nth(1)).to_contain_text(t(lang, "Ended"))
    cook = tab(COOK)
    seal, _, _ = seal_of(cook, base, "en")
    expect(cook.locator("article.medbook tr.job")).to_have_count(2)
    expect(cook.locator("section.medbook-reads")).to_contain_text(w.second_clinic)
    expect(cook.locator("section.medbook-reads")).to_contain_text("periodic examination at a new job")
    assert verify(tab(""), base, "en", text=seal) == "VALID"
    story["seal"] = seal


def test_journey_11_the_new_clinic_seals_the_clearance_it_granted(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, w = journeys
    assert "seal" in story, "journey 11 left no seal"
    checker = tab("")
    assert verify(checker, base, "ru", text=story["seal"]) == "VALID"
    expect(checker.locator("#claims")).to_contain_text(w.second_clinic)  # the clinic that cleared her
    expect(checker.locator("#claims")).not_to_contain_text(w.clinic)


# --- 7 again. An active diagnosis (ru, en) --------------------------------------------------------------------


def test_journey_7_an_active_diagnosis_from_the_mis_suspends_the_cook(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, w = journeys
    assert "seal" in story, "journey 11 left no seal"
    post_results(base, story.get("mis") or mis_token(base), w, [diagnosis(w.cook.iin, "A15.0", local_today())])
    cook, cafe, checker = tab(COOK), tab(CAFE), tab("")
    for lang in ("ru", "en"):
        cook.goto(f"{base}/medbook/my?lang={lang}")
        book = cook.locator("article.medbook")
        expect(book.locator(".medbook-clearance")).to_contain_text("Допуск приостановлен")
        expect(book.locator(".diagnosis-active")).to_have_text("Активный диагноз")
        expect(book.locator(".referral")).to_have_text(f"Направлено в {w.cook_receiving_clinic}")
        expect(cook.locator("section.medbook-seal")).to_contain_text(t(lang, SUSPENDED_SEAL))
        cafe.goto(f"{base}/medbook/workers?lang={lang}")
        row = cafe.locator("table.medbook-workers tbody tr", has_text=w.cook.surname)
        expect(row).to_contain_text(t(lang, "Clearance suspended"))
        expect(row).not_to_contain_text("A15")
        assert verify(checker, base, lang, text=story["seal"]) == "SUSPENDED"
        expect(checker.locator("#verdict h2")).to_contain_text(t(lang, "Clearance suspended"))
