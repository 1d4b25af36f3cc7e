"""Journeys 5, 6, 8 and 9 of JOURNEYS.md in a real browser, over one demo server, as the people in them do them in
the pages (the clinic's MIS posts signed FHIR bundles, as an MIS does). One cook's story, in file order:

5. (ru) the responsible therapist issues her book in Russian; her results arrive from the MIS; the therapist grants
   clearance and signs it; her page shows the facility's QR seal with its valid-until date.
6. (kk) an inspector uploads the picture of that QR code to the verifier: VALID, her name and birth date, the
   clearance dates and the facility, nothing clinical; an altered copy reads TAMPERED.
8. (en) a clinician corrects a lab result's date with a reason; once signed, the book shows both and the
   difference, the old seal reads SUPERSEDED and the new one VALID.
9. (ru) the cook reads who has read her book: the therapist, the clinician and her employer, when (local time with
   its zone), their organization and why, in words.

Each journey's outcome is also read in the other two page languages. Journeys 7 and 11:
test_medbook_journeys_moves.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from emhana.medbook.labels import PURPOSES, item_label
from tests.builders.journey_pages import (
    CLINICIAN,
    EMPLOYER,
    LANGS,
    SCHOOL,
    THERAPIST,
    Tabs,
    clearance_until,
    decide,
    dmy,
    find_book,
    issue_book,
    seal_of,
    send_scope,
    serve_journeys,
    sign_own,
    t,
    verify,
)
from tests.builders.journeys import COOK, JourneyWorld, altered, local_today, mis_token, post_results, result

pytestmark = pytest.mark.browser

CORRECTING = "correction of a lab result"  # the clinician's stated purpose of her read (journeys 8, 9)


@pytest.fixture(scope="module")
def journeys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, JourneyWorld]]:
    with serve_journeys(tmp_path_factory.mktemp("journeys")) as served:
        yield served


@pytest.fixture(scope="module")
def tab(browser: Any, journeys: tuple[str, JourneyWorld]) -> Iterator[Tabs]:
    tabs = Tabs(browser, journeys[0])
    yield tabs
    tabs.close()


@pytest.fixture(scope="module")
def story() -> dict[str, Any]:
    """What one journey leaves for the next: the cook's book at the desk, her seal."""
    return {}


# --- 5. A cook gets her medical book and clearance (ru) -------------------------------------------------------


