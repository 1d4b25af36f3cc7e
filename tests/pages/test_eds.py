"""The EDS doors (issue 16, item 6): sign in with a CMS over a one-time challenge and land on the page asked for;
a refusal is a coded page in the person's language; the demo button exists only in demo mode; a citizen signs
her portal application over its canonical form, and nobody else can."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable

import httpx2
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.attachment.application.signing import FORM
from emhana.attachment.models import Application
from emhana.devtools.pki_demo import make_citizen
from emhana.identity.models import Person
from emhana.pages.eds import router as eds_pages
from emhana.trust.keys import pki
from emhana.trust.signatures.cms import sign_detached
from emhana.trust.signatures.models import RecordSignature
from emhana.web.deps import SESSION_COOKIE, declared_roles, iter_routes
from emhana.web.nextpath import safe_next
from tests.builders.attachment import Country
from tests.builders.signatures import Pki, at_the_wall_clock, trust_test_pki
from tests.builders.web import csrf_of, login

MakeActor = Callable[..., tuple[Actor, str]]


def _certificate(sessions: sessionmaker[Session], p: Pki, person_id: int) -> pki.Issued:
    with sessions() as s:
        iin = s.get_one(Person, person_id).iin
    return make_citizen(p.inter, surname="ТЕСТОВ", given_name="ТЕСТ", iin=iin, not_before=p.now - dt.timedelta(days=1))


def _cms(p: Pki, issued: pki.Issued, data_b64: str) -> str:
    der = sign_detached(base64.b64decode(data_b64), issued.key, issued.certificate, [p.inter.certificate])
    return base64.b64encode(der).decode()


def _sign_in(client: TestClient, p: Pki, issued: pki.Issued, next_: str) -> tuple[dict[str, str], httpx2.Response]:
    csrf = csrf_of(client.get("/login?lang=ru").text)
    started = client.post("/login/eds/challenge", data={"csrf": csrf})
    assert started.status_code == 200 and started.headers["cache-control"] == "no-store"
    body = started.json()
    assert body["ncalayer"]["method"] == "createCAdESFromBase64" and body["ncalayer"]["args"][1] == "SIGNATURE"
    form = {"csrf": csrf, "challenge": body["challenge"], "cms": _cms(p, issued, body["ncalayer"]["args"][2])}
    return form, client.post("/login/eds?lang=ru", data={**form, "next": next_}, follow_redirects=False)


def test_every_eds_page_declares_who_it_admits() -> None:
    declared = {path: declared_roles(dependant.dependencies) for path, _m, dependant in iter_routes(eds_pages)}
    assert declared["/login/eds"] == "public" and declared["/login/eds/demo"] == "public"
    assert declared["/login/eds/challenge"] == "public"
    for path in ("to-sign", "signature", "sign-demo"):
        assert declared[f"/attachment/applications/{{application_id}}/{path}"] == frozenset({Role.CITIZEN})


def test_only_local_paths_are_followed_after_signing_in() -> None:
    assert safe_next("/attachment/my?lang=kk") == "/attachment/my?lang=kk"
    for bad in ("//evil.example/x", "https://evil.example", "javascript:alert(1)", "/\\evil", "", "x"):
        assert safe_next(bad) == "/", bad


def test_a_person_signs_in_with_her_eds_and_lands_where_she_asked(
    app: FastAPI, client: TestClient, sessions: sessionmaker[Session], person: Callable[..., int]
) -> None:
    p = trust_test_pki(app)
    issued = _certificate(sessions, p, person())
    form, done = _sign_in(client, p, issued, "/attachment/my")
    assert done.status_code == 303 and done.headers["location"] == "/attachment/my"
    assert SESSION_COOKIE in done.cookies
    assert client.get("/attachment/my").status_code == 200
    client.cookies.clear()
    fresh = csrf_of(client.get("/login").text)
    again = client.post("/login/eds?lang=ru", data={**form, "csrf": fresh}, follow_redirects=False)
    assert again.status_code == 401 and "уже использован" in again.text  # the challenge is spent
    _, away = _sign_in(client, p, issued, "//evil.example/")
    assert away.status_code == 303 and away.headers["location"] == "/"


def test_an_unknown_person_is_refused_in_her_language(
    app: FastAPI, client: TestClient, sessions: sessionmaker[Session], person: Callable[..., int]
) -> None:
    p = trust_test_pki(app)
    stranger = make_citizen(
        p.inter, surname="X", given_name="Y", iin="600101499991", not_before=p.now - dt.timedelta(days=1)
    )
    _, refused = _sign_in(client, p, stranger, "/")
    assert refused.status_code == 401 and "Нет зарегистрированного лица" in refused.text
    assert SESSION_COOKIE not in refused.cookies
    csrf = csrf_of(client.get("/login").text)
    nonce = client.post("/login/eds/challenge", data={"csrf": csrf}).json()["challenge"]
    garbage = client.post("/login/eds?lang=en", data={"csrf": csrf, "challenge": nonce, "cms": "%%%"})
    assert garbage.status_code == 401 and "not a readable detached CMS signature" in garbage.text  # counted


def test_demo_sign_in_answers_404_outside_demo_mode(client: TestClient) -> None:
    page = client.get("/login")
    assert "/login/eds/demo" not in page.text and "data-eds-login" in page.text
    r = client.post("/login/eds/demo", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 404


def test_a_citizen_signs_her_portal_application_and_no_one_else_can(
    app: FastAPI,
    client: TestClient,
    sessions: sessionmaker[Session],
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
) -> None:
    p = trust_test_pki(app)
    pid = person()
    actor, _ = make_actor(Role.CITIZEN, person_id=pid)
    assert login(client, actor.username).status_code == 303
    apply_page = client.get(f"/attachment/apply?district_id={country.districts[('A1', 1)]}&person_id={pid}")
    submitted = client.post(
        "/attachment/apply",
        data={
            "csrf": csrf_of(apply_page.text),
            "person_id": str(pid),
            "district_id": str(country.districts[("A1", 1)]),
            "place_basis": "residence_permanent",
        },
        follow_redirects=False,
    )
    assert submitted.status_code == 303, submitted.text
    url = submitted.headers["location"]
    app_id = int(url.rsplit("/", 1)[1])
    page = client.get(url + "?lang=en")
    assert "Not signed by the applicant yet." in page.text and "data-eds-application" in page.text
    to_sign = client.get(f"{url}/to-sign").json()
    document = json.loads(base64.b64decode(to_sign["ncalayer"]["args"][2]))
    assert document["type"] == FORM and document["channel"] == "egov" and document["filed_on"] == "2025-09-10"
    assert document["district"] == country.districts[("A1", 1)] and document["place_basis"] == "residence_permanent"
    at_the_wall_clock()  # NCALayer signs at the wall clock, where the test PKI stands: sign in again there
    client.cookies.clear()
    assert login(client, actor.username).status_code == 303
    page = client.get(url)
    someone_else = make_citizen(
        p.inter, surname="X", given_name="Y", iin="600101499991", not_before=p.now - dt.timedelta(days=1)
    )
    csrf = csrf_of(page.text)
    wrong = client.post(
        f"{url}/signature?lang=en",
        data={"csrf": csrf, "cms": _cms(p, someone_else, to_sign["ncalayer"]["args"][2])},
        follow_redirects=False,
    )
    assert wrong.status_code == 422 and "belongs to someone else" in wrong.text
    issued = _certificate(sessions, p, pid)
    signed = client.post(
        f"{url}/signature",
        data={"csrf": csrf, "cms": _cms(p, issued, to_sign["ncalayer"]["args"][2])},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    shown = client.get(url + "?lang=ru").text
    assert "Подписано ЭЦП" in shown and "ТЕСТОВ ТЕСТ" in shown
    with sessions() as s:
        row = s.scalars(select(RecordSignature).where(RecordSignature.record_kind == "attachment_application")).one()
        assert row.record_id == app_id and row.signer_bin is None
    other, _ = make_actor(Role.CITIZEN, person_id=person())
    client.cookies.clear()
    assert login(client, other.username).status_code == 303
    assert client.get(f"{url}/to-sign").status_code in (403, 404)


def test_she_signs_with_ncalayer_and_submits_in_one_step(
    app: FastAPI,
    client: TestClient,
    sessions: sessionmaker[Session],
    make_actor: MakeActor,
    country: Country,
    person: Callable[..., int],
    now: Callable[[dt.datetime], None],
) -> None:
    now(dt.datetime.now(dt.UTC))  # the wall clock, where NCALayer signs (a first attachment is filed any time)
    p = trust_test_pki(app)
    pid = person()
    actor, _ = make_actor(Role.CITIZEN, person_id=pid)
    assert login(client, actor.username).status_code == 303
    district = country.districts[("A1", 1)]
    page = client.get(f"/attachment/apply?district_id={district}&person_id={pid}&lang=en")
    assert "data-eds-apply" in page.text and "Sign with EDS (NCALayer) and submit" in page.text
    fields = {"csrf": csrf_of(page.text), "person_id": str(pid), "district_id": str(district)}
    fields |= {"place_basis": "residence_permanent", "care_at_home": "on"}
    to_sign = client.post("/attachment/apply/to-sign", data=fields)
    assert to_sign.status_code == 200, to_sign.text
    data = to_sign.json()["ncalayer"]["args"][2]
    document = json.loads(base64.b64decode(data))
    assert document["care_at_home"] is True and document["district"] == district
    stranger = person()
    refused = client.post("/attachment/apply/to-sign", data={**fields, "person_id": str(stranger)})
    assert refused.status_code == 403  # no IIN of someone she does not represent
    wrong = make_citizen(
        p.inter, surname="X", given_name="Y", iin="600101499991", not_before=p.now - dt.timedelta(days=1)
    )
    kept = client.post("/attachment/apply?lang=en", data={**fields, "cms": _cms(p, wrong, data)})
    assert kept.status_code == 422 and "belongs to someone else" in kept.text  # the form comes back
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Application)) == 0  # refused with its signature
    filed = client.post(
        "/attachment/apply",
        data={**fields, "cms": _cms(p, _certificate(sessions, p, pid), data)},
        follow_redirects=False,
    )
    assert filed.status_code == 303, filed.text
    assert "Signed with EDS" in client.get(filed.headers["location"] + "?lang=en").text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RecordSignature)) == 1
