"""The attachment campaign through the HTTP API: the three channels, each bad input with its own code
and nothing written, idempotent retries, ETag / If-Match, the queue, free places and the policies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.app import create_app
from emhana.audit.models import ChainCheckpoint
from emhana.facilities.rules import InclusionStatus
from emhana.facilities.service import get_entity, set_inclusion
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.config import Settings
from emhana.trust.chain import checkpoint
from tests.builders.attachment import AFTER_WINDOW, Country
from tests.builders.people import represent

URL = "/api/v1/attachment"
D = dt.date


def apply(client: TestClient, headers: dict[str, str], person_id: int, district_id: int, **kw: Any) -> Any:
    return client.post(
        f"{URL}/applications", headers=headers, json={"person_id": person_id, "district_id": district_id, **kw}
    )


def citizen(auth: Callable[..., dict[str, str]], person_id: int) -> dict[str, str]:
    return auth(Role.CITIZEN, person_id=person_id)


def test_egov_channel_with_idempotent_retry(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    counts: Callable[[], tuple[int, ...]],
    now: Callable[[dt.datetime], None],
) -> None:
    pid = person()
    headers = {**citizen(auth, pid), "Idempotency-Key": "apply-1"}
    first = apply(client, headers, pid, country.districts[("A1", 1)])
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["state"] == "approved" and body["channel"] == "egov"
    assert body["attachment"]["begin_date"] == "2025-09-11"
    assert first.headers["etag"] == f'"application-{body["id"]}-v1"'
    written = counts()
    again = apply(client, headers, pid, country.districts[("A1", 1)])
    assert again.status_code == 201 and again.json() == body and counts() == written
    other = apply(client, headers, pid, country.districts[("B1", 1)])
    assert other.status_code == 422 and other.json()["code"] == "core.idempotency_mismatch"
    change = apply(client, citizen(auth, pid), pid, country.districts[("B1", 1)])
    assert change.json()["attachment"]["begin_date"] == "2026-01-01"
    now(dt.datetime(2025, 9, 12, 10, tzinfo=KZ_TIME))
    mine = client.get(f"{URL}/me", headers=citizen(auth, pid)).json()
    assert mine["me"]["current"]["entity_id"] == country.a and mine["me"]["upcoming"]["entity_id"] == country.b
    assert [h["end_reason"] for h in mine["me"]["history"]] == [None, "transfer"]
    assert len(mine["me"]["applications"]) == 2 and mine["represented"] == []


def test_in_person_channel_by_registrar(
    client: TestClient, auth: Callable[..., dict[str, str]], country: Country, person: Callable[..., int]
) -> None:
    father = person()
    child = person(born=D(2016, 4, 1), documents=[("birth_certificate", None)])
    represent(client.app.state.sessions, father, child)  # type: ignore[attr-defined]
    registrar = auth(Role.REGISTRAR, entity_id=country.a)
    resp = apply(
        client,
        registrar,
        child,
        country.districts[("A1", 2)],
        applicant_person_id=father,
        documents=[
            {"holder": "person", "kind": "birth_certificate", "number": "I-АЛ 1234567"},
            {"holder": "applicant", "kind": "id_card", "number": "045678912", "expires_on": "2030-01-01"},
        ],
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["state"] == "approved" and resp.json()["channel"] == "in_person"
    as_father = client.get(f"{URL}/me", headers=citizen(auth, father)).json()
    assert as_father["represented"][0]["person_id"] == child
    assert client.get(f"{URL}/persons/{child}", headers=registrar).status_code == 200
    assert client.get(f"{URL}/persons/{child}", headers=citizen(auth, person())).status_code == 403


def test_written_channel_with_upload_queue_and_if_match(
    client: TestClient, auth: Callable[..., dict[str, str]], country: Country, person: Callable[..., int]
) -> None:
    pensioner = person(born=D(1950, 2, 2))
    registrar = auth(Role.REGISTRAR, entity_id=country.a)
    import json

    resp = client.post(
        f"{URL}/applications/written",
        headers={**registrar, "Idempotency-Key": "w-1"},
        data={
            "application": json.dumps(
                {
                    "person_id": pensioner,
                    "district_id": country.districts[("A1", 1)],
                    "documents": [
                        {"kind": "id_card", "number": "012345678"},
                        {"kind": "pension_certificate", "number": "PC-77"},
                    ],
                }
            )
        },
        files=[
            ("files", ("application.pdf", b"%PDF-1.4 letter", "application/pdf")),
            ("files", ("pension.jpg", b"\xff\xd8jpeg", "image/jpeg")),
        ],
    )
    assert resp.status_code == 201, resp.text
    app = resp.json()
    assert app["state"] == "submitted" and app["review"][0]["code"] == "written"
    assert set(app["review"][0]["messages"]) == {"kk", "ru", "en"}
    assert app["deadline"] == "2025-09-11T18:00:00+05:00"  # close of business, the next working day
    assert [d["sha256"] is not None for d in app["documents"]] == [True, True]
    queue = client.get(f"{URL}/queue", headers=registrar).json()
    assert [q["id"] for q in queue] == [app["id"]] and queue[0]["overdue"] is False
    scan = client.get(f"{URL}/applications/{app['id']}/documents/{app['documents'][0]['id']}", headers=registrar)
    assert scan.content == b"%PDF-1.4 letter"
    decision = f"{URL}/applications/{app['id']}/decision"
    missing = client.post(decision, headers=registrar, json={"decision": "approve"})
    assert missing.status_code == 428 and missing.json()["code"] == "core.precondition_required"
    stale = client.post(
        decision, headers={**registrar, "If-Match": f'"application-{app["id"]}-v9"'}, json={"decision": "approve"}
    )
    assert stale.status_code == 412 and stale.json()["code"] == "core.version_conflict"
    etag = client.get(f"{URL}/applications/{app['id']}", headers=registrar).headers["etag"]
    done = client.post(
        decision,
        headers={**registrar, "If-Match": etag, "Idempotency-Key": "d-1"},
        json={"decision": "approve", "note": "documents checked"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "approved" and done.headers["etag"] == f'"application-{app["id"]}-v2"'
    replay = client.post(
        decision,
        headers={**registrar, "If-Match": etag, "Idempotency-Key": "d-1"},
        json={"decision": "approve", "note": "documents checked"},
    )
    assert replay.json() == done.json()
    again = client.post(
        decision,
        headers={**registrar, "If-Match": done.headers["etag"]},
        json={"decision": "refuse", "reason_code": "attachment.documents_inaccurate"},
    )
    assert again.status_code == 409 and again.json()["code"] == "attachment.already_decided"


def test_registrar_refusal_gives_a_reasoned_text_in_three_languages(
    client: TestClient, auth: Callable[..., dict[str, str]], country: Country, person: Callable[..., int]
) -> None:
    pid = person()
    registrar = auth(Role.REGISTRAR, entity_id=country.a)
    import json

    app = client.post(
        f"{URL}/applications/written",
        headers=registrar,
        data={
            "application": json.dumps(
                {
                    "person_id": pid,
                    "district_id": country.districts[("A1", 1)],
                    "documents": [{"kind": "id_card", "number": "1"}],
                }
            )
        },
        files=[("files", ("a.pdf", b"%PDF", "application/pdf"))],
    ).json()
    resp = client.post(
        f"{URL}/applications/{app['id']}/decision",
        headers={**registrar, "If-Match": f'"application-{app["id"]}-v1"'},
        json={"decision": "refuse", "reason_code": "attachment.change_limit"},
    )
    reason = resp.json()["reason"]
    assert resp.json()["state"] == "refused" and reason["code"] == "attachment.change_limit"
    assert set(reason["messages"]) == {"kk", "ru", "en"} and "(2)" in reason["messages"]["en"]


def _fill_two_changes(client: TestClient, auth: Callable[..., dict[str, str]], country: Country, pid: int) -> None:
    for site in ("A1", "B1", "A2"):
        assert apply(client, citizen(auth, pid), pid, country.districts[(site, 1)]).status_code == 201


BAD = [
    "outside_window",
    "entity_not_in_database",
    "beyond_change_limit",
    "minor_without_representative",
    "minor_with_expired_representation",
    "expired_document",
    "dead_person",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_with_its_own_code_and_nothing_changes(
    case: str,
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    counts: Callable[[], tuple[int, ...]],
    now: Callable[[dt.datetime], None],
    sessions: sessionmaker[Session],
) -> None:
    pid = person()
    headers = citizen(auth, pid)
    body: dict[str, Any]
    target, body = country.districts[("A1", 1)], {}
    if case == "outside_window":
        apply(client, headers, pid, country.districts[("B1", 1)])
        now(AFTER_WINDOW)
        expected = "attachment.campaign_closed"
    elif case == "entity_not_in_database":
        with sessions.begin() as s:
            set_inclusion(
                session=s,
                actor=None,
                entity=get_entity(session=s, entity_id=country.b),
                status=InclusionStatus.EXCLUDED,
                effective_from=D(2025, 9, 1),
                reason="excluded",
            )
        target, expected = country.districts[("B1", 1)], "attachment.entity_not_participating"
    elif case == "beyond_change_limit":
        _fill_two_changes(client, auth, country, pid)
        target, expected = country.districts[("B1", 1)], "attachment.change_limit"
    elif case in ("minor_without_representative", "minor_with_expired_representation"):
        child = person(born=D(2015, 1, 1), documents=[("birth_certificate", None)])
        if case == "minor_with_expired_representation":
            represent(sessions, pid, child, valid_to=D(2025, 1, 1))
        body, expected = {"person_id": child}, "attachment.representative_required"
    elif case == "expired_document":
        headers = auth(Role.REGISTRAR, entity_id=country.a)
        body = {"documents": [{"kind": "id_card", "number": "0123", "expires_on": "2024-12-31"}]}
        expected = "attachment.document_expired"
    else:
        dead = person(death=D(2025, 8, 20))
        headers, body, expected = citizen(auth, dead), {"person_id": dead}, "attachment.person_dead"
    before = counts()
    resp = client.post(
        f"{URL}/applications",
        headers={**headers, "Idempotency-Key": f"bad-{case}"},
        json={"person_id": pid, "district_id": target, **body},
    )
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == expected
    assert set(problem["messages"]) == {"kk", "ru", "en"} and len(set(problem["messages"].values())) == 3
    assert counts() == before


def test_free_places_are_shown_before_choosing(
    client: TestClient, auth: Callable[..., dict[str, str]], country: Country, person: Callable[..., int]
) -> None:
    pid = person()
    apply(client, citizen(auth, pid), pid, country.districts[("A1", 1)])
    free = client.get(f"{URL}/sites/{country.sites['A1']}/free").json()
    assert [(d["number"], d["capacity"], d["attached"], d["free"]) for d in free["districts"]] == [
        (1, 5, 1, 4),
        (2, 5, 0, 5),
        (3, 1, 0, 1),
    ]
    near = client.get(f"{URL}/near", params={"lat": 51.13, "lon": 71.43, "limit": 3}).json()
    assert near[0]["site_id"] == country.sites["A1"] and near[0]["free"] == 10
    assert client.get(f"{URL}/near", params={"lat": 10, "lon": 71}).json()["code"] == "geo.outside_kazakhstan"
    assert client.get(f"{URL}/sites/999999/free").status_code == 404


def test_calendar_and_deadline_are_public(client: TestClient) -> None:
    days = {d["date"]: d for d in client.get(f"{URL}/calendar/2025").json()}
    assert days["2025-09-01"]["kind"] == "substitute" and days["2025-08-30"]["name_kk"] == "Конституция күні"
    due = client.get(f"{URL}/deadline", params={"submitted_at": "2025-10-24T20:00:00+05:00"}).json()
    assert due["deadline"] == "2025-10-28T18:00:00+05:00"


def test_fund_creates_next_year_and_past_campaigns_stay(
    client: TestClient, auth: Callable[..., dict[str, str]], country: Country, now: Callable[[dt.datetime], None]
) -> None:
    now(dt.datetime(2026, 11, 22, 10, tzinfo=KZ_TIME))
    fund = auth(Role.FUND_ADMIN)
    body = {
        "year": 2027,
        "window_start": "2027-09-01",
        "window_end": "2027-11-01",
        "max_voluntary_changes_per_year": 1,
        "source": "A-32 carried over",
    }
    created = client.post(f"{URL}/policies", headers={**fund, "Idempotency-Key": "p-2027"}, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["effective_date"] == "2028-01-01" and created.headers["etag"] == '"policy-2027-v1"'
    assert client.post(f"{URL}/policies", headers=fund, json=body).json()["code"] == "attachment.policy_exists"
    assert [p["year"] for p in client.get(f"{URL}/policies").json()] == [2025, 2026, 2027]
    changed = client.put(
        f"{URL}/policies/2027",
        headers={**fund, "If-Match": '"policy-2027-v1"'},
        json={**body, "max_voluntary_changes_per_year": 2},
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = client.put(f"{URL}/policies/2027", headers={**fund, "If-Match": '"policy-2027-v1"'}, json=body)
    assert stale.status_code == 412
    assert client.put(f"{URL}/policies/2027", headers=fund, json=body).status_code == 428
    past = client.get(f"{URL}/policies/2026").json()
    locked = client.put(
        f"{URL}/policies/2026",
        headers={**fund, "If-Match": '"policy-2026-v1"'},
        json={**{k: past[k] for k in body}, "window_start": "2026-09-01", "year": 2026},
    )
    assert locked.status_code == 409 and locked.json()["code"] == "attachment.policy_locked"
    reversed_window = client.post(
        f"{URL}/policies",
        headers=fund,
        json={**body, "year": 2028, "window_start": "2028-11-01", "window_end": "2028-09-01"},
    )
    assert reversed_window.json()["code"] == "core.invalid_dates"


def test_citizen_cannot_apply_for_another_adult_or_read_foreign_applications(
    client: TestClient, auth: Callable[..., dict[str, str]], country: Country, person: Callable[..., int]
) -> None:
    me, other = person(), person()
    resp = apply(client, citizen(auth, me), other, country.districts[("A1", 1)])
    assert resp.json()["code"] == "attachment.representative_required"
    app = apply(client, citizen(auth, other), other, country.districts[("A1", 1)]).json()
    assert client.get(f"{URL}/applications/{app['id']}", headers=citizen(auth, me)).status_code == 403
    assert client.get(f"{URL}/applications/{app['id']}", headers=citizen(auth, other)).status_code == 200
    assert (
        client.get(f"{URL}/applications/{app['id']}", headers=auth(Role.REGISTRAR, entity_id=country.b)).status_code
        == 403
    )


def test_fund_detaches_redistributes_and_runs_the_daily_job(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    now: Callable[[dt.datetime], None],
) -> None:
    now(AFTER_WINDOW)
    people = [person() for _ in range(3)]
    for pid in people:
        assert apply(client, citizen(auth, pid), pid, country.districts[("B1", 1)]).status_code == 201
    fund = auth(Role.FUND_ADMIN)
    ended = client.post(
        f"{URL}/persons/{people[0]}/detach",
        headers={**fund, "Idempotency-Key": "x-1"},
        json={"reason": "death", "on": "2025-12-09"},
    )
    assert ended.status_code == 200, ended.text
    assert [(e["end_date"], e["end_reason"]) for e in ended.json()["ended"]] == [("2025-12-10", "death")]
    again = client.post(f"{URL}/persons/{people[0]}/detach", headers=fund, json={"reason": "death", "on": "2025-12-09"})
    assert again.status_code == 409 and again.json()["code"] == "attachment.not_attached"
    still = client.post(f"{URL}/entities/{country.b}/redistribute", headers=fund, json={"on": "2025-12-20"})
    assert still.json()["code"] == "attachment.entity_still_participating"
    excluded = client.post(
        f"/api/v1/facilities/entities/{country.b}/inclusions",
        headers=fund,
        json={"status": "excluded", "effective_from": "2025-12-20", "reason": "licence revoked"},
    )
    assert excluded.status_code == 201, excluded.text
    moved = client.post(
        f"{URL}/entities/{country.b}/redistribute",
        headers={**fund, "Idempotency-Key": "r-1"},
        json={"on": "2025-12-20"},
    )
    # The exclusion itself redistributed the two attached people; nobody is left to move.
    assert moved.status_code == 200 and moved.json() == {"moved": 0, "unplaced_person_ids": []}
    for pid in people[1:]:
        # The Fund oversees every organization: its reads of a person state their purpose.
        upcoming = client.get(f"{URL}/persons/{pid}?purpose=oversight", headers=fund).json()["upcoming"]
        assert upcoming["entity_id"] == country.a and upcoming["cause"] == "redistribution"
    now(dt.datetime(2025, 12, 21, 9, tzinfo=KZ_TIME))
    daily = client.post(f"{URL}/jobs/daily", headers=fund, json={"day": "2025-12-21"})
    # The first person's attachment (from 11 December) ended on 10 December, before it took effect: never in effect.
    assert daily.status_code == 200 and daily.json()["in_effect"] == 2


def test_the_daily_job_checkpoints_the_chains_with_the_deployments_key(
    database_url: str, sessions: sessionmaker[Session], auth: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    """Issue 14: chain heads are checkpointed on a schedule: after the daily job's work is committed."""
    key = tmp_path / "checkpoint.pem"
    public = checkpoint.new_key(key)
    app = create_app(Settings(database_url=database_url, checkpoint_key=str(key)))
    try:
        with TestClient(app) as client:
            fund = auth(Role.FUND_ADMIN)
            r = client.post(f"{URL}/jobs/daily", headers=fund, json={"day": "2025-12-21"})
            assert r.status_code == 200, r.text
    finally:
        app.state.engine.dispose()
    with sessions() as s:
        [(kid,)] = s.execute(select(ChainCheckpoint.kid)).all()
    assert kid == checkpoint.kid_of(checkpoint.load_public(public))
