"""Where a worker with an infection is referred (C-30): the clinic she is attached to by residence when it takes
people on the day, otherwise the nearest participating PHC clinic to her residence address; with no address
that locates her, no target, and her book says so. The book names the target and its state."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.attachment.models import Attachment
from emhana.facilities.models import District, Entity, Site
from emhana.identity.models import PersonAddress
from emhana.medbook.referral import Attached, Home, attached_clinic, home_point, referral_target
from tests.builders.medbook import TODAY, World, issue_book, record, sign_in

API = "/api/v1/medbook"


def target(sessions: sessionmaker[Session], w: World) -> int | None:
    with sessions() as s:
        return referral_target(session=s, person_id=w.cook, day=TODAY)


def attach(sessions: sessionmaker[Session], w: World, *, entity: int, site_code: str, basis: str) -> None:
    """Move the cook's attachment (the world's, at B by permanent residence) to an entity, on a basis."""
    with sessions.begin() as s:
        site, district = s.execute(
            select(Site.id, District.id).join(District, District.site_id == Site.id).where(Site.code == site_code)
        ).first()  # type: ignore[misc]
        s.execute(
            update(Attachment)
            .where(Attachment.person_id == w.cook)
            .values(entity_id=entity, site_id=site, district_id=district, place_basis=basis)
        )


def move_home(sessions: sessionmaker[Session], w: World, lat: float | None, lon: float | None) -> None:
    with sessions.begin() as s:
        s.execute(update(PersonAddress).where(PersonAddress.person_id == w.cook).values(lat=lat, lon=lon))


def test_the_choice_rule() -> None:
    assert attached_clinic(Attached(7, "residence_permanent", participating=True)) == 7
    assert attached_clinic(Attached(7, "residence_temporary", participating=True)) == 7
    assert attached_clinic(Attached(7, "actual_residence", participating=True)) == 7
    assert attached_clinic(Attached(7, "work", participating=True)) is None
    assert attached_clinic(Attached(7, "study", participating=True)) is None
    assert attached_clinic(Attached(7, "residence_permanent", participating=False)) is None
    assert attached_clinic(None) is None
    temporary, permanent = Home("temporary", 43.2, 76.9), Home("permanent", 51.1, 71.4)
    assert home_point([temporary, permanent]) == (51.1, 71.4)  # permanent registration first
    assert home_point([temporary, Home("permanent", None, None)]) == (43.2, 76.9)  # then the temporary one
    assert home_point([Home("work", 50.0, 70.0)]) is None  # a workplace is not a residence
    assert home_point([]) is None


def test_attached_by_residence_to_a_participating_clinic_refers_there(
    sessions: sessionmaker[Session], world: World
) -> None:
    assert target(sessions, world) == world.b  # B, although A's site is nearer her home


def test_attached_by_workplace_refers_to_the_nearest_participating_clinic_to_her_home(
    sessions: sessionmaker[Session], world: World
) -> None:
    attach(sessions, world, entity=world.b, site_code="B1", basis="work")
    assert target(sessions, world) == world.a  # A's site (51.128, 71.4304) is the nearest to (51.13, 71.43)
    move_home(sessions, world, 51.101, 71.401)  # beside X's site, but X is excluded from the database
    assert target(sessions, world) == world.a
    move_home(sessions, world, 51.151, 71.451)  # beside B's site
    assert target(sessions, world) == world.b


def test_an_attached_clinic_excluded_or_out_of_contract_refers_to_the_nearest_participating(
    sessions: sessionmaker[Session], world: World
) -> None:
    attach(sessions, world, entity=world.x, site_code="X1", basis="residence_permanent")
    assert target(sessions, world) == world.a
    attach(sessions, world, entity=world.b, site_code="B1", basis="residence_permanent")
    with sessions.begin() as s:  # B is still included, but its Fund contract ended yesterday
        s.execute(update(Entity).where(Entity.id == world.b).values(contract_to=TODAY - dt.timedelta(days=1)))
    assert target(sessions, world) == world.a
    with sessions.begin() as s:  # and A's too: the nearest that still takes people is none of the three
        s.execute(update(Entity).where(Entity.id == world.a).values(contract_to=TODAY - dt.timedelta(days=1)))
    assert target(sessions, world) is None


@pytest.mark.parametrize("how", ["no address", "no coordinates", "ended"])
def test_no_address_no_target(sessions: sessionmaker[Session], world: World, how: str) -> None:
    attach(sessions, world, entity=world.b, site_code="B1", basis="work")
    with sessions.begin() as s:
        if how == "no address":
            s.execute(delete(PersonAddress).where(PersonAddress.person_id == world.cook))
        elif how == "no coordinates":
            s.execute(update(PersonAddress).where(PersonAddress.person_id == world.cook).values(lat=None, lon=None))
        else:
            s.execute(
                update(PersonAddress)
                .where(PersonAddress.person_id == world.cook)
                .values(valid_to=TODAY - dt.timedelta(days=1))
            )
    assert target(sessions, world) is None


def test_the_book_names_the_target_or_says_there_is_none(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    name_kk, name_ru = '"Б" емханасы ЖШС', 'ТОО "Поликлиника Б"'
    with sessions.begin() as s:  # the world's clinics share one name: give B its own
        s.execute(update(Entity).where(Entity.id == world.b).values(name_kk=name_kk, name_ru=name_ru))
    bid = int(issue_book(client, world)["id"])
    assert record(client, world, bid, "lab_result", "intestinal_carriage", "positive", who="mis_a").status_code == 201
    referral = client.get(f"{API}/books/{bid}", headers=world.h["rt_a"]).json()["entries"][-1]
    assert (referral["kind"], referral["referral_entity_id"]) == ("referral", world.b)
    assert (referral["referral_entity_name"], referral["referral_state"]) == (name_ru, "sent")  # the book is in ru
    sign_in(client, world, "cook")
    assert f"Направлено в {escape(name_ru)}" in client.get("/medbook/my?lang=en").text
    assert client.put(f"{API}/me/language", headers=world.h["cook"], json={"language": "kk"}).status_code == 200
    page = client.get("/medbook/my?lang=ru").text
    journal = page.split('class="medbook-journal"')[1].split("</table>")[0]
    assert (
        f"Жіберілді: {escape(name_kk)}" in journal and str(escape(name_ru)) not in journal
    )  # the book's language  # the book's language, not the page's

    # Without an address of residence: no target, and the book says so in its language.
    attach(sessions, world, entity=world.b, site_code="B1", basis="work")
    with sessions.begin() as s:
        s.execute(delete(PersonAddress).where(PersonAddress.person_id == world.cook))
    control = record(client, world, bid, "lab_result", "staphylococcus_swab", "positive", who="mis_a")
    assert control.status_code == 201, control.text
    last = client.get(f"{API}/books/{bid}", headers=world.h["rt_a"]).json()["entries"][-1]
    assert (last["kind"], last["referral_entity_id"], last["referral_state"]) == ("referral", None, "no_target")
    assert last["referral_entity_name"] is None
    page = client.get("/medbook/my?lang=ru").text
    assert "Жолдама алатын ұйым әлі жоқ" in page
