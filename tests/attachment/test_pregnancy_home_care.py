"""A-23 (M) pregnant women by actual residence and A-26 (M) home visits outside the service zone, through the
API, the pages, the notice, and the attachment hash chain (rows written before migration 0013 still verify)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from typing import Any

import pypdf
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.api import notify as notify_api
from emhana.attachment.campaign.policy import forget_policies
from emhana.attachment.models import ATTACHMENT_CHAIN, Application, Attachment, CampaignPolicy
from emhana.attachment.notice.signer import DemoNotificationSigner
from emhana.notify.outbox import RecipientKind, set_contact
from emhana.trust.chain import links as chain
from emhana.trust.chain.verify import verify
from tests.builders.attachment import Country
from tests.builders.web import csrf_of, login

URL = "/api/v1/attachment"
ASTANA_ACTUAL = [("permanent", "710000000"), ("actual", "711210000")]
KARAGANDA = [("permanent", "351000000")]  # another ATU than the Astana sites of the test country


def apply(client: TestClient, headers: dict[str, str], person_id: int, district_id: int, **kw: Any) -> Any:
    return client.post(
        f"{URL}/applications", headers=headers, json={"person_id": person_id, "district_id": district_id, **kw}
    )


def decide(client: TestClient, registrar: dict[str, str], app: dict[str, Any], **body: Any) -> Any:
    return client.post(
        f"{URL}/applications/{app['id']}/decision",
        headers={**registrar, "If-Match": f'"application-{app["id"]}-v{app["version"]}"'},
        json={"decision": "approve", **body},
    )


def care_of(sessions: sessionmaker[Session], application_id: int) -> bool | None:
    with sessions() as s:
        return s.scalars(select(Attachment.care_at_home).where(Attachment.application_id == application_id)).one()


def allow_applicant_choice(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.execute(update(CampaignPolicy).where(CampaignPolicy.year == 2025).values(care_at_home_by_applicant=True))
        forget_policies(s)


@pytest.fixture
def signer(app: FastAPI) -> DemoNotificationSigner:
    demo = DemoNotificationSigner()
    app.dependency_overrides[notify_api.get_signer] = lambda: demo
    return demo


def test_a23_pregnant_woman_by_actual_residence_goes_to_the_registrar(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    counts: Callable[[], tuple[int, ...]],
) -> None:
    pid = person(sex="female", addresses=ASTANA_ACTUAL)
    me = auth(Role.CITIZEN, person_id=pid)
    district = country.districts[("A1", 1)]
    before = counts()
    refused = apply(client, me, pid, district, place_basis="actual_residence")
    assert refused.status_code == 422 and refused.json()["code"] == "attachment.basis_not_allowed"
    assert counts() == before
    resp = apply(client, me, pid, district, place_basis="actual_residence", pregnant=True)
    assert resp.status_code == 201, resp.text
    app = resp.json()
    assert app["state"] == "submitted" and app["pregnant"] is True
    assert [r["code"] for r in app["review"]] == ["pregnancy"]
    assert set(app["review"][0]["messages"]) == {"kk", "ru", "en"}
    registrar = auth(Role.REGISTRAR, entity_id=country.a)
    assert [q["id"] for q in client.get(f"{URL}/queue", headers=registrar).json()] == [app["id"]]
    done = decide(client, registrar, app)
    assert done.status_code == 200, done.text
    att = done.json()["attachment"]
    assert att["place_basis"] == "actual_residence" and att["care_at_home"] is None  # inside the zone


def test_a23_policy_without_pregnant_women_refuses(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        s.execute(update(CampaignPolicy).where(CampaignPolicy.year == 2025).values(pregnant_actual_residence=False))
        forget_policies(s)
    pid = person(sex="female", addresses=ASTANA_ACTUAL)
    resp = apply(
        client,
        auth(Role.CITIZEN, person_id=pid),
        pid,
        country.districts[("A1", 1)],
        place_basis="actual_residence",
        pregnant=True,
    )
    assert resp.status_code == 422 and resp.json()["code"] == "attachment.basis_not_allowed"


@pytest.mark.parametrize(
    ("applicant_may_choose", "asked", "recorded", "expected"),
    [
        (False, True, None, False),  # the applicant's wish alone does not bind the organization
        (False, None, True, True),  # the registrar records the agreement
        (True, True, None, True),  # where the policy allows, the applicant's choice stands
        (True, True, False, False),  # the registrar's record decides
    ],
)
def test_a26_home_visits_outside_the_zone_are_recorded_on_decision(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
    applicant_may_choose: bool,
    asked: bool | None,
    recorded: bool | None,
    expected: bool,
) -> None:
    if applicant_may_choose:
        allow_applicant_choice(sessions)
    pid = person(addresses=KARAGANDA)
    app = apply(
        client,
        auth(Role.CITIZEN, person_id=pid),
        pid,
        country.districts[("A1", 1)],
        border_claim=True,
        **({"care_at_home": asked} if asked is not None else {}),
    ).json()
    assert app["state"] == "submitted" and app["care_at_home"] == asked
    body = {"care_at_home": recorded} if recorded is not None else {}
    done = decide(client, auth(Role.REGISTRAR, entity_id=country.a), app, **body)
    assert done.status_code == 200, done.text
    assert done.json()["attachment"]["care_at_home"] is expected and care_of(sessions, app["id"]) is expected


def test_a26_inside_the_zone_nothing_is_recorded(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    allow_applicant_choice(sessions)
    pid = person()
    app = apply(client, auth(Role.CITIZEN, person_id=pid), pid, country.districts[("A1", 1)], care_at_home=True)
    assert app.status_code == 201 and app.json()["state"] == "approved"
    assert care_of(sessions, app.json()["id"]) is None


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.mark.parametrize(
    ("lang", "line"),
    [
        ("ru", "Обслуживание на дому вне зоны обслуживания"),
        ("kk", "Қызмет көрсету аймағынан тыс үйге келіп қызмет көрсету"),
    ],
)
def test_a26_the_notice_and_the_citizen_page_show_the_agreement(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    make_actor: Callable[..., tuple[Actor, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
    signer: DemoNotificationSigner,
    lang: str,
    line: str,
) -> None:
    pid = person(addresses=KARAGANDA)
    with sessions.begin() as s:
        set_contact(session=s, kind=RecipientKind.PERSON, recipient_id=pid, language=lang, email=None)
    me = auth(Role.CITIZEN, person_id=pid)
    app = apply(client, me, pid, country.districts[("A1", 1)], border_claim=True).json()
    assert decide(client, auth(Role.REGISTRAR, entity_id=country.a), app, care_at_home=True).status_code == 200
    text = text_of(client.get(f"{URL}/applications/{app['id']}/notice.pdf", headers=me).content)
    assert line in text and {"ru": "согласовано", "kk": "келісілді"}[lang] in text
    actor, _ = make_actor(Role.CITIZEN, person_id=pid)
    assert login(client, actor.username).status_code == 303
    page = client.get(f"/attachment/my?lang={lang}")
    assert page.status_code == 200 and line in page.text


def test_a26_inside_the_zone_the_notice_has_no_such_line(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
    signer: DemoNotificationSigner,
) -> None:
    pid = person()
    with sessions.begin() as s:
        set_contact(session=s, kind=RecipientKind.PERSON, recipient_id=pid, language="ru", email=None)
    me = auth(Role.CITIZEN, person_id=pid)
    app = apply(client, me, pid, country.districts[("A1", 1)]).json()
    text = text_of(client.get(f"{URL}/applications/{app['id']}/notice.pdf", headers=me).content)
    assert "Поликлиника" in text or "поликлиника" in text
    assert "Обслуживание на дому" not in text


def test_a23_a26_registrar_pages_record_pregnancy_and_home_visits(
    client: TestClient,
    make_actor: Callable[..., tuple[Actor, str]],
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    pid = person(addresses=KARAGANDA)
    app = apply(
        client,
        auth(Role.CITIZEN, person_id=pid),
        pid,
        country.districts[("A1", 1)],
        border_claim=True,
        care_at_home=True,
    ).json()
    actor, _ = make_actor(Role.REGISTRAR, entity_id=country.a)
    assert login(client, actor.username).status_code == 303
    page = client.get(f"/attachment/applications/{app['id']}?lang=en")
    assert 'name="care_at_home"' in page.text and "Home visits asked for" in page.text
    done = client.post(
        f"/attachment/applications/{app['id']}/decision?lang=en",
        follow_redirects=False,
        data={"csrf": csrf_of(page.text), "decision": "approve", "version": "1", "care_at_home": "yes"},
    )
    assert done.status_code == 303, done.text
    assert care_of(sessions, app["id"]) is True
    shown = client.get(f"/attachment/applications/{app['id']}?lang=en").text
    assert 'id="care-at-home">agreed' in shown
    woman = person(sex="female", addresses=ASTANA_ACTUAL)
    token = csrf_of(client.get("/attachment/record?lang=en").text)
    recorded = client.post(
        "/attachment/record?lang=en",
        follow_redirects=False,
        data={
            "csrf": token,
            "person_id": str(woman),
            "district_id": str(country.districts[("A1", 1)]),
            "channel": "in_person",
            "place_basis": "actual_residence",
            "pregnant": "on",
            "doc_kind_0": "id_card",
            "doc_number_0": "045678912",
        },
    )
    assert recorded.status_code == 303, recorded.text
    with sessions() as s:
        queued_app = s.scalars(select(Application).where(Application.person_id == woman)).one()
        assert queued_app.pregnant and queued_app.review == "pregnancy" and queued_app.state == "submitted"
    queued = client.get(f"/attachment/applications/{queued_app.id}?lang=en").text
    assert 'id="pregnancy"' in queued and "check the pregnancy" in queued


def _old_record_hash(row: dict[str, Any]) -> str:
    """The record hash of an attachment's opening as computed before migration 0013 (no care_at_home)."""
    doc = {
        "table": "attachment",
        "id": int(row["id"]),
        "event": "open",
        "fields": {f: chain._plain(row[f]) for f in ATTACHMENT_CHAIN.open_fields},
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_a26_chain_covers_care_at_home_and_older_rows_keep_their_hash(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    inside = person()
    plain = apply(client, auth(Role.CITIZEN, person_id=inside), inside, country.districts[("A1", 1)]).json()
    outside = person(addresses=KARAGANDA)
    app = apply(
        client, auth(Role.CITIZEN, person_id=outside), outside, country.districts[("A1", 1)], border_claim=True
    ).json()
    assert decide(client, auth(Role.REGISTRAR, entity_id=country.a), app, care_at_home=True).status_code == 200
    with sessions() as s:
        conn = s.connection()
        rows = {
            r["application_id"]: r
            for r in (
                dict(m) for m in conn.execute(select(*ATTACHMENT_CHAIN.columns, Attachment.application_id)).mappings()
            )
        }
        old = rows[plain["id"]]
        assert old["care_at_home"] is None
        assert chain.record_hash(ATTACHMENT_CHAIN, old, chain.OPEN) == _old_record_hash(old)
        new = rows[app["id"]]
        assert chain.record_hash(ATTACHMENT_CHAIN, new, chain.OPEN) != _old_record_hash(new)
        assert verify(conn, ["attachment"]).clean
    with sessions.begin() as s:
        s.execute(update(Attachment).where(Attachment.id == new["id"]).values(care_at_home=False))
    with sessions() as s:
        report = verify(s.connection(), ["attachment"])
    assert [(f.table, f.record_id) for f in report.findings] == [("attachment", new["id"])]


def test_a23_a26_citizen_portal_declares_pregnancy_and_asks_for_home_visits(
    client: TestClient,
    make_actor: Callable[..., tuple[Actor, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
) -> None:
    woman = person(sex="female", addresses=[*KARAGANDA, ("actual", "351000000")])
    actor, _ = make_actor(Role.CITIZEN, person_id=woman)
    assert login(client, actor.username).status_code == 303
    page = client.get(f"/attachment/apply?district_id={country.districts[('A1', 1)]}&lang=en")  # the apply form
    assert 'name="pregnant"' in page.text and 'name="care_at_home"' in page.text
    sent = client.post(
        "/attachment/apply",
        follow_redirects=False,
        data={
            "csrf": csrf_of(page.text),
            "person_id": str(woman),
            "district_id": str(country.districts[("A1", 1)]),
            "place_basis": "actual_residence",
            "pregnant": "on",
            "border_claim": "on",
            "care_at_home": "on",
        },
    )
    assert sent.status_code == 303, sent.text
    with sessions() as s:
        app = s.scalars(select(Application).where(Application.person_id == woman)).one()
    assert (app.pregnant, app.border_claim, app.care_at_home, app.review) == (True, True, True, "border,pregnancy")
