"""The citizen's and the registrar's steps of issue 16 in a real browser: a change outside the campaign for a valid
reason (A-42) with the form kept after a refusal and across a language switch; the change quota shown before it
is used (A-41); the signed notice opened from the application, "My attachment" and the registrar's queue; the
notifications inbox; who read her data, with the reader's organization; a registrar told at once that an
applicant does not represent the child, recording the representation on its basis document (a wrong one
refused, the form kept), and a refused paper application that keeps channel, district and documents."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from emhana.kernel.clock import KZ_TIME
from tests.builders.browser import PASSWORD, seed
from tests.builders.servers import serve

pytestmark = pytest.mark.browser

IN_WINDOW = dt.datetime(2025, 9, 10, 10, 0, tzinfo=KZ_TIME)
AFTER_WINDOW = dt.datetime(2025, 12, 10, 10, 0, tzinfo=KZ_TIME)
CITIZEN, MOVER, REGISTRAR = "dana.citizen", "erlan.mover", "saule.registrar"
FATHER_IIN, CHILD_IIN = "800101300129", "180505600125"


def seed_people(url: str) -> dict[str, int]:
    """A citizen with a child she represents, a man attached in the campaign who has moved since, a father and
    a child with no representation on record, and a registrar of polyclinic No. 3."""
    from emhana.accounts.roles import Role
    from emhana.accounts.service import actor_of, create_account
    from emhana.attachment.application import service
    from emhana.attachment.campaign.policy import seed_default_policies
    from emhana.attachment.enums import Channel
    from emhana.attachment.models import Attachment
    from emhana.attachment.schemas import ApplicationIn
    from emhana.facilities.service import get_entity_by_bin
    from emhana.identity.models import IdentityDocument, LegalRepresentation, Person, PersonAddress
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work

    def address(kato: str = "710000000", since: dt.date | None = None, until: dt.date | None = None) -> Any:
        return PersonAddress(
            kind="permanent",
            kato_code=kato,
            kato_version="NK RK 11-2025",
            text_ru="г.Астана, пр. Абая, 20",
            text_kk="Астана қ., Абай даңғылы, 20",
            lat=51.1301,
            lon=71.4352,
            valid_from=since,
            valid_to=until,
        )

    engine = make_engine(url)
    ids: dict[str, int] = {}
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            seed_default_policies(s)
            entity = get_entity_by_bin(session=s, bin_="150340001236")
            people = {
                "dana": ("880315400123", "Нұрланқызы", "Дана", dt.date(1988, 3, 15), "female", "id_card"),
                "aru": ("190607600122", "Нұрланқызы", "Ару", dt.date(2019, 6, 7), "female", "birth_certificate"),
                "erlan": ("900202300121", "Сапаров", "Ерлан", dt.date(1990, 2, 2), "male", "id_card"),
                "father": (FATHER_IIN, "Омаров", "Асан", dt.date(1980, 1, 1), "male", "id_card"),
                "child": (CHILD_IIN, "Омарова", "Айым", dt.date(2018, 5, 5), "female", "birth_certificate"),
            }
            for key, (iin, surname, given, born, sex, doc) in people.items():
                p = Person(iin=iin, surname=surname, given_name=given, birth_date=born, sex=sex, category="citizen")
                p.addresses = [address()]
                p.documents = [IdentityDocument(kind=doc, number=f"0{iin[:8]}")]
                s.add(p)
                s.flush()
                ids[key] = p.id
            s.add(
                LegalRepresentation(
                    representative_id=ids["dana"],
                    represented_id=ids["aru"],
                    basis="parent",
                    document_kind="birth_certificate",
                    document_number="I-АЛ 0000001",
                    basis_document="birth certificate",
                    valid_from=dt.date(2019, 6, 7),
                )
            )
            accounts = {}
            for username, role, person_id, entity_id, name in (
                (CITIZEN, Role.CITIZEN, ids["dana"], None, "Дана Нұрланқызы"),
                (MOVER, Role.CITIZEN, ids["erlan"], None, "Ерлан Сапаров"),
                (REGISTRAR, Role.REGISTRAR, None, entity.id, "Сәуле Тіркеуші"),
            ):
                accounts[username] = create_account(
                    session=s,
                    username=username,
                    password=PASSWORD,
                    role=role,
                    display_name=name,
                    person_id=person_id,
                    entity_id=entity_id,
                )
            s.flush()
            by_profile = {d.profile: d.id for site in entity.sites for d in site.districts}
            ids["gp1"], ids["ther"], ids["ped"] = by_profile["gp"], by_profile["therapist"], by_profile["pediatric"]
            # The Omarovs' child has been attached to polyclinic No. 3 since 2024 (so its registrar may record
            # her representation, identity.service.may_record_representation).
            s.add(
                Attachment(
                    person_id=ids["child"],
                    entity_id=entity.id,
                    site_id=next(site.id for site in entity.sites for d in site.districts if d.id == ids["gp1"]),
                    district_id=ids["gp1"],
                    place_basis="residence_permanent",
                    cause="first_attachment",
                    begin_date=dt.date(2024, 1, 1),
                    decided_on=dt.date(2023, 12, 29),
                )
            )
            service.submit(  # Erlan attaches in the campaign, then moves on 20 November
                session=s,
                actor=actor_of(accounts[MOVER]),
                channel=Channel.EGOV,
                now=IN_WINDOW,
                data=ApplicationIn(person_id=ids["erlan"], district_id=ids["gp1"]),
            )
            erlan = s.get(Person, ids["erlan"])
            assert erlan is not None
            erlan.addresses[0].valid_to = dt.date(2025, 11, 19)
            erlan.addresses.append(address("711210000", since=dt.date(2025, 11, 20)))
    finally:
        engine.dispose()
    return ids


@pytest.fixture(scope="module")
def citizen_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, dict[str, int]]]:
    """Serve the app over the seeded people; the process's clock is settable (inside the 2025 campaign first)."""
    from emhana.app import create_app
    from emhana.kernel import clock
    from emhana.kernel.config import Settings
    from emhana.kernel.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('citizen') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    ids = seed_people(url)
    fixed = clock.Fixed(IN_WINDOW)
    with clock.use(fixed), serve(create_app(Settings(database_url=url)), "uvicorn-citizen") as base:
        yield base, fixed, ids


