"""Suspension that tells the truth (C-30, C-31): a positive result revokes the worker's seal with the reason
"suspended" (the verifier, its page and its API say "clearance suspended", not "superseded"); the worker, her
employer and the receiving clinic are told through the outbox, the employer without the cause; a new clearance
after negative controls issues a new seal that verifies VALID."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.service import Actor
from emhana.facilities.models import Entity
from emhana.medbook.suspension import CLINIC_TEMPLATE, EMPLOYER_TEMPLATE, WORKER_TEMPLATE, render
from emhana.notify.models import Notification
from emhana.notify.outbox import RecipientKind
from emhana.trust.models import IssuedSeal
from emhana.trust.scheme import publish
from emhana.trust.seals import kzmb1 as trust_seal
from emhana.trust.seals.verifier import Outcome, Result, verify
from tests.builders.medbook import (
    CAFE_IIN,
    CAFE_JOB,
    NOW,
    World,
    add_employer,
    granted_book,
    link_employers,
    record,
    sign_in,
)
from tests.builders.signatures import sign_entries

API = "/api/v1/medbook"


def check(sessions: sessionmaker[Session], text: str, at: dt.datetime = NOW) -> Result:
    """Verify a seal as an offline verifier holding the service's live trust and revocation lists would."""
    with sessions.begin() as s:
        return verify(text, publish.context(s, now=at), at)


def current_seal(client: TestClient, w: World) -> str | None:
    """Return the seal on the worker's own PDF, or None when it carries none."""
    sign_in(client, w, "cook")
    r = client.get("/medbook/my/book.pdf")
    assert r.status_code == 200, r.text
    images = [image for page in PdfReader(io.BytesIO(r.content)).pages for image in page.images]
    return trust_seal.read_qr(images[0].data) if images else None


def messages(sessions: sessionmaker[Session], *templates: str) -> list[Notification]:
    with sessions() as s:
        return list(
            s.scalars(select(Notification).where(Notification.template.in_(templates)).order_by(Notification.id))
        )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_a_positive_result_suspends_the_seal_and_a_new_clearance_seals_again(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    link_employers(client, world)
    book = granted_book(client, world)
    bid = int(book["id"])
    first = current_seal(client, world)
    assert first is not None and check(sessions, first).outcome is Outcome.VALID

    positive = record(
        client, world, bid, "lab_result", "intestinal_carriage", "positive", dt.date(2026, 3, 9), who="mis_a"
    )
    assert positive.status_code == 201, positive.text
    verdict = check(sessions, first)
    assert (verdict.outcome, verdict.reason) == (Outcome.SUSPENDED, "suspended")
    with sessions() as s:
        assert [r.status for r in s.scalars(select(IssuedSeal))] == ["suspended"]
    api = client.post("/api/v1/verify", json={"text": first})
    assert api.status_code == 200 and api.json()["outcome"] == "SUSPENDED", api.text
    client.cookies.clear()
    for lang, title in (("ru", "Допуск приостановлен"), ("kk", "Жұмысқа жіберу тоқтатылды")):
        page = client.get(f"/verify?lang={lang}")
        done = client.post(f"/verify?lang={lang}", data={"csrf": csrf_of(page.text), "text": first})
        assert done.status_code == 200 and 'id="outcome">SUSPENDED<' in done.text and title in done.text
        assert "Replaced by a newer version" not in done.text
    assert current_seal(client, world) is None  # no page or PDF shows the suspended seal again

    # C-31: negative controls after the positive one, then a new clearance: a new seal that verifies VALID.
    control = record(client, world, bid, "lab_result", "intestinal_carriage", "negative", dt.date(2026, 3, 10))
    assert control.status_code == 201, control.text
    back = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "granted"})
    assert back.status_code == 201, back.text
    assert current_seal(client, world) is None  # until the therapist signs the new clearance (C-06)
    sign_entries(client, world, back.json()["id"])
    second = current_seal(client, world)
    assert second is not None and second != first
    renewed = check(sessions, second)
    assert renewed.outcome is Outcome.VALID and renewed.shown is not None
    assert renewed.shown["record_version"] == 3  # granted, suspended, granted (C-41)
    assert check(sessions, first).outcome is Outcome.SUSPENDED  # the old one stays suspended


