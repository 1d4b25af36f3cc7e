"""A change outside the campaign for a valid reason (A-42) and the change quota shown before it is used (A-41):
the pure rule of a move, the API's coded refusals in kk/ru/en with nothing written, the reason stored on the
application, the closure of the current organization, and the outlook a form shows before filing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.attachment.enums import ChangeReason, Channel, Outcome, Review
from emhana.attachment.models import Application
from emhana.attachment.rules import evaluate, relocated
from emhana.facilities.models import Entity
from emhana.identity.models import PersonAddress
from tests.builders.attachment import AFTER_WINDOW, Country
from tests.builders.attachment_facts import CURRENT, OUT_OF_WINDOW, facts
from tests.builders.people import represent

URL = "/api/v1/attachment"
D = dt.date


# --- the pure rule -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("then", "now", "moved"),
    [
        ((1, "710000000"), (1, "710000000", None), False),  # the same address as when attached
        ((1, "710000000"), (1, "710000000", D(2025, 1, 1)), False),  # recorded before the attachment
        ((1, "710000000"), (2, "711210000", D(2025, 11, 20)), True),  # recorded after it
        ((1, "710000000"), (2, "711210000", None), True),  # another record in another place
        ((1, "710000000"), (2, "710000000", None), False),  # another record of the same place, undated
        (None, (2, "711210000", D(2025, 1, 1)), False),  # nothing recorded since
        ((1, "710000000"), None, False),  # no address of the basis now
    ],
)
def test_a_move_is_an_address_recorded_since_the_attachment(
    then: tuple[int, str] | None, now: tuple[int, str, dt.date | None] | None, moved: bool
) -> None:
    assert relocated(since=D(2025, 9, 10), then=then, now=now) is moved


def test_relocation_on_egov_needs_a_recorded_move_in_person_a_registrar_checks_it() -> None:
    stayed = dataclasses.replace(CURRENT, moved=False)
    refused = evaluate(facts(day=OUT_OF_WINDOW, reason=ChangeReason.RELOCATION, current=stayed))
    assert refused.outcome is Outcome.REFUSE and refused.reason_code == "attachment.relocation_not_shown"
    moved = evaluate(facts(day=OUT_OF_WINDOW, reason=ChangeReason.RELOCATION))
    assert moved.outcome is Outcome.NEEDS_REGISTRAR and moved.review == (Review.RELOCATION,)
    in_person = evaluate(
        facts(day=OUT_OF_WINDOW, reason=ChangeReason.RELOCATION, current=stayed, channel=Channel.IN_PERSON)
    )
    assert in_person.outcome is Outcome.NEEDS_REGISTRAR and Review.RELOCATION in in_person.review


def test_closure_holds_only_when_the_current_organization_no_longer_takes_part() -> None:
    still = evaluate(facts(day=OUT_OF_WINDOW, reason=ChangeReason.CLOSURE))
    assert still.reason_code == "attachment.reason_not_valid"
    closed = evaluate(
        facts(
            day=OUT_OF_WINDOW,
            reason=ChangeReason.CLOSURE,
            current=dataclasses.replace(CURRENT, entity_participating=False),
        )
    )
    assert closed.outcome is Outcome.APPROVE and closed.cause == "closure"


# --- through the API ------------------------------------------------------------------------------------------


def _apply(client: TestClient, headers: dict[str, str], person_id: int, district_id: int, **kw: Any) -> Any:
    return client.post(
        f"{URL}/applications", headers=headers, json={"person_id": person_id, "district_id": district_id, **kw}
    )


def _attached_then_after(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    now: Callable[[dt.datetime], None],
) -> tuple[int, dict[str, str]]:
    """A person attached at A1 in the 2025 campaign; the clock then stands after it (10 December 2025)."""
    pid = person()
    headers = auth(Role.CITIZEN, person_id=pid)
    assert _apply(client, headers, pid, country.districts[("A1", 1)]).status_code == 201
    now(AFTER_WINDOW)
    return pid, headers


def test_a_reason_outside_a42_is_a_coded_error_in_three_languages_and_nothing_is_written(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    counts: Callable[[], tuple[int, ...]],
    now: Callable[[dt.datetime], None],
) -> None:
    pid, headers = _attached_then_after(client, auth, country, person, now)
    before = counts()
    r = _apply(client, headers, pid, country.districts[("B1", 1)], change_reason="holiday")
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "attachment.reason_unknown"
    assert "relocation" in body["messages"]["en"] and "переезд" in body["messages"]["ru"]
    assert "тұрғылықты жерін ауыстыру" in body["messages"]["kk"]
    closed = _apply(client, headers, pid, country.districts[("B1", 1)])
    assert closed.json()["code"] == "attachment.campaign_closed"
    assert counts() == before


def test_relocation_needs_a_recorded_move_then_waits_for_the_registrar_with_its_reason(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    counts: Callable[[], tuple[int, ...]],
    now: Callable[[dt.datetime], None],
    sessions: sessionmaker[Session],
) -> None:
    pid, headers = _attached_then_after(client, auth, country, person, now)
    before = counts()
    stayed = _apply(client, headers, pid, country.districts[("A2", 1)], change_reason="relocation")
    assert stayed.status_code == 422 and stayed.json()["code"] == "attachment.relocation_not_shown"
    assert counts() == before
    outlook = client.get(f"{URL}/persons/{pid}/outlook", headers=headers).json()
    assert outlook["needs_reason"] is True and outlook["reasons"] == [] and outlook["uses_quota"] is False
    with sessions.begin() as s:  # the state databases record the move on 20 November
        s.execute(update(PersonAddress).where(PersonAddress.person_id == pid).values(valid_to=D(2025, 11, 19)))
        s.add(
            PersonAddress(
                person_id=pid,
                kind="permanent",
                kato_code="711210000",
                kato_version="NK RK 11-2025",
                valid_from=D(2025, 11, 20),
                lat=51.16,
                lon=71.47,
            )
        )
    assert client.get(f"{URL}/persons/{pid}/outlook", headers=headers).json()["reasons"] == ["relocation"]
    moved = _apply(client, headers, pid, country.districts[("A2", 1)], change_reason="relocation")
    assert moved.status_code == 201, moved.text
    assert moved.json()["state"] == "submitted" and moved.json()["change_reason"] == "relocation"
    with sessions() as s:
        stored = s.get(Application, moved.json()["id"])
        assert stored is not None and stored.change_reason == "relocation" and stored.review == "relocation"


def test_closure_is_accepted_once_the_current_organization_lost_its_contract(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    now: Callable[[dt.datetime], None],
    sessions: sessionmaker[Session],
) -> None:
    pid, headers = _attached_then_after(client, auth, country, person, now)
    early = _apply(client, headers, pid, country.districts[("B1", 1)], change_reason="closure")
    assert early.status_code == 422 and early.json()["code"] == "attachment.reason_not_valid"
    with sessions.begin() as s:
        s.execute(update(Entity).where(Entity.id == country.a).values(contract_to=D(2025, 11, 30)))
    assert client.get(f"{URL}/persons/{pid}/outlook", headers=headers).json()["reasons"] == ["closure"]
    done = _apply(client, headers, pid, country.districts[("B1", 1)], change_reason="closure")
    assert done.status_code == 201, done.text
    assert done.json()["state"] == "approved" and done.json()["change_reason"] == "closure"


def test_the_outlook_warns_of_the_quota_and_of_a_change_it_would_replace_and_refuses_a_stranger(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    parent, child = person(), person(born=D(2015, 5, 1), documents=[("birth_certificate", None)])
    represent(sessions, parent, child)
    headers = auth(Role.CITIZEN, person_id=parent)
    first = client.get(f"{URL}/persons/{parent}/outlook", headers=headers).json()
    assert first["attached"] is False and first["uses_quota"] is False and first["window_open"] is True
    assert _apply(client, headers, parent, country.districts[("A1", 1)]).status_code == 201
    attached = client.get(f"{URL}/persons/{parent}/outlook", headers=headers).json()
    assert attached["uses_quota"] is True and attached["changes_used"] == 0 and attached["changes_allowed"] == 2
    assert attached["replaces_change_from"] is None
    assert _apply(client, headers, parent, country.districts[("B1", 1)]).status_code == 201
    changed = client.get(f"{URL}/persons/{parent}/outlook", headers=headers).json()
    assert changed["changes_used"] == 1 and changed["replaces_change_from"] == "2026-01-01"
    assert client.get(f"{URL}/persons/{child}/outlook", headers=headers).status_code == 200
    stranger = auth(Role.CITIZEN, person_id=person())
    refused = client.get(f"{URL}/persons/{child}/outlook", headers=stranger)
    missing = client.get(f"{URL}/persons/99999999/outlook", headers=stranger)
    assert refused.status_code == missing.status_code == 403 and refused.json()["code"] == missing.json()["code"]


def test_the_database_keeps_only_the_reasons_of_a42(
    country: Country, person: Callable[..., int], sessions: sessionmaker[Session]
) -> None:
    pid = person()
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.execute(
            insert(Application).values(
                person_id=pid,
                applicant_person_id=pid,
                channel="egov",
                entity_id=country.a,
                site_id=country.sites["A1"],
                district_id=country.districts[("A1", 1)],
                place_basis="residence_permanent",
                change_reason="holiday",
                state="submitted",
                review="",
                submitted_at=dt.datetime(2025, 9, 10, tzinfo=dt.UTC),
                filed_on=D(2025, 9, 10),
                deadline=dt.datetime(2025, 9, 11, tzinfo=dt.UTC),
                version=1,
            )
        )
    with sessions() as s:
        assert s.scalar(select(Application.id).where(Application.change_reason == "holiday")) is None
