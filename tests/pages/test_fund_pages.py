"""The Fund's pages of issue 16: excluding and including an entity with a date and reason (B-05, B-06) and landing on
its redistribution (A-94); taking a capitation snapshot and exporting it (A-120, A-121); publishing the list of
participating entities (B-02). A refused form keeps what was typed and writes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.models import Attachment, CapitationSnapshot
from emhana.facilities.models import Entity, Inclusion
from emhana.facilities.publication import ParticipantList
from tests.builders.attachment import Country
from tests.builders.web import csrf_of, login

MakeActor = Callable[..., tuple[Actor, str]]


def sign_in_fund(client: TestClient, make_actor: MakeActor) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN)
    assert login(client, actor.username).status_code == 303


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_the_fund_excludes_an_entity_and_sees_its_redistribution(
    client: TestClient, make_actor: MakeActor, country: Country, sessions: sessionmaker[Session]
) -> None:
    sign_in_fund(client, make_actor)
    listing = client.get("/fund/entities?lang=ru&q=2011")
    assert listing.status_code == 200 and f'href="/fund/entities/{country.b}"' in listing.text
    assert f'href="/fund/entities/{country.a}"' not in listing.text
    form = client.get(f"/fund/entities/{country.b}?lang=kk")
    assert form.status_code == 200 and "Дерекқордан шығару" in form.text
    token, periods = csrf_of(form.text), count(sessions, Inclusion)

    refused = client.post(
        f"/fund/entities/{country.b}?lang=en",
        data={"csrf": token, "status": "excluded", "effective_from": "2025-09-20", "reason": "  "},
    )
    assert refused.status_code == 422 and 'id="inclusion-error"' in refused.text
    assert 'value="2025-09-20"' in refused.text and count(sessions, Inclusion) == periods
    too_early = client.post(
        f"/fund/entities/{country.b}?lang=ru",
        data={"csrf": token, "status": "excluded", "effective_from": "1990-01-01", "reason": "Лицензия отозвана"},
    )
    assert too_early.status_code == 422 and "Лицензия отозвана" in too_early.text
    assert count(sessions, Inclusion) == periods

    done = client.post(
        f"/fund/entities/{country.b}",
        data={"csrf": token, "status": "excluded", "effective_from": "2025-09-20", "reason": "Лицензия отозвана"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/fund/entities/{country.b}/redistribution"
    report = client.get(done.headers["location"] + "?lang=ru")
    assert report.status_code == 200 and "Лицензия отозвана" in report.text and "20.09.2025" in report.text
    back = client.post(
        f"/fund/entities/{country.b}",
        data={"csrf": token, "status": "included", "effective_from": "2025-10-01", "reason": "Лицензия восстановлена"},
        follow_redirects=False,
    )
    assert back.status_code == 303
    shown = client.get(back.headers["location"] + "&lang=en")
    assert "The organization is included in the database from 01.10.2025." in shown.text
    assert count(sessions, Inclusion) == periods + 2


def test_other_roles_cannot_open_the_funds_pages(client: TestClient, make_actor: MakeActor, country: Country) -> None:
    actor, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    assert login(client, actor.username).status_code == 303
    for path in (
        "/fund/entities",
        f"/fund/entities/{country.b}",
        f"/fund/entities/{country.b}/redistribution",
        "/fund/participants",
        "/attachment/snapshots/new",
    ):
        assert client.get(path).status_code == 403, path


def test_the_fund_takes_a_snapshot_and_exports_it_to_the_person(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    pid = person()
    with sessions.begin() as s:
        row = Attachment(
            person_id=pid,
            entity_id=country.b,
            site_id=country.sites["B1"],
            district_id=country.districts[("B1", 1)],
            place_basis="residence_permanent",
            cause="first_attachment",
            begin_date=dt.date(2024, 1, 1),
            decided_on=dt.date(2023, 12, 1),
        )
        s.add(row)
        s.flush()
        attachment_id = row.id
    sign_in_fund(client, make_actor)
    form = client.get("/attachment/snapshots/new?lang=en")
    assert form.status_code == 200 and 'value="2025-09-10"' in form.text
    token = csrf_of(form.text)
    future = client.post("/attachment/snapshots/new?lang=ru", data={"csrf": token, "as_of": "2030-01-01"})
    assert future.status_code == 422 and 'id="snapshot-error"' in future.text and 'value="2030-01-01"' in future.text
    assert count(sessions, CapitationSnapshot) == 0
    taken = client.post(
        "/attachment/snapshots/new", data={"csrf": token, "as_of": "2025-09-10"}, follow_redirects=False
    )
    assert taken.status_code == 303
    page = client.get(taken.headers["location"] + "?lang=kk")
    assert page.status_code == 200 and "10.09.2025" in page.text
    assert 'id="bands-unverified"' in page.text  # the default bands, not yet set by the Fund
    persons = client.get(taken.headers["location"] + "/persons.csv")
    assert persons.status_code == 200 and persons.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(persons.text)))
    assert [(r["person_id"], r["attachment_id"], r["entity_bin"], r["sex"]) for r in rows] == [
        (str(pid), str(attachment_id), "201140004575", "male")
    ]
    counts = client.get(page.text.split('id="export-counts" href="')[1].split('"')[0])
    assert counts.status_code == 200 and "201140004575" in counts.text
    again = client.post(
        "/attachment/snapshots/new", data={"csrf": token, "as_of": "2025-09-10"}, follow_redirects=False
    )
    assert again.headers["location"] == taken.headers["location"] and count(sessions, CapitationSnapshot) == 1


@pytest.mark.parametrize(("lang", "text"), [("ru", "Опубликована версия 1"), ("kk", "1-нұсқасы жарияланды")])
def test_the_fund_publishes_the_list_and_past_versions_are_listed(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    sessions: sessionmaker[Session],
    lang: str,
    text: str,
) -> None:
    sign_in_fund(client, make_actor)
    form = client.get(f"/fund/participants?lang={lang}")
    assert form.status_code == 200
    token = csrf_of(form.text)
    wrong = client.post(f"/fund/participants?lang={lang}", data={"csrf": token, "year": "2025", "published_on": "x"})
    assert wrong.status_code == 422 and 'id="publish-error"' in wrong.text and count(sessions, ParticipantList) == 0
    done = client.post(
        "/fund/participants",
        data={"csrf": token, "year": "2025", "published_on": "2025-08-31"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get(done.headers["location"] + f"&lang={lang}")
    assert text in shown.text and 'href="/participants/2025?version=1"' in shown.text
    public = client.get("/participants/2025?version=1&lang=ru")
    assert public.status_code == 200 and "31.08.2025" in public.text
    assert dt.date(2025, 8, 31).strftime("%d.%m.%Y") in public.text


def test_the_fund_redistributes_the_people_left_at_a_clinic_without_contract(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    pid = person()
    with sessions.begin() as s:
        s.execute(update(Entity).where(Entity.id == country.b).values(contract_to=dt.date(2025, 9, 1)))
        s.add(
            Attachment(
                person_id=pid,
                entity_id=country.b,
                site_id=country.sites["B1"],
                district_id=country.districts[("B1", 1)],
                place_basis="residence_permanent",
                cause="first_attachment",
                begin_date=dt.date(2024, 1, 1),
                decided_on=dt.date(2023, 12, 1),
            )
        )
    sign_in_fund(client, make_actor)
    page = client.get(f"/fund/entities/{country.b}/redistribution?lang=en")
    assert page.status_code == 200 and 'id="still-attached">1<' in page.text
    assert "The Fund contract ended on 01.09.2025" in page.text
    done = client.post(
        f"/fund/entities/{country.b}/redistribution", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    shown = client.get(done.headers["location"] + "&lang=ru")
    assert "Оставшиеся люди перераспределены: 1 перемещено, 0 без места." in shown.text
    assert 'id="moved">1<' in shown.text and 'id="still-attached">0<' in shown.text
    with sessions() as s:
        open_now = s.scalars(select(Attachment).where(Attachment.person_id == pid, Attachment.end_date.is_(None)))
        assert [a.entity_id for a in open_now] == [country.a]


def test_the_fund_ends_a_contract_on_the_entity_page_and_its_people_are_redistributed(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    pid = person()
    with sessions.begin() as s:
        s.add(
            Attachment(
                person_id=pid,
                entity_id=country.b,
                site_id=country.sites["B1"],
                district_id=country.districts[("B1", 1)],
                place_basis="residence_permanent",
                cause="first_attachment",
                begin_date=dt.date(2024, 1, 1),
                decided_on=dt.date(2023, 12, 1),
            )
        )
    sign_in_fund(client, make_actor)
    form = client.get(f"/fund/entities/{country.b}?lang=kk")
    assert form.status_code == 200 and "Шартты тоқтату" in form.text
    token = csrf_of(form.text)
    refused = client.post(
        f"/fund/entities/{country.b}/contract?lang=ru",
        data={"csrf": token, "last_day": "2025-09-30", "reason": " "},
    )
    assert refused.status_code == 422 and 'id="contract-error"' in refused.text and 'value="2025-09-30"' in refused.text
    with sessions() as s:
        assert s.get(Entity, country.b).contract_to != dt.date(2025, 9, 30)  # type: ignore[union-attr]
    done = client.post(
        f"/fund/entities/{country.b}/contract",
        data={"csrf": token, "last_day": "2025-09-30", "reason": "Договор не продлён"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/fund/entities/{country.b}/redistribution"
    with sessions() as s:
        assert s.get(Entity, country.b).contract_to == dt.date(2025, 9, 30)  # type: ignore[union-attr]
        open_now = s.scalars(select(Attachment).where(Attachment.person_id == pid, Attachment.end_date.is_(None)))
        moved = [(a.entity_id, a.begin_date) for a in open_now]
    assert moved == [(country.a, dt.date(2025, 10, 1))]
