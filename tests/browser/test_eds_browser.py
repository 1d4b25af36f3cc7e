"""Signing in as eGov does, in a real browser (issue 16, item 6), on a demo-mode server whose demo PKI (not NCA RK)
holds the demo citizen's certificate: the NCALayer button, with no NCALayer running, says so; the demo button signs
a one-time challenge with her demo certificate, the server verifies it (path, CRL) and she lands on the page she
asked for; she applies with "Sign with the demo PKI and submit" and her application shows her signature."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders.browser import seed
from tests.builders.servers import serve

pytestmark = pytest.mark.browser
CITIZEN = "demo-citizen"


def seed_citizen(url: str, folder: Any) -> tuple[int, int]:
    """Add the policies, the demo citizen (a person with an ID card and a home in Astana) and the demo PKI with her
    certificate; return her person id and a general practitioner's district of polyclinic No. 3."""
    from sqlalchemy import select

    from emhana.accounts.roles import Role
    from emhana.accounts.service import create_account
    from emhana.attachment.campaign.policy import seed_default_policies
    from emhana.devtools.demo import DEMO_PASSWORD, write_pki
    from emhana.facilities.models import District, Site
    from emhana.facilities.service import get_entity_by_bin
    from emhana.identity.models import IdentityDocument, Person, PersonAddress
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            seed_default_policies(s)
            entity = get_entity_by_bin(session=s, bin_="150340001236")
            person = Person(
                iin="880315400123",
                surname="Нұрланқызы",
                given_name="Дана",
                birth_date=dt.date(1988, 3, 15),
                sex="female",
                category="citizen",
            )
            person.addresses = [
                PersonAddress(
                    kind="permanent",
                    kato_code="710000000",
                    kato_version="NK RK 11-2025",
                    text_ru="г.Астана, пр. Абая, 20",
                    lat=51.1301,
                    lon=71.4352,
                )
            ]
            person.documents = [IdentityDocument(kind="id_card", number="088031540")]
            s.add(person)
            s.flush()
            create_account(
                session=s,
                username=CITIZEN,
                password=DEMO_PASSWORD,
                role=Role.CITIZEN,
                display_name="Дана Нұрланқызы",
                person_id=person.id,
            )
            write_pki(s, folder)  # the demo PKI, with her certificate (pki_demo.write_citizen)
            district = s.scalar(
                select(District.id)
                .join(Site, Site.id == District.site_id)
                .where(Site.entity_id == entity.id, District.profile == "gp")
                .order_by(District.id)
                .limit(1)
            )
            assert district is not None
            return person.id, district
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def eds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, int]]:
    """Serve a demo-mode app that trusts the demo PKI (as `emhana demo` does), on the wall clock (the demo
    certificate and the signing time stand there; a first attachment may be filed any time)."""
    from emhana.app import create_app
    from emhana.devtools.demo import server_settings
    from emhana.kernel.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('eds') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    from emhana.trust.signatures.demo import pki_folder

    folder = pki_folder(url)
    assert folder is not None
    person_id, district = seed_citizen(url, folder)
    assert (folder / f"{CITIZEN}.p12").is_file()
    with serve(create_app(server_settings(url)), "uvicorn-eds") as base:
        yield base, person_id, district


def test_the_citizen_signs_in_with_the_demo_pki_and_signs_her_application(
    eds_server: tuple[str, int, int], page: Any
) -> None:
    from playwright.sync_api import expect

    base, person_id, district = eds_server
    page.goto(f"{base}/login?lang=ru&next=/attachment/my")
    eds = page.locator("form[data-eds-login]")
    expect(eds.get_by_role("button", name="Войти с ЭЦП (NCALayer)")).to_be_visible()
    eds.get_by_role("button", name="Войти с ЭЦП (NCALayer)").click()  # no NCALayer on this machine
    expect(eds.locator("[data-eds-status]")).to_contain_text("NCALayer не отвечает")
    demo = page.locator("#eds-demo-sign-in")
    expect(demo).to_contain_text("не НУЦ РК")
    with page.expect_navigation():
        demo.click()
    assert page.url == f"{base}/attachment/my"
    expect(page.get_by_role("heading", level=1)).to_have_text("Моё прикрепление")

    page.goto(f"{base}/attachment/apply?lang=ru&district_id={district}&person_id={person_id}")
    ncalayer = page.get_by_role("button", name="Подписать ЭЦП (NCALayer) и подать")
    ncalayer.click()  # what the application will be is fetched, then NCALayer is asked: it is not running here
    expect(page.locator("form [data-eds-status]")).to_contain_text("NCALayer не отвечает")
    sign_and_submit = page.locator("#apply-sign-demo")
    expect(sign_and_submit).to_have_text("Подписать демо-PKI (не НУЦ РК) и подать")
    with page.expect_navigation():
        sign_and_submit.click()
    assert "/attachment/applications/" in page.url, page.content()
    card = page.locator("section.application-signature")
    expect(card.locator("#application-signed")).to_contain_text("Подписано ЭЦП")
    expect(card).to_contain_text("НҰРЛАНҚЫЗЫ ДАНА")
    expect(card.locator("#application-sign-demo")).to_have_count(0)