def test_the_worker_the_employer_and_the_receiving_clinic_are_told(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    link_employers(client, world)
    bid = int(granted_book(client, world)["id"])
    assert messages(sessions, WORKER_TEMPLATE, EMPLOYER_TEMPLATE, CLINIC_TEMPLATE) == []
    positive = record(
        client, world, bid, "lab_result", "intestinal_carriage", "positive", dt.date(2026, 3, 9), who="mis_a"
    )
    assert positive.status_code == 201, positive.text
    sent = messages(sessions, WORKER_TEMPLATE, EMPLOYER_TEMPLATE, CLINIC_TEMPLATE)
    employer = world.actors["employer"].account_id
    assert sorted((m.template, m.recipient_kind, m.recipient_id) for m in sent) == sorted(
        [
            (WORKER_TEMPLATE, RecipientKind.PERSON.value, world.cook),
            (EMPLOYER_TEMPLATE, RecipientKind.ACCOUNT.value, employer),
            (CLINIC_TEMPLATE, RecipientKind.ENTITY.value, world.b),  # the attached PHC the referral names
        ]
    )
    for m in sent:
        english = render(m.template, "en", json.loads(m.params))
        assert "{" not in english[1] and "10.03.2026" in english[1]  # the day of the suspension
        for lang in ("kk", "ru"):
            subject, body = render(m.template, lang, json.loads(m.params))
            assert "{" not in body and subject != english[0] and body != english[1]  # translated
    worker = next(m for m in sent if m.template == WORKER_TEMPLATE)
    with sessions() as s:
        clinic = s.get(Entity, world.b)
        assert clinic is not None
        assert clinic.name_ru in render(WORKER_TEMPLATE, "ru", json.loads(worker.params))[1]
    boss = next(m for m in sent if m.template == EMPLOYER_TEMPLATE)
    for lang in ("kk", "ru", "en"):
        text = " ".join(render(EMPLOYER_TEMPLATE, lang, json.loads(boss.params))).lower()
        assert "intestinal" not in text and "кишеч" not in text and "positive" not in text
    assert set(json.loads(boss.params)) == {"book_id", "day", "worker", "position"}  # nothing clinical queued
    # A manual suspension by the responsible therapist tells the worker and the employer again (no referral).
    r = client.post(f"{API}/books/{bid}/clearance", headers=world.h["rt_a"], json={"decision": "suspended"})
    assert r.status_code == 201, r.text
    again = messages(sessions, WORKER_TEMPLATE, EMPLOYER_TEMPLATE, CLINIC_TEMPLATE)[len(sent) :]
    assert sorted(m.template for m in again) == sorted([WORKER_TEMPLATE, EMPLOYER_TEMPLATE])


def test_every_current_employer_is_told_and_an_ended_one_is_not(
    client: TestClient,
    world: World,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    """Issue 15: a worker with a second job (an entrepreneur's café) has both employers told of a suspension."""
    link_employers(client, world)
    add_employer(client, world, make_actor, "cafe", CAFE_IIN)
    bid = int(granted_book(client, world)["id"])
    second = client.post(
        f"/api/v1/medbook/books/{bid}/jobs",
        headers=world.h["rt_a"],
        json={**CAFE_JOB, "valid_from": "2026-03-05", "second": True},
    )
    assert second.status_code == 201, second.text
    positive = record(
        client, world, bid, "lab_result", "intestinal_carriage", "positive", dt.date(2026, 3, 9), who="mis_a"
    )
    assert positive.status_code == 201, positive.text
    told = {m.recipient_id for m in messages(sessions, EMPLOYER_TEMPLATE)}
    assert told == {world.actors["employer"].account_id, world.actors["cafe"].account_id}
    assert world.actors["other_employer"].account_id not in told
