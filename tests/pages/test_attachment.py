"""Attachment pages through TestClient: roles, the citizen's apply flow with the yearly limit in the page
language, the children they represent, the registrar's decision (and a stale one), recording in person
and in writing, the attached population, and the Fund's dashboard drawn as inline SVG."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment import capitation
from emhana.identity.models import Person
from emhana.pages.attachment.citizen import router as attachment_pages
from emhana.web.deps import declared_roles, iter_routes
from tests.builders.attachment import Country
from tests.builders.people import represent
from tests.builders.web import csrf_of, login

HTML = {"Accept": "text/html"}
MakeActor = Callable[..., tuple[Actor, str]]


def sign_in(client: TestClient, make_actor: MakeActor, role: Role, **kw: int | None) -> Actor:
    actor, _ = make_actor(role, **kw)
    assert login(client, actor.username).status_code == 303
    return actor


def apply(
    client: TestClient, person_id: int, district_id: int, lang: str = "en", basis: str = "residence_permanent"
) -> httpx2.Response:
    page = client.get(f"/attachment/clinics?lang={lang}")
    return client.post(
        "/attachment/apply",
        data={
            "csrf": csrf_of(page.text),
            "person_id": str(person_id),
            "district_id": str(district_id),
            "place_basis": basis,
        },
        follow_redirects=False,
    )


def test_every_attachment_page_declares_who_it_admits() -> None:
    paths = set()
    for path, _methods, dependant in iter_routes(attachment_pages):
        assert declared_roles(dependant.dependencies) is not None, path
        paths.add(path)
    assert {
        "/attachment/my",
        "/attachment/clinics",
        "/attachment/queue",
        "/attachment/population",
        "/attachment/dashboard",
        "/attachment/snapshots",
    } <= paths


@pytest.mark.parametrize(
    ("path", "admitted"),
    [
        ("/attachment/my", Role.CITIZEN),
        ("/attachment/clinics", Role.CITIZEN),
        ("/attachment/queue", Role.REGISTRAR),
        ("/attachment/record", Role.REGISTRAR),
        ("/attachment/population", Role.REGISTRAR),
        ("/attachment/dashboard", Role.FUND_ADMIN),
        ("/attachment/policies", Role.FUND_ADMIN),
        ("/attachment/snapshots", Role.FUND_ADMIN),
    ],
)
def test_pages_admit_only_their_role(
    client: TestClient, make_actor: MakeActor, country: Country, person: Callable[..., int], path: str, admitted: Role
) -> None:
    anonymous = client.get(f"{path}?lang=en", headers=HTML)
    assert anonymous.url.path == "/login" and anonymous.url.params["next"] == path  # back here once signed in
    assert anonymous.status_code == 200 and "Log in to see this page." in anonymous.text
    other = Role.REGISTRAR if admitted is not Role.REGISTRAR else Role.CITIZEN
    sign_in(client, make_actor, other, person_id=person(), entity_id=country.a)
    refused = client.get(path, headers=HTML)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    sign_in(client, make_actor, admitted, person_id=person(), entity_id=country.a)
    assert client.get(path, headers=HTML).status_code == 200


def test_nav_links_follow_the_role(
    client: TestClient, make_actor: MakeActor, country: Country, person: Callable[..., int]
) -> None:
    assert 'href="/attachment/' not in client.get("/").text
    sign_in(client, make_actor, Role.CITIZEN, person_id=person())
    html = client.get("/?lang=en").text
    assert 'href="/attachment/my"' in html and 'href="/attachment/queue"' not in html
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.a)
    html = client.get("/").text
    assert 'href="/attachment/queue"' in html and 'href="/attachment/population"' in html
    sign_in(client, make_actor, Role.FUND_ADMIN)
    assert 'href="/attachment/dashboard"' in client.get("/").text


def test_citizen_sees_near_clinics_applies_and_is_told_the_yearly_limit(
    client: TestClient, make_actor: MakeActor, country: Country, person: Callable[..., int]
) -> None:
    pid = person()
    sign_in(client, make_actor, Role.CITIZEN, person_id=pid)
    near = client.get("/attachment/clinics?lang=ru")
    assert near.status_code == 200
    assert "Ближайшие подразделения" in near.text and "свободных мест: 5" in near.text
    assert f"/attachment/apply?district_id={country.districts[('A1', 1)]}&amp;" in near.text  # the apply form's link
    first = apply(client, pid, country.districts[("A1", 1)])
    assert first.status_code == 303
    status = client.get(first.headers["location"] + "?lang=en").text
    assert "The application is approved." in status and "takes effect on 11.09.2025" in status
    mine = client.get("/attachment/my?lang=kk").text
    assert "Бүгін күшіндегі бекіту жоқ." in mine and "Мақұлданған бекіту, 11.09.2025 бастап күшіне енеді" in mine
    for site in ("B1", "A2"):
        assert apply(client, pid, country.districts[(site, 1)]).status_code == 303
    refused = apply(client, pid, country.districts[("B1", 1)], lang="kk")
    assert refused.status_code == 422
    assert "Ұйымды жылына өз еркімен ауыстыру шегіне (2) жетті." in refused.text
    english = apply(client, pid, country.districts[("B1", 1)], lang="en")
    assert "The limit of voluntary changes of organization per year (2) is reached." in english.text


def test_citizen_applies_for_a_represented_child(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    father = person()
    child = person(
        born=dt.date(2022, 5, 1), documents=[("birth_certificate", None)], addresses=[("actual", "710000000")]
    )
    represent(sessions, father, child)
    sign_in(client, make_actor, Role.CITIZEN, person_id=father)
    page = client.get(f"/attachment/clinics?person={child}&lang=en").text
    assert f'<option value="{child}" selected>' in page
    r = apply(client, child, country.districts[("A1", 2)], basis="actual_residence")
    assert r.status_code == 303, r.text
    mine = client.get("/attachment/my?lang=en").text
    assert "Children I represent" in mine and "Pediatrician" in mine
    neighbour = person()
    sign_in(client, make_actor, Role.CITIZEN, person_id=neighbour)
    refused = apply(client, child, country.districts[("A1", 1)])
    assert refused.status_code == 422 and "valid legal representative" in refused.text


def test_registrar_decides_and_a_stale_form_is_told(
    client: TestClient, make_actor: MakeActor, country: Country, person: Callable[..., int]
) -> None:
    pid = person()
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.a)
    form = client.get("/attachment/record?lang=ru")
    iin = _iin_of(client, pid)
    found = client.post("/attachment/record/lookup", data={"csrf": csrf_of(form.text), "iin": iin})
    assert found.status_code == 200 and "Тестов Тест" in found.text, found.text[-3000:]
    assert iin not in str(found.url)
    scan = ("scan.pdf", b"%PDF-1.4 written application", "application/pdf")
    recorded = client.post(
        "/attachment/record",
        data={
            "csrf": csrf_of(found.text),
            "person_id": str(pid),
            "channel": "written",
            "district_id": str(country.districts[("A1", 1)]),
            "place_basis": "residence_permanent",
            "doc_kind_0": "id_card",
            "doc_number_0": "012345678",
            "doc_kind_1": "written_application",
            "doc_number_1": "W-1",
        },
        files={"doc_file_1": scan},
        follow_redirects=False,
    )
    assert recorded.status_code == 303, recorded.text
    app_url = recorded.headers["location"]
    queue = client.get("/attachment/queue?lang=en").text
    assert "Тестов Тест" in queue and "In writing" in queue and "check the scanned documents" in queue
    page = client.get(app_url + "?lang=en").text
    token, version = csrf_of(page), re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    no_reason = client.post(f"{app_url}/decision", data={"csrf": token, "version": version, "decision": "refuse"})
    assert no_reason.status_code == 422 and "Choose the reason of the refusal." in no_reason.text
    ok = client.post(
        f"{app_url}/decision", data={"csrf": token, "version": version, "decision": "approve"}, follow_redirects=False
    )
    assert ok.status_code == 303 and ok.headers["location"].startswith("/attachment/queue?decided=")
    assert "No applications are waiting for a decision." in client.get(ok.headers["location"]).text
    stale = client.post(
        f"{app_url}/decision?lang=en",
        data={
            "csrf": token,
            "version": version,
            "decision": "refuse",
            "reason_code": "attachment.documents_inaccurate",
        },
    )
    assert stale.status_code == 409
    assert "Someone else has decided or changed this application meanwhile." in stale.text
    assert "The application is approved." in stale.text


def _iin_of(client: TestClient, person_id: int) -> str:
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    with sessions() as s:
        found = s.get(Person, person_id)
        assert found is not None
        return str(found.iin)


def test_registrar_refuses_with_a_reason_in_the_page_language(
    client: TestClient, make_actor: MakeActor, country: Country, person: Callable[..., int]
) -> None:
    pid = person()
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.a)
    found = client.post(
        "/attachment/record/lookup",
        data={"csrf": csrf_of(client.get("/attachment/record").text), "iin": _iin_of(client, pid)},
    )
    recorded = client.post(
        "/attachment/record",
        data={
            "csrf": csrf_of(found.text),
            "person_id": str(pid),
            "channel": "written",
            "district_id": str(country.districts[("A1", 1)]),
            "doc_kind_0": "id_card",
            "doc_number_0": "1",
        },
        files={"doc_file_0": ("a.png", b"\x89PNG", "image/png")},
        follow_redirects=False,
    )
    url = recorded.headers["location"]
    page = client.get(url).text
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    client.post(
        f"{url}/decision",
        data={
            "csrf": csrf_of(page),
            "version": version,
            "decision": "refuse",
            "reason_code": "attachment.documents_inaccurate",
            "note": "Скан нечитаем",
        },
    )
    refused = client.get(url + "?lang=kk").text
    assert "Ұсынылған құжаттар немесе деректер дұрыс емес." in refused and "Скан нечитаем" in refused
    sign_in(client, make_actor, Role.CITIZEN, person_id=pid)
    mine = client.get(url + "?lang=ru").text
    assert "Представленные документы или сведения недостоверны." in mine and "Отказано" in mine
    assert 'name="decision"' not in mine


def test_registrar_lookup_explains_an_unknown_or_malformed_iin(
    client: TestClient, make_actor: MakeActor, country: Country
) -> None:
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.a)
    token = csrf_of(client.get("/attachment/record").text)
    bad = client.post("/attachment/record/lookup?lang=en", data={"csrf": token, "iin": "12345"})
    assert bad.status_code == 422 and "Enter an IIN of 12 digits." in bad.text
    unknown = client.post("/attachment/record/lookup?lang=en", data={"csrf": token, "iin": "880315300123"})
    assert unknown.status_code == 404 and "No person with this IIN is registered." in unknown.text
    assert client.post("/attachment/record/lookup", data={"iin": "880315300123"}).status_code == 403


def test_population_filters_and_pages(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    now: Callable[[dt.datetime], None],
) -> None:
    women = [person(sex="female") for _ in range(3)]
    man = person()
    for pid in [*women, man]:
        sign_in(client, make_actor, Role.CITIZEN, person_id=pid)
        assert apply(client, pid, country.districts[("A1", 1)]).status_code == 303
    now(dt.datetime(2025, 9, 12, 10, tzinfo=dt.UTC))
    sign_in(client, make_actor, Role.REGISTRAR, entity_id=country.a)
    everyone = client.get("/attachment/population?lang=en").text
    assert "found: 4" in everyone
    assert "found: 3" in client.get("/attachment/population?sex=female").text
    assert "found: 4" in client.get(f"/attachment/population?district={country.districts[('A1', 1)]}").text
    assert "found: 0" in client.get("/attachment/population?profile=pediatric").text
    assert "found: 4" in client.get("/attachment/population?band=18-39").text
    assert "found: 0" in client.get("/attachment/population?band=65%2B").text
    assert "found: 4" in client.get("/attachment/population?sex=nonsense&page=x").text


def test_fund_dashboard_draws_svg_charts(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    pid = person()
    sign_in(client, make_actor, Role.CITIZEN, person_id=pid)
    apply(client, pid, country.districts[("A1", 1)])
    apply(client, pid, country.districts[("B1", 1)])
    fund = sign_in(client, make_actor, Role.FUND_ADMIN)
    html = client.get("/attachment/dashboard?year=2025&lang=en").text
    assert html.count("<svg") >= 2 and 'role="img"' in html and "<script" not in html.split("</head>")[1]
    assert "Applications per day" in html and "Flows between organizations" in html
    assert "No previous attachment →" in html and "10.09" in html
    assert "No refusals in this year." in html
    policies = client.get("/attachment/policies?lang=ru").text
    assert "2025" in policies and "01.09.2025" in policies
    with sessions.begin() as s:
        snap = capitation.take_snapshot(session=s, actor=fund, as_of=dt.date(2025, 9, 10), today=dt.date(2025, 9, 10))
        snap_id = snap.id
    listing = client.get("/attachment/snapshots?lang=en").text
    assert f'href="/api/v1/attachment/capitation/snapshots/{snap_id}/export"' in listing
    assert client.get(f"/api/v1/attachment/capitation/snapshots/{snap_id}/export").status_code == 200