def log_in(page: Any, base: str, username: str, lang: str = "ru") -> None:
    page.goto(f"{base}/login?lang={lang}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[action='/login'] button[type=submit]").click()


def test_a_change_outside_the_campaign_for_relocation_keeps_the_form(
    citizen_server: tuple[str, Any, dict[str, int]], page: Any
) -> None:
    from playwright.sync_api import expect

    base, fixed, ids = citizen_server
    fixed.set(AFTER_WINDOW)
    log_in(page, base, MOVER)
    page.goto(f"{base}/attachment/apply?district_id={ids['ther']}&lang=ru")
    expect(page.locator("#needs-reason")).to_contain_text("Сегодня кампания по прикреплению закрыта")
    expect(page.locator(".reason-holds")).to_contain_text("Смена места жительства (переезд)")
    expect(page.locator("#uses-quota")).to_have_count(0)
    page.locator("input[name=care_at_home]").check()
    page.get_by_role("button", name="Отправить заявление").click()

    expect(page.locator("#apply-error")).to_contain_text("кампания по прикреплению закрыта")
    expect(page.locator("input[name=district_id]")).to_have_value(str(ids["ther"]))
    expect(page.locator("input[name=care_at_home]")).to_be_checked()
    page.get_by_role("link", name="Қазақша").click()  # the language switch keeps what was typed
    expect(page.locator("h1")).to_have_text("Бекітуге өтініш")
    expect(page.locator("input[name=district_id]")).to_have_value(str(ids["ther"]))
    expect(page.locator("input[name=care_at_home]")).to_be_checked()

    page.get_by_label("Науқаннан тыс өзгерту себебі").select_option("relocation")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_label("Reason of a change outside the campaign")).to_have_value("relocation")
    page.get_by_role("button", name="Submit the application").click()
    page.wait_for_url(re.compile(r"/attachment/applications/\d+$"))
    expect(page.locator("#state-title")).to_contain_text("Waiting for a decision")
    expect(page.get_by_text("a change outside the campaign for relocation: check the new address")).to_be_visible()
    page.screenshot(path="/tmp/emhana-relocation.png", full_page=True)
    fixed.set(IN_WINDOW)


