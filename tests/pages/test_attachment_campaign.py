"""The Fund's page that creates next year's campaign, the citizen's notification settings, and the
counter of automatic refusals on the Fund's dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.application import refusals
from emhana.attachment.models import CampaignPolicy, RefusalCount
from emhana.notify.models import Notification, NotificationContact
from tests.builders.attachment import AFTER_WINDOW, Country
from tests.builders.web import csrf_of, login

MakeActor = Callable[..., tuple[Actor, str]]
POLICY_FIELDS = (
    "year",
    "window_start",
    "window_end",
    "effective_date",
    "max_voluntary_changes_per_year",
    "allow_work_basis",
    "border_exception",
    "capacity_check",
    "atu_level",
    "version",
    "source",
)


def sign_in(client: TestClient, make_actor: MakeActor, role: Role, **kw: int | None) -> Actor:
    actor, _ = make_actor(role, **kw)
    assert login(client, actor.username).status_code == 303
    return actor


def policies(sessions: sessionmaker[Session]) -> dict[int, tuple[Any, ...]]:
    with sessions() as s:
        return {p.year: tuple(getattr(p, f) for f in POLICY_FIELDS) for p in s.scalars(select(CampaignPolicy))}


def policy_form(**changes: str) -> dict[str, str]:
    form = {
        "year": "2027",
        "window_start": "2027-09-01",
        "window_end": "2027-11-01",
        "effective_date": "",
        "max_voluntary_changes_per_year": "2",
        "atu_level": "district",
        "source": "order of the Fund",
        "allow_work_basis": "on",
        "border_exception": "on",
        "capacity_check": "on",
        "allow_study_basis_18plus": "on",
        "children_under_5_actual_residence": "on",
        "first_attachment_any_time": "on",
    }
    form.update(changes)
    return form


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("kk", "Келесі жылғы науқанды құру"),
        ("ru", "Создать кампанию следующего года"),
        ("en", "Create next year's campaign"),
    ],
)
def test_the_campaign_form_speaks_each_language(
    client: TestClient, make_actor: MakeActor, country: Country, lang: str, title: str
) -> None:
    sign_in(client, make_actor, Role.FUND_ADMIN)
    page = client.get(f"/attachment/policies/new?lang={lang}")
    assert page.status_code == 200 and title in page.text
    assert 'value="2027"' in page.text  # the year after the latest recorded campaign (2026)


def test_fund_creates_next_years_campaign_in_the_page_and_past_ones_stay(
    client: TestClient, make_actor: MakeActor, country: Country, sessions: sessionmaker[Session]
) -> None:
    before = policies(sessions)
    sign_in(client, make_actor, Role.FUND_ADMIN)
    token = csrf_of(client.get("/attachment/policies/new?lang=en").text)
    created = client.post("/attachment/policies/new", data={**policy_form(), "csrf": token}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/attachment/policies?created=2027"
    listed = client.get(created.headers["location"] + "&lang=ru")
    assert "Кампания 2027 года создана." in listed.text
    after = policies(sessions)
    assert {y: after[y] for y in before} == before  # past and running campaigns are unchanged
    with sessions() as s:
        row = s.scalar(select(CampaignPolicy).where(CampaignPolicy.year == 2027))
        assert row is not None and row.created_by is not None
        assert (
            row.effective_date,
            row.max_voluntary_changes_per_year,
            row.year_round,
            row.allow_work_basis,
            row.source,
        ) == (dt.date(2028, 1, 1), 2, False, True, "order of the Fund")  # A-05 default
    again = client.post("/attachment/policies/new?lang=en", data={**policy_form(), "csrf": token})
    assert again.status_code == 409 and "2027" in again.text and 'id="policy-error"' in again.text
    assert policies(sessions) == after


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        (
            {"window_start": "2028-11-01", "window_end": "2028-09-01", "year": "2028"},
            422,
            "the campaign window ends before it begins",
        ),
        (
            {"window_start": "2028-09-01", "window_end": "2028-11-01"},
            422,
            "the campaign window must begin in the campaign year",
        ),
        ({"window_end": "soon"}, 422, "Fill in the campaign year and both dates of the window"),
        ({"year": "2025", "window_start": "2025-09-01", "window_end": "2025-11-01"}, 409, "2025"),
    ],
)
def test_a_wrong_campaign_form_shows_its_error_and_creates_nothing(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    sessions: sessionmaker[Session],
    changes: dict[str, str],
    status: int,
    message: str,
) -> None:
    before = policies(sessions)
    sign_in(client, make_actor, Role.FUND_ADMIN)
    token = csrf_of(client.get("/attachment/policies/new?lang=en").text)
    page = client.post("/attachment/policies/new?lang=en", data={**policy_form(**changes), "csrf": token})
    assert page.status_code == status and message in page.text, page.text[:3000]
    assert 'value="order of the Fund"' in page.text or "order of the Fund" in page.text  # what was typed stays
    assert policies(sessions) == before


def test_the_campaign_form_needs_csrf_and_the_fund(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    before = policies(sessions)
    sign_in(client, make_actor, Role.FUND_ADMIN)
    assert client.post("/attachment/policies/new", data=policy_form()).status_code == 403
    client.cookies.clear()
    sign_in(client, make_actor, Role.CITIZEN, person_id=person())
    assert client.get("/attachment/policies/new", headers={"Accept": "text/html"}).status_code == 403
    assert policies(sessions) == before


def contact(sessions: sessionmaker[Session], person_id: int) -> tuple[str | None, str | None] | None:
    with sessions() as s:
        row = s.scalar(
            select(NotificationContact).where(
                NotificationContact.recipient_kind == "person", NotificationContact.recipient_id == person_id
            )
        )
        return (row.language, row.email) if row else None


def test_citizen_sets_notice_language_and_email_and_the_next_notice_follows(
    client: TestClient,
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    pid = person()
    sign_in(client, make_actor, Role.CITIZEN, person_id=pid)
    page = client.get("/attachment/notifications?lang=kk")
    assert page.status_code == 200 and "Хабарлама баптаулары" in page.text
    token = csrf_of(page.text)
    saved = client.post(
        "/attachment/notifications",
        data={"csrf": token, "notice_language": "kk", "email": "  aigul@example.kz "},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Хабарлама баптаулары сақталды." in client.get(saved.headers["location"] + "&lang=kk").text
    assert contact(sessions, pid) == ("kk", "aigul@example.kz")
    apply_page = client.get("/attachment/clinics?lang=en")
    client.post(
        "/attachment/apply",
        data={
            "csrf": csrf_of(apply_page.text),
            "person_id": str(pid),
            "district_id": str(country.districts[("A1", 1)]),
            "place_basis": "residence_permanent",
        },
    )
    with sessions() as s:
        sent = s.scalars(select(Notification).where(Notification.recipient_id == pid)).all()
    assert [(n.language, n.channel, n.address) for n in sent] == [("kk", "email", "aigul@example.kz")]
    cleared = client.post("/attachment/notifications", data={"csrf": token, "notice_language": "ru", "email": ""})
    assert cleared.status_code == 200 and contact(sessions, pid) == ("ru", None)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"notice_language": "en", "email": ""}, "Choose Kazakh or Russian."),
        ({"notice_language": "kk", "email": "not an address"}, "The e-mail address is not valid."),
        ({"notice_language": "ru", "email": "a@b"}, "The e-mail address is not valid."),
    ],
)
def test_wrong_notification_settings_are_refused_and_change_nothing(
    client: TestClient,
    make_actor: MakeActor,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
    form: dict[str, str],
    message: str,
) -> None:
    pid = person()
    sign_in(client, make_actor, Role.CITIZEN, person_id=pid)
    token = csrf_of(client.get("/attachment/notifications?lang=en").text)
    page = client.post("/attachment/notifications?lang=en", data={**form, "csrf": token})
    assert page.status_code == 422 and message in page.text
    assert contact(sessions, pid) is None
    assert client.post("/attachment/notifications", data={"notice_language": "kk", "email": ""}).status_code == 403
    assert contact(sessions, pid) is None


def refusal_rows(sessions: sessionmaker[Session]) -> list[tuple[int, dt.date, str, str, int]]:
    with sessions() as s:
        return [
            (r.campaign_year, r.day, r.reason_code, r.channel, r.count)
            for r in s.scalars(select(RefusalCount).order_by(RefusalCount.reason_code))
        ]


def test_automatic_refusals_are_counted_apart_and_shown_on_the_dashboard(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    counts: Callable[[], tuple[int, ...]],
    sessions: sessionmaker[Session],
    now: Callable[[dt.datetime], None],
) -> None:
    full = country.districts[("A1", 3)]  # a therapist district with one place
    first, second, third = person(), person(), person()
    url = "/api/v1/attachment/applications"
    assert (
        client.post(
            url, headers=auth(Role.CITIZEN, person_id=first), json={"person_id": first, "district_id": full}
        ).status_code
        == 201
    )
    before = counts()
    for pid in (second, third):
        refused = client.post(
            url, headers=auth(Role.CITIZEN, person_id=pid), json={"person_id": pid, "district_id": full}
        )
        assert refused.json()["code"] == "attachment.capacity_exceeded"
    assert counts() == before  # the refusal itself writes nothing
    day = dt.date(2025, 9, 10)
    assert refusal_rows(sessions) == [(2025, day, "attachment.capacity_exceeded", "egov", 2)]
    now(AFTER_WINDOW)  # a voluntary change after the window: refused with its own code
    closed = client.post(
        url,
        headers=auth(Role.CITIZEN, person_id=first),
        json={"person_id": first, "district_id": country.districts[("B1", 1)]},
    )
    assert closed.json()["code"] == "attachment.campaign_closed"
    assert refusal_rows(sessions)[0] == (2025, AFTER_WINDOW.date(), "attachment.campaign_closed", "egov", 1)
    with sessions() as s:
        assert refusals.by_reason(s, 2025) == {"attachment.capacity_exceeded": 2, "attachment.campaign_closed": 1}
        assert refusals.by_reason(s, 2026) == {}
    sign_in(client, make_actor, Role.FUND_ADMIN)
    board = client.get("/attachment/dashboard?year=2025&lang=en").text
    assert "Automatic" in board and "By a registrar" in board
    assert '<td class="num">0</td><td class="num">2</td><td class="num">2</td>' in board
