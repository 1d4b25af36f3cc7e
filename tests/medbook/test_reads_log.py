"""The worker's "who read my book" list (journey 9, issue 15): Kazakhstan's time with its zone named, the reader's
organization, one line per reader and purpose per visit (repeats within 30 minutes counted, the latest kept), and
pages of 50 with next and previous links, on the JSON API and on the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy.orm import Session, sessionmaker

from emhana.audit.service import record_event
from emhana.facilities.models import Entity
from emhana.kernel.clock import KZ_TIME
from emhana.medbook.reads import collapse_reads
from emhana.medbook.views import READ_ACTION
from tests.builders.medbook import NOW, World, issue_book

API = "/api/v1/medbook"
Clock = Callable[[dt.datetime], None]


def look_up(client: TestClient, w: World, who: str, purpose: str) -> None:
    r = client.post(f"{API}/books/lookup", headers=w.h[who], json={"iin": w.cook_iin, "purpose": purpose})
    assert r.status_code == 200, r.text


def test_repeated_reads_within_half_an_hour_are_one_visit_in_local_time_with_the_organization(
    client: TestClient, world: World, sessions: sessionmaker[Session], at: Clock
) -> None:
    issue_book(client, world)
    for minutes in (0, 5, 20):  # one examination, the page refreshed twice
        at(NOW.replace(hour=14) + dt.timedelta(minutes=minutes))
        look_up(client, world, "clin_a", "periodic examination")
    at(NOW.replace(hour=14, minute=21))
    look_up(client, world, "clin_a", "another purpose")  # another purpose: its own line
    at(NOW.replace(hour=16, minute=2))
    look_up(client, world, "clin_a", "periodic examination")  # after more than 30 minutes: another visit
    assert client.get(f"{API}/me", headers=world.h["cook"]).status_code == 200
    r = client.get(f"{API}/me/reads", headers=world.h["cook"])
    assert r.status_code == 200 and "Link" not in r.headers
    reads = [x for x in r.json() if x["role"] == "clinician"]
    with sessions() as s:
        clinic = s.get(Entity, world.a)
        assert clinic is not None
        name_ru, name_kk = clinic.name_ru, clinic.name_kk
    assert [(x["at"], x["at_local"], x["purpose"], x["count"]) for x in reads] == [
        ("2026-03-10T16:02:00+05:00", "10.03.2026 16:02", "periodic examination", 1),
        ("2026-03-10T14:21:00+05:00", "10.03.2026 14:21", "another purpose", 1),
        ("2026-03-10T14:20:00+05:00", "10.03.2026 14:20", "periodic examination", 3),
    ]
    assert {(x["organization"], x["time_zone"]) for x in reads} == {(name_ru, "Asia/Almaty")}
    owner = [x for x in r.json() if x["role"] == "citizen"]
    assert owner and all(x["organization"] == "" for x in owner)
    page = client.get("/medbook/my?lang=kk", headers=world.h["cook"]).text
    assert "10.03.2026 14:20" in page and "UTC+5" in page and str(escape(name_kk)) in page
    assert "Қашан (Қазақстан уақыты, UTC+5)" in page
    assert '<td class="num">3</td>' in page


def test_the_list_is_paged_by_fifty_with_next_and_previous_links(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    book = issue_book(client, world)
    with sessions.begin() as s:
        for n in range(60):  # sixty visits an hour apart
            record_event(
                session=s,
                actor=world.actors["clin_a"],
                action=READ_ACTION,
                object_type="medical_book",
                object_id=str(book["id"]),
                subject_person_id=world.cook,
                purpose="periodic examination",
                now=(NOW - dt.timedelta(days=10, hours=n)).astimezone(dt.UTC),  # as clock.now() gives it
            )
    first = client.get(f"{API}/me/reads", headers=world.h["cook"])
    assert len(first.json()) == 50 and first.headers["Link"] == '</api/v1/medbook/me/reads?page=2>; rel="next"'
    second = client.get(f"{API}/me/reads?page=2", headers=world.h["cook"])
    assert second.headers["Link"] == '</api/v1/medbook/me/reads?page=1>; rel="prev"'
    assert len(second.json()) == 60 - 50
    assert second.json()[-1]["at_local"] == (NOW - dt.timedelta(days=10, hours=59)).astimezone(KZ_TIME).strftime(
        "%d.%m.%Y %H:%M"
    )
    assert client.get(f"{API}/me/reads?page=0", headers=world.h["cook"]).status_code == 422
    html = client.get("/medbook/my?lang=en", headers=world.h["cook"]).text
    assert 'rel="next" href="/medbook/my?page=2"' in html and 'rel="prev"' not in html
    html2 = client.get("/medbook/my?lang=en&page=2", headers=world.h["cook"]).text
    assert 'rel="prev" href="/medbook/my?page=1"' in html2 and 'rel="next"' not in html2


def test_a_visit_is_cut_by_a_gap_of_its_own_reader_not_by_others() -> None:
    t = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    rows: list[tuple[dt.datetime, tuple[object, ...]]] = [
        (t, (1, "exam")),
        (t - dt.timedelta(minutes=10), (2, "exam")),
        (t - dt.timedelta(minutes=25), (1, "exam")),
        (t - dt.timedelta(minutes=50), (1, "exam")),  # 25 minutes before the previous one: same visit
        (t - dt.timedelta(minutes=81), (1, "exam")),  # 31 minutes: a new visit
    ]
    assert collapse_reads(rows, dt.timedelta(minutes=30)) == [(0, 3), (1, 1), (4, 1)]