def test_citizen_applies_sees_the_quota_the_notice_her_inbox_and_who_read_her_data(
    citizen_server: tuple[str, Any, dict[str, int]], page: Any
) -> None:
    from playwright.sync_api import expect

    base, fixed, ids = citizen_server
    fixed.set(IN_WINDOW)
    log_in(page, base, CITIZEN)
    page.goto(f"{base}/attachment/apply?district_id={ids['gp1']}&lang=ru")
    expect(page.locator("#uses-quota")).to_have_count(0)  # a first attachment uses no change
    page.get_by_role("button", name="Отправить заявление").click()
    page.wait_for_url(re.compile(r"/attachment/applications/\d+$"))
    expect(page.locator("#state-title")).to_have_text("Одобрено")
    notice = page.locator("#notice-link")
    pdf = page.request.get(base + notice.get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"

    # A second application in the campaign would use the year's change; choosing the child reloads the form.
    page.goto(f"{base}/attachment/apply?district_id={ids['ther']}&lang=ru")
    expect(page.locator("#uses-quota")).to_contain_text("использовано 0 из 2")
    page.get_by_label("За кого").select_option(str(ids["aru"]))
    page.wait_for_url(re.compile(rf"person_id={ids['aru']}"))
    expect(page.locator("#uses-quota")).to_have_count(0)
    expect(page.locator("#not-representative")).to_have_count(0)

    page.goto(f"{base}/attachment/my?lang=ru")
    expect(page.locator(".notice-link").first).to_be_visible()
    page.get_by_role("link", name="Мои уведомления").first.click()
    expect(page.locator("h1")).to_have_text("Мои уведомления")
    expect(page.locator(".message").first).to_be_visible()
    page.get_by_role("link", name="Қазақша").click()
    expect(page.locator("h1")).to_have_text("Менің хабарламаларым")
    page.screenshot(path="/tmp/emhana-inbox.png", full_page=True)


def test_registrar_records_a_representation_and_a_paper_application_keeping_the_form(
    citizen_server: tuple[str, Any, dict[str, int]], page: Any
) -> None:
    from playwright.sync_api import expect

    base, fixed, ids = citizen_server
    fixed.set(IN_WINDOW)
    log_in(page, base, REGISTRAR)
    page.goto(f"{base}/attachment/record?lang=ru")
    page.get_by_label("ИИН человека").fill(CHILD_IIN)
    page.get_by_label("ИИН законного представителя (если подаёт он)").fill(FATHER_IIN)
    page.get_by_role("button", name="Найти").click()
    expect(page.locator("#not-representative")).to_contain_text("нет законного представительства")

    page.locator("#not-representative").get_by_role("link", name="Записать законное представительство").click()
    page.get_by_label("ИИН законного представителя").fill(FATHER_IIN)
    page.get_by_label("ИИН представляемого лица").fill(CHILD_IIN)
    page.get_by_label("Представитель —").select_option("parent")
    page.get_by_label("Документ-основание").select_option("guardianship_decision")
    page.get_by_label("Номер документа").fill("I-АЛ 777")
    page.get_by_role("button", name="Записать представительство").click()
    expect(page.locator("#representation-error")).to_contain_text("этот документ не является основанием")
    expect(page.get_by_label("Номер документа")).to_have_value("I-АЛ 777")
    expect(page.get_by_label("ИИН представляемого лица")).to_have_value(CHILD_IIN)
    page.get_by_label("Документ-основание").select_option("birth_certificate")
    page.get_by_role("button", name="Записать представительство").click()
    expect(page.locator("#representation-recorded")).to_contain_text("записано")

    page.goto(f"{base}/attachment/record?lang=ru")
    page.get_by_label("ИИН человека").fill(CHILD_IIN)
    page.get_by_label("ИИН законного представителя (если подаёт он)").fill(FATHER_IIN)
    page.get_by_role("button", name="Найти").click()
    expect(page.locator("#not-representative")).to_have_count(0)
    page.get_by_label("Письменно").check()
    page.get_by_label("Участок").select_option(str(ids["ped"]))
    page.get_by_label("Вид 1").select_option("birth_certificate")
    page.get_by_label("Номер 1").fill("I-АЛ 777")
    page.get_by_role("button", name="Зарегистрировать заявление").click()  # written, but no scan: refused
    expect(page.locator("#record-error")).to_be_visible()
    expect(page.get_by_label("Письменно")).to_be_checked()
    expect(page.get_by_label("Участок")).to_have_value(str(ids["ped"]))
    expect(page.get_by_label("Номер 1")).to_have_value("I-АЛ 777")
    expect(page.locator("#scans-again")).to_be_visible()

    page.get_by_label("Лично").check()
    page.get_by_label("Вид 2").select_option("id_card")
    page.get_by_label("Чей 2").select_option("applicant")
    page.get_by_label("Номер 2").fill("080010130")
    page.get_by_role("button", name="Зарегистрировать заявление").click()
    page.wait_for_url(re.compile(r"/attachment/applications/\d+$"))
    expect(page.locator("#state-title")).to_have_text("Одобрено")
    expect(page.locator("#notice-link")).to_be_visible()

    # The registrar looks Dana up; Dana then sees who read her data, with the reader's organization.
    page.goto(f"{base}/attachment/record?lang=ru")
    page.get_by_label("ИИН человека").fill("880315400123")
    page.get_by_role("button", name="Найти").click()
    expect(page.locator("#person-title")).to_contain_text("Нұрланқызы Дана")
    page.context.clear_cookies()
    log_in(page, base, CITIZEN)
    page.goto(f"{base}/me/reads?lang=ru")
    reads = page.locator("table.reads tbody tr", has_text="Сәуле Тіркеуші")
    expect(reads.first.locator(".reader-organization")).to_contain_text("Городская поликлиника №3")
    expect(page.locator("table.reads")).to_contain_text("Просмотр вашего прикрепления и заявлений")