def test_journey_5_the_cook_gets_her_book_and_clearance(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, w = journeys
    page = tab(THERAPIST)
    book_url = issue_book(page, base, w.cook.iin)
    expect(page.locator("p.notice")).to_have_text(t("ru", "The personal medical book is issued."))
    book = page.locator("article.medbook")
    for value in (*SCHOOL, w.cook.surname):
        expect(book).to_contain_text(value)
    expect(book.locator(".medbook-clearance")).to_contain_text(t("ru", "No clearance yet"))
    story["book_url"] = book_url

    # Her fluorography, lab tests and specialist exams arrive from the clinic's MIS.
    done = local_today() - dt.timedelta(days=2)
    send_scope(page, base, mis_token(base), w, book_url, done)
    journal = page.locator("table.medbook-journal")
    for _, item in w.required + w.unmapped:
        expect(journal.locator("tr", has_text=item_label(item).in_language("ru"))).to_contain_text(dmy(done))

    # The therapist grants clearance and signs it: then, and only then, the seal.
    decide(page, "ru", "Cleared for work")
    clearance = page.locator("article.medbook .medbook-clearance")
    expect(clearance.locator(".medbook-pending-grant")).to_have_text(
        t(
            "ru",
            "A new clearance of %(day)s is recorded: it takes effect once its clinician signs it.",
            day=dmy(local_today()),
        )
    )
    expect(clearance).not_to_contain_text("Допущен к работе")
    cook = tab(COOK)
    cook.goto(f"{base}/medbook/my?lang=ru")
    expect(cook.locator("section.medbook-seal svg")).to_have_count(0)
    expect(cook.locator("article.medbook .medbook-pending-grant")).to_be_visible()  # she sees it is coming
    sign_own(page, "ru")
    expect(clearance).to_contain_text("Допущен к работе")
    expect(clearance.locator(".medbook-pending-grant")).to_have_count(0)
    until = clearance_until(page)
    assert dt.datetime.strptime(until, "%d.%m.%Y").date() > local_today() + dt.timedelta(days=300)

    text, picture, caption = seal_of(cook, base, "ru")
    assert caption == t("ru", "valid until %(day)s", day=until), caption
    story["seal"], story["picture"], story["valid_until"] = text, picture, until
    # Her book is in Russian, her choice, whatever language the page is read in (C-10).
    for lang in ("kk", "en"):
        cook.goto(f"{base}/medbook/my?lang={lang}")
        expect(cook.get_by_role("heading", level=1)).to_have_text(t(lang, "My medical book"))
        expect(cook.locator("article.medbook")).to_have_attribute("lang", "ru")
        expect(cook.locator("article.medbook .medbook-clearance")).to_contain_text("Допущен к работе")
        expect(cook.locator("section.medbook-seal .seal-valid-until")).to_have_text(
            t(lang, "valid until %(day)s", day=until)
        )


def test_journey_5_the_book_names_what_the_mis_sent_without_codes(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, w = journeys
    assert "book_url" in story, "journey 5 left no book"
    cook = tab(COOK)
    for lang in LANGS:
        cook.goto(f"{base}/medbook/my?lang={lang}")
        journal = cook.locator("article.medbook table.medbook-journal")
        expect(journal).to_contain_text(item_label("intestinal_carriage").in_language("ru"))
        # the item and result cells (the author's column names demo accounts such as "Demo responsible therapist")
        shown = " ".join(
            journal.locator("tbody tr td:nth-child(3)").all_inner_texts()
            + journal.locator("tbody tr td:nth-child(4)").all_inner_texts()
        )
        for code in [item for _, item in w.required] + ["36643-5"]:
            assert code not in shown, (lang, code)


# --- 6. An inspector checks a QR seal (kk) --------------------------------------------------------------------


def test_journey_6_an_inspector_checks_the_cooks_seal(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, w = journeys
    assert "picture" in story, "journey 5 left no seal"
    page = tab("")
    assert verify(page, base, "kk", picture=story["picture"]) == "VALID"
    expect(page.locator("#verdict h2")).to_contain_text(t("kk", "Valid"))
    claims = page.locator("#claims")
    expect(claims).to_contain_text(f"{w.cook.surname} {w.cook.given_name}", ignore_case=True)
    expect(claims).to_contain_text(dmy(w.cook.birth_date))
    expect(claims).to_contain_text(t("kk", "Cleared for work"))
    expect(claims).to_contain_text(story["valid_until"])
    expect(claims).to_contain_text(dmy(local_today()))  # issued today
    expect(claims).to_contain_text(re.compile(f"{re.escape(w.clinic_kk)}|{re.escape(w.clinic)}"))
    shown = claims.inner_text()
    assert w.cook.iin not in shown
    for _, item in w.required + w.unmapped:  # nothing clinical: no test, no exam, no result
        assert all(item_label(item).in_language(lang) not in shown for lang in LANGS), item
    for word in ("теріс", "отрицательн", "negative", "no pathology", "без патологии"):
        assert word not in shown
    for lang in ("ru", "en"):  # the verdict in the other two languages, for a holder who reads another
        expect(page.locator(f"#verdict p.hint[lang={lang}]")).to_contain_text(t(lang, "Valid"))

    assert verify(page, base, "kk", text=altered(story["seal"])) == "TAMPERED"
    expect(page.locator("#verdict h2")).to_contain_text(t("kk", "Altered or forged"))
    expect(page.locator("#claims")).to_have_count(0)
    for lang in ("ru", "en"):
        assert verify(page, base, lang, text=story["seal"]) == "VALID"
        expect(page.locator("#meaning")).to_have_text(
            t(
                lang,
                "The seal was signed by the facility named below, has not been changed, and is in force. "
                "Check that the name and birth date match the holder's identity document.",
            )
        )


# --- 8. A mistake is corrected (en) ---------------------------------------------------------------------------


def test_journey_8_a_clinician_corrects_a_lab_result_date(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, w = journeys
    assert "seal" in story, "journey 5 left no seal"
    page = tab(CLINICIAN)
    find_book(page, base, w.cook.iin, CORRECTING, "en")
    pick = page.locator("ul.medbook-correctable li", has_text=item_label("helminths").in_language("en"))
    expect(pick).to_have_count(1)
    with page.expect_navigation():
        pick.get_by_role("link").click()
    form = page.locator("form#correct")
    expect(form.get_by_label(t("en", "Item"))).to_have_value("helminths")
    wrong = local_today() - dt.timedelta(days=2)
    right = local_today() - dt.timedelta(days=4)
    date = form.get_by_label(t("en", "Date"), exact=True)
    expect(date).to_have_value(wrong.isoformat())
    date.fill(right.isoformat())
    reason = "the sample was taken two days earlier"
    form.get_by_label(t("en", "Reason for the correction (required)")).fill(reason)
    with page.expect_navigation():
        form.get_by_role("button", name=t("en", "Record the correction")).click()
    expect(page.locator("p.notice")).to_have_text(
        t("en", "The correction is recorded; the corrected entry stays in the history.")
    )
    # Unsigned, the correction is pending: the seal still stands.
    assert verify(tab(""), base, "en", text=story["seal"]) == "VALID"
    sign_own(page, "en")
    journal = page.locator("table.medbook-journal")
    expect(journal.locator("tr.superseded", has_text=item_label("helminths").in_language("ru"))).to_have_count(1)
    dated = journal.locator(".correction", has_text=reason).locator("li", has_text="Дата")  # the book is in Russian
    expect(dated.locator("del")).to_have_text(dmy(wrong))
    expect(dated.locator("ins")).to_have_text(dmy(right))

    text, _, _ = seal_of(tab(COOK), base, "en")
    assert text != story["seal"]
    checker = tab("")
    assert verify(checker, base, "en", text=story["seal"]) == "SUPERSEDED"
    expect(checker.locator("#meaning")).to_have_text(
        t("en", "The facility issued a corrected version of this document; ask the holder for the current one.")
    )
    for lang in ("kk", "ru"):
        expect(checker.locator(f"#verdict p.hint[lang={lang}]")).to_contain_text(t(lang, "Replaced by a newer version"))
    assert verify(checker, base, "en", text=text) == "VALID"
    for lang in ("kk", "ru"):
        page.goto(f"{story['book_url']}?lang={lang}")
        expect(page.locator(".correction", has_text=reason).locator("li", has_text="Дата")).to_contain_text(dmy(right))


def test_journey_8_the_difference_shows_only_what_the_clinician_changed(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, _ = journeys
    cook = tab(COOK)
    cook.goto(f"{base}/medbook/my?lang=en")
    changes = cook.locator("article.medbook .correction ul.changes li")
    expect(changes).to_have_count(1)  # the date only
    expect(changes).to_contain_text("Дата")


# --- 9. A worker asks who read her book (ru) ------------------------------------------------------------------


def test_journey_9_the_cook_reads_who_read_her_book(
    journeys: tuple[str, JourneyWorld], tab: Tabs, story: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    base, w = journeys
    employer = tab(EMPLOYER)
    employer.goto(f"{base}/medbook/workers?lang=ru")
    expect(employer.locator("table.medbook-workers tbody tr", has_text=w.cook.surname)).to_contain_text(
        "Допущен к работе"
    )

    cook = tab(COOK)
    cook.goto(f"{base}/medbook/my?lang=ru")
    reads = cook.locator("section.medbook-reads table.reads")
    expect(reads.locator("thead")).to_contain_text(t("ru", "When (Kazakhstan time, UTC+5)"))
    for who, organization, why in (
        ("Demo responsible therapist", w.clinic, t("ru", "medical examination")),
        ("Demo clinician", w.clinic, CORRECTING),
        ("Demo employer", "", t("ru", "employer: clearance status")),
    ):
        lines = reads.locator("tbody tr", has_text=who)
        expect(lines.first).to_be_visible()
        line = lines.filter(has_text=why)
        expect(line).to_have_count(1)
        expect(line.locator("td").nth(0)).to_have_text(re.compile(r"^\d\d\.\d\d\.\d{4},? \d\d:\d\d UTC\+5$"))
        if organization:
            expect(line.locator("td").nth(2)).to_have_text(organization)
    # The purpose in words in every language: a label of the catalogue, or what a clinician typed, never a code.
    for lang in LANGS:
        cook.goto(f"{base}/medbook/my?lang={lang}")
        table = cook.locator("section.medbook-reads table.reads")
        expect(table.locator("thead")).to_contain_text(t(lang, "Who"))
        words = {t(lang, label) for label in PURPOSES.values()} | {CORRECTING}
        purposes = table.locator("tbody tr td:nth-child(5)").all_inner_texts()
        assert purposes and all(p.strip() in words for p in purposes), (lang, purposes)
        roles = table.locator("tbody tr td:nth-child(4)").all_inner_texts()
        assert t(lang, "Responsible therapist") in roles and not any("_" in r for r in roles), roles


def test_journey_9_the_employers_read_names_the_employer(journeys: tuple[str, JourneyWorld], tab: Tabs) -> None:
    from playwright.sync_api import expect

    base, _ = journeys
    cook = tab(COOK)
    cook.goto(f"{base}/medbook/my?lang=ru")
    line = cook.locator("section.medbook-reads tbody tr", has_text="Demo employer").first
    expect(line.locator("td").nth(2)).not_to_have_text("")


def test_journey_5_the_mis_can_send_every_item_the_group_requires(journeys: tuple[str, JourneyWorld]) -> None:
    base, w = journeys
    items = w.unmapped or (("lab_result", "typhoid_serology"),)
    day = local_today() - dt.timedelta(days=2)
    post_results(base, mis_token(base), w, [result(w.cook.iin, kind, item, day) for kind, item in items])
