"""Incoming referrals (C-30): the receiving clinic lists the workers referred to it, with the item's name and the
referring organization, and acknowledges a referral once (a repeat is idempotent); another organization gets the
answer of a missing referral; the worker and the referring organization are told, the employer is not."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.attachment.models import Attachment
from emhana.audit.models import AuditEvent
from emhana.facilities.models import Entity
from emhana.identity.models import PersonAddress
from emhana.medbook.labels import item_label
from emhana.medbook.models import JournalEntry, ReferralReceipt
from emhana.medbook.referrals import ACKNOWLEDGE_ACTION, REFERRER_TEMPLATE, WORKER_TEMPLATE, render
from emhana.medbook.views import LIST_READ_ACTION
from emhana.notify.models import Notification
from emhana.notify.outbox import RecipientKind
from tests.builders.medbook import World, counts, csrf_of, issue_book, link_employers, record, sign_in

API = "/api/v1/medbook"


def referred(client: TestClient, w: World) -> tuple[int, int]:
    """Issue the cook's book at A and record a positive carriage test: she is referred to B. Return (book, entry)."""
    bid = int(issue_book(client, w)["id"])
    assert record(client, w, bid, "lab_result", "intestinal_carriage", "positive", who="mis_a").status_code == 201
    entries = client.get(f"{API}/books/{bid}", headers=w.h["rt_a"]).json()["entries"]
    assert entries[-1]["kind"] == "referral" and entries[-1]["referral_entity_id"] == w.b
    return bid, int(entries[-1]["id"])


def acknowledge(client: TestClient, w: World, who: str, entry: int, key: str | None = None) -> Any:
    headers = {**w.h[who], **({"Idempotency-Key": key} if key else {})}
    return client.post(f"{API}/referrals/{entry}/acknowledge", headers=headers, json={})


def messages(sessions: sessionmaker[Session]) -> list[Notification]:
    with sessions() as s:
        return list(
            s.scalars(
                select(Notification)
                .where(Notification.template.in_([WORKER_TEMPLATE, REFERRER_TEMPLATE]))
                .order_by(Notification.id)
            )
        )


def test_the_list_names_the_item_the_referrer_and_the_state(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    bid, entry = referred(client, world)
    with sessions() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == LIST_READ_ACTION))
        a = s.get(Entity, world.a)
        assert a is not None
    [line] = client.get(f"{API}/referrals/incoming", headers=world.h["reg_b"]).json()
    assert (line["entry_id"], line["book_id"], line["to_entity_id"], line["open"], line["acknowledged"]) == (
        entry,
        bid,
        world.b,
        True,
        False,
    )
    assert line["cause_item"] == "intestinal_carriage"
    names = line["cause_item_name"]
    assert set(names) == {"kk", "ru", "en"} and "intestinal_carriage" not in names.values()
    assert len(set(names.values())) == 3  # named in each language
    assert (line["from_entity_name_kk"], line["from_entity_name_ru"]) == (a.name_kk, a.name_ru)
    with sessions() as s:
        after = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == LIST_READ_ACTION))
    assert after == (before or 0) + 1  # the listed book's read is logged
    assert client.get(f"{API}/referrals/incoming", headers=world.h["clin_a"]).json() == []  # A referred, not B


def test_acknowledge_once_idempotent_and_told(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    link_employers(client, world)
    bid, entry = referred(client, world)
    first = acknowledge(client, world, "clin_b", entry, key="ack-1")
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["entry_id"], body["entity_id"], body["acknowledged_by"]) == (
        entry,
        world.b,
        world.actors["clin_b"].account_id,
    )
    rows = counts(sessions)
    replay = acknowledge(client, world, "clin_b", entry, key="ack-1")
    assert replay.status_code == 200 and replay.json() == body
    again = acknowledge(client, world, "reg_b", entry)  # another member of B's staff, no key: the first receipt
    assert again.status_code == 200 and again.json() == body
    assert counts(sessions) == rows  # nothing more written: no entry, no audit event, no message, no key
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ReferralReceipt)) == 1
        assert (
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == ACKNOWLEDGE_ACTION)) == 1
        )
    sent = messages(sessions)
    assert sorted((m.template, m.recipient_kind, m.recipient_id) for m in sent) == sorted(
        [
            (WORKER_TEMPLATE, RecipientKind.PERSON.value, world.cook),
            (REFERRER_TEMPLATE, RecipientKind.ENTITY.value, world.a),
        ]
    )
    employer = world.actors["employer"].account_id
    assert not [m for m in sent if m.recipient_id == employer and m.recipient_kind == RecipientKind.ACCOUNT.value]
    with sessions() as s:
        b = s.get(Entity, world.b)
        assert b is not None
    for m in sent:
        params = json.loads(m.params)
        assert "intestinal_carriage" not in m.params and "positive" not in m.params  # no clinical cause queued
        english = render(m.template, "en", params)
        assert "10.03.2026" in english[1] and "{" not in english[1]
        for lang, name in (("kk", b.name_kk), ("ru", b.name_ru)):
            subject, text = render(m.template, lang, params)
            assert name in text and subject != english[0] and "{" not in text
    [line] = client.get(f"{API}/referrals/incoming", headers=world.h["reg_b"]).json()
    assert line["acknowledged"] is True and line["acknowledged_on"] == "2026-03-10"
    referral = client.get(f"{API}/books/{bid}", headers=world.h["rt_a"]).json()["entries"][-1]
    assert (referral["referral_state"], referral["referral_acknowledged_on"]) == ("acknowledged", "2026-03-10")


def test_another_organization_gets_the_answer_of_a_missing_referral(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    _, entry = referred(client, world)
    with sessions() as s:
        missing = (s.scalar(select(func.max(JournalEntry.id))) or 0) + 1000
        cause = s.scalar(select(JournalEntry.caused_by_id).where(JournalEntry.id == entry))
    rows = counts(sessions)
    answers = []
    for who, target in (("clin_a", entry), ("rt_x", entry), ("reg_b", missing), ("reg_b", cause)):
        r = acknowledge(client, world, who, target or 0)
        answers.append((r.status_code, r.json()["code"]))
        assert r.headers["content-type"].startswith("application/problem+json")
    assert answers == [(404, "medbook.referral_not_found")] * 4  # A issued it, X is elsewhere; a result is no referral
    assert counts(sessions) == rows  # a refusal writes nothing
    for lang in ("kk", "ru", "en"):
        r = client.post(
            f"{API}/referrals/{entry}/acknowledge", headers={**world.h["clin_a"], "Accept-Language": lang}, json={}
        )
        assert r.status_code == 404
    assert acknowledge(client, world, "cook", entry).status_code == 403
    assert acknowledge(client, world, "employer", entry).status_code == 403


def test_the_page_lists_and_acknowledges(client: TestClient, sessions: sessionmaker[Session], world: World) -> None:
    bid, entry = referred(client, world)
    sign_in(client, world, "reg_b")
    pages = {lang: client.get(f"/medbook/referrals?lang={lang}") for lang in ("kk", "ru", "en")}
    label = item_label("intestinal_carriage")
    for lang, page in pages.items():
        assert page.status_code == 200, page.text
        assert "intestinal_carriage" not in page.text and "10.03.2026" in page.text
        assert label.in_language(lang) in page.text
        assert f'action="/medbook/referrals/{entry}/acknowledge"' in page.text
    assert len({p.text.split('id="incoming-referrals"')[1][:2000] for p in pages.values()}) == 3
    page = pages["ru"]
    refused = client.post(f"/medbook/referrals/{entry}/acknowledge", data={"csrf": "wrong"})
    assert refused.status_code == 403
    done = client.post(
        f"/medbook/referrals/{entry}/acknowledge", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/medbook/referrals?done=acknowledged"
    after = client.get("/medbook/referrals?lang=en").text
    assert "Acknowledged on 10.03.2026" in after and f'action="/medbook/referrals/{entry}/acknowledge"' not in after
    sign_in(client, world, "clin_a")  # A's clinician: B's referral is not to A, answered as missing
    other = client.get("/medbook/referrals?lang=en")
    assert f"referral-{entry}" not in other.text
    no = client.post(f"/medbook/referrals/{entry}/acknowledge?lang=en", data={"csrf": csrf_of(other.text)})
    assert no.status_code == 404 and "There is no such referral to your organization." in no.text
    assert bid


def test_the_issuing_clinic_sees_its_referrals_without_a_target(
    client: TestClient, sessions: sessionmaker[Session], world: World
) -> None:
    with sessions.begin() as s:  # attached by workplace, no address of residence: no PHC clinic can be chosen
        s.execute(update(Attachment).where(Attachment.person_id == world.cook).values(place_basis="work"))
        s.execute(delete(PersonAddress).where(PersonAddress.person_id == world.cook))
    bid = int(issue_book(client, world)["id"])
    assert record(client, world, bid, "lab_result", "intestinal_carriage", "positive", who="mis_a").status_code == 201
    entry = client.get(f"{API}/books/{bid}", headers=world.h["rt_a"]).json()["entries"][-1]
    assert (entry["kind"], entry["referral_entity_id"], entry["referral_state"]) == ("referral", None, "no_target")
    sign_in(client, world, "clin_a")
    page = client.get("/medbook/referrals?lang=kk").text
    assert 'id="untargeted-referrals"' in page and "Қабылдайтын ұйымы жоқ жолдамалар" in page
    assert label_kk() in page.split('id="untargeted-referrals"')[1]
    sign_in(client, world, "reg_b")  # nobody else sees it
    assert 'id="untargeted-referrals"' not in client.get("/medbook/referrals?lang=kk").text
    assert client.get(f"{API}/referrals/incoming", headers=world.h["reg_b"]).json() == []


def label_kk() -> str:
    return item_label("intestinal_carriage").in_language("kk")
