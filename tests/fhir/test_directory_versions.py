"""Versions of the directory resources (issue 17, item 4): meta.versionId and meta.lastUpdated, ETag and
If-None-Match (304), vread, the history of a resource and of a type, ``_lastUpdated``; versions recorded at the
commit of a change (not only when read) and when what is served changes with the day; a Patient's meta."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhirpy import SyncFHIRClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.facilities.models import Entity, Post, Practitioner, Site
from emhana.fhir import systems, versions
from emhana.fhir.versions import ResourceVersion
from tests.builders.medbook import NOW, World
from tests.builders.servers import serve

FHIR_JSON = "application/fhir+json"
T1 = NOW + dt.timedelta(days=1)
T2 = NOW + dt.timedelta(days=2)
T3 = NOW + dt.timedelta(days=3)


def get(client: TestClient, path: str, headers: dict[str, str] | None = None, **params: str) -> Any:
    return client.get(f"/fhir/R4/{path}", params=params, headers={"Accept": FHIR_JSON, **(headers or {})})


def rename(sessions: sessionmaker[Session], entity_id: int, name: str) -> None:
    with sessions.begin() as s:
        entity = s.get(Entity, entity_id)
        assert entity is not None
        entity.name_ru = name


def stored(sessions: sessionmaker[Session], rtype: str, rid: int) -> list[tuple[int, dt.datetime]]:
    with sessions() as s:
        rows = s.execute(
            select(ResourceVersion.version_id, ResourceVersion.last_updated)
            .where(ResourceVersion.resource_type == rtype, ResourceVersion.resource_id == rid)
            .order_by(ResourceVersion.version_id)
        ).all()
        return [(v, versions.utc(t)) for v, t in rows]


def test_a_new_name_is_a_new_version_with_vread_history_etag_and_304(
    client: TestClient, world: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> None:
    at(T1)
    first = get(client, f"Organization/{world.a}")
    assert first.status_code == 200
    org = first.json()
    assert org["meta"] == {"versionId": "1", "lastUpdated": versions.instant(NOW)}  # recorded when it was written
    assert first.headers["etag"] == 'W/"1"' and "last-modified" in first.headers
    old_name = org["name"]
    same = get(client, f"Organization/{world.a}", {"If-None-Match": 'W/"1"'})
    assert same.status_code == 304 and same.headers["etag"] == 'W/"1"' and same.content == b""

    at(T2)
    rename(sessions, world.a, "Новое название")
    at(T3)  # read a day after the change: the version was recorded at the change, not at this read
    second = get(client, f"Organization/{world.a}", {"If-None-Match": 'W/"1"'})
    assert second.status_code == 200 and second.headers["etag"] == 'W/"2"'
    assert second.json()["name"] == "Новое название"
    assert second.json()["meta"] == {"versionId": "2", "lastUpdated": versions.instant(T2)}
    assert get(client, f"Organization/{world.a}", {"If-None-Match": 'W/"2"'}).status_code == 304

    old = get(client, f"Organization/{world.a}/_history/1")
    assert old.status_code == 200 and old.json()["name"] == old_name and old.json()["meta"]["versionId"] == "1"
    assert old.headers["etag"] == 'W/"1"'
    assert get(client, f"Organization/{world.a}/_history/2").json()["name"] == "Новое название"
    for missing in (
        f"Organization/{world.a}/_history/3",
        f"Organization/{world.a}/_history/x",
        "Organization/987654/_history/1",
    ):
        r = get(client, missing)
        assert r.status_code == 404 and r.json()["issue"][0]["code"] == "not-found", missing

    history = get(client, f"Organization/{world.a}/_history").json()
    assert history["type"] == "history" and history["total"] == 2
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]
    assert [e["request"]["method"] for e in history["entry"]] == ["PUT", "POST"]
    assert history["entry"][1]["resource"]["name"] == old_name
    assert history["entry"][0]["response"]["etag"] == 'W/"2"'
    assert get(client, "Organization/987654/_history").status_code == 404

    # The Location of A names its organization: it has a new version too, recorded at the same change.
    site = get(client, "Location", organization=f"Organization/{world.a}").json()["entry"][0]["resource"]
    assert site["meta"] == {"versionId": "2", "lastUpdated": versions.instant(T2)}
    assert site["managingOrganization"]["display"] == "Новое название"
    assert [v for v, _ in stored(sessions, "Location", int(site["id"]))] == [1, 2]


def test_type_history_is_newest_first_and_paged(
    client: TestClient, world: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> None:
    at(T1)
    for rid in (world.a, world.b, world.x):
        assert get(client, f"Organization/{rid}").status_code == 200
    at(T2)
    rename(sessions, world.b, "Б второе")
    page = get(client, "Organization/_history", _count="2").json()
    assert page["total"] == 4
    assert [(e["resource"]["id"], e["resource"]["meta"]["versionId"]) for e in page["entry"]][0] == (str(world.b), "2")
    assert [x["relation"] for x in page["link"]] == ["self", "next"]
    rest = client.get(page["link"][1]["url"], headers={"Accept": FHIR_JSON}).json()
    assert len(rest["entry"]) == 2 and [x["relation"] for x in rest["link"]] == ["self", "previous"]
    seen = [e["resource"]["meta"]["lastUpdated"] for e in page["entry"] + rest["entry"]]
    assert seen == sorted(seen, reverse=True)
    since = get(client, "Organization/_history", _since=versions.instant(T2)).json()
    assert [e["resource"]["id"] for e in since["entry"]] == [str(world.b)]


def test_the_version_is_recorded_at_the_commit_of_the_change(
    world: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None], client: TestClient
) -> None:
    # The world's entities and sites were written at NOW: their first versions were recorded then.
    with sessions() as s:
        site = s.scalars(select(Site.id).where(Site.entity_id == world.b)).one()
    assert stored(sessions, "Organization", world.b) == [(1, NOW)]
    assert stored(sessions, "Location", site) == [(1, NOW)]
    at(T2)
    rename(sessions, world.b, "Б переименована")  # nobody reads it after this
    assert stored(sessions, "Organization", world.b) == [(1, NOW), (2, T2)]
    assert stored(sessions, "Location", site) == [(1, NOW), (2, T2)]  # its managingOrganization.display
    at(T3)
    with sessions.begin() as s:
        row = s.get(Site, site)
        assert row is not None
        row.name_ru = "Новый корпус"
        doctor = Practitioner(iin="790409450311", surname="Жанова", given_name="Сая")
        s.add(doctor)
        s.flush()
        s.add(Post(practitioner_id=doctor.id, entity_id=world.b, title="терапевт", valid_from=dt.date(2025, 1, 1)))
    assert stored(sessions, "Location", site) == [(1, NOW), (2, T2), (3, T3)]
    assert stored(sessions, "Practitioner", doctor.id) == [(1, T3)]
    with sessions() as s:
        post = s.scalar(select(Post.id).where(Post.practitioner_id == doctor.id))
    assert post is not None and stored(sessions, "PractitionerRole", post) == [(1, T3)]
    # The same content again records nothing.
    rename(sessions, world.b, "Б переименована")
    assert len(stored(sessions, "Organization", world.b)) == 2


def test_what_changes_with_the_day_is_a_new_version_when_served(
    client: TestClient, world: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> None:
    with sessions.begin() as s:
        doctor = Practitioner(iin="790409450311", surname="Жанова", given_name="Сая")
        s.add(doctor)
        s.flush()
        post = Post(
            practitioner_id=doctor.id,
            entity_id=world.a,
            title="терапевт",
            valid_from=dt.date(2025, 1, 1),
            valid_to=(NOW + dt.timedelta(days=5)).date(),
        )
        s.add(post)
        s.flush()
        post_id = post.id
    role = get(client, f"PractitionerRole/{post_id}").json()
    assert role["active"] is True and role["meta"]["versionId"] == "1"
    later = NOW + dt.timedelta(days=10)
    at(later)
    ended = get(client, f"PractitionerRole/{post_id}", {"If-None-Match": 'W/"1"'})
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert ended.json()["meta"] == {"versionId": "2", "lastUpdated": versions.instant(later)}
    assert get(client, f"PractitionerRole/{post_id}/_history/1").json()["active"] is True


def test_last_updated_filters_the_searches(
    client: TestClient, world: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> None:
    at(T1)
    for rid in (world.a, world.b):
        get(client, f"Organization/{rid}")
    at(T2)
    rename(sessions, world.a, "А после")

    def ids(rtype: str, value: str, **more: str) -> list[str]:
        r = client.get(f"/fhir/R4/{rtype}", params={"_lastUpdated": value, **more}, headers={"Accept": FHIR_JSON})
        assert r.status_code == 200, r.text
        return sorted(e["resource"]["id"] for e in r.json().get("entry", []))

    day2 = T2.astimezone(dt.UTC).date().isoformat()
    assert ids("Organization", f"ge{versions.instant(T2)}") == [str(world.a)]
    assert ids("Organization", f"gt{versions.instant(T1)}") == [str(world.a)]
    assert ids("Organization", f"lt{versions.instant(T2)}") == [str(world.b)]
    assert ids("Organization", f"le{versions.instant(T1)}") == [str(world.b)]
    assert ids("Organization", f"ge{day2}T00:00:00Z") == [str(world.a)]
    assert ids("Organization", "ge2020-01-01") == sorted([str(world.a), str(world.b)])
    assert ids("Organization", "lt2020") == []
    assert ids("Organization", f"ge{versions.instant(T2)}", identifier=f"{systems.BIN}|150340001236") == [str(world.a)]
    assert ids("Organization", f"ge{versions.instant(T2)}", identifier=f"{systems.BIN}|201140004575") == []
    # Its Location changed with it (the organization's name is on it).
    assert len(ids("Location", f"ge{versions.instant(T2)}")) == 1
    assert len(ids("Location", f"ge{versions.instant(T2)}", near="51.15|71.45|50|km")) == 1
    ranged = client.get(
        "/fhir/R4/Organization",
        params=[("_lastUpdated", f"ge{versions.instant(NOW)}"), ("_lastUpdated", f"lt{versions.instant(T2)}")],
        headers={"Accept": FHIR_JSON},
    ).json()
    assert [e["resource"]["id"] for e in ranged["entry"]] == [str(world.b)]
    assert [v for k, v in parse_qsl(urlsplit(ranged["link"][0]["url"]).query) if k == "_lastUpdated"] == [
        f"ge{versions.instant(NOW)}",
        f"lt{versions.instant(T2)}",
    ]  # both bounds kept in the self link
    bad = get(client, "Organization", _lastUpdated="yesterday")
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["_lastUpdated"]


def test_patient_has_meta_and_an_etag(client: TestClient, world: World) -> None:
    headers = world.h["reg_b"]  # the cook is attached to B
    found = get(client, "Patient", headers, identifier=f"{systems.IIN}|{world.cook_iin}").json()
    patient = found["entry"][0]["resource"]
    meta = patient["meta"]
    assert len(meta["versionId"]) == 16 and meta["lastUpdated"].endswith("Z")
    read = get(client, f"Patient/{world.cook}", headers)
    assert read.status_code == 200 and read.headers["etag"] == f'W/"{meta["versionId"]}"'
    assert read.json()["meta"] == meta
    again = get(client, f"Patient/{world.cook}", {**headers, "If-None-Match": read.headers["etag"]})
    assert again.status_code == 304


def test_fhirpy_sees_versions(
    app: FastAPI, world: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> None:
    at(T1)
    with serve(app, "uvicorn-directory-versions") as base:
        fhir = SyncFHIRClient(f"{base}/fhir/R4")
        org = fhir.reference("Organization", str(world.a)).to_resource()
        assert org["meta"]["versionId"] == "1"
        at(T2)
        rename(sessions, world.a, "Через fhirpy")
        assert fhir.reference("Organization", str(world.a)).to_resource()["meta"]["versionId"] == "2"
        found = fhir.resources("Organization").search(_lastUpdated=f"ge{versions.instant(T2)}").fetch_all()
        assert [o["id"] for o in found] == [str(world.a)]


def test_the_daily_refresh_records_what_the_day_changed_before_anyone_reads_it(
    client: TestClient, world: World, sessions: sessionmaker[Session], at: Callable[[dt.datetime], None]
) -> None:
    with sessions.begin() as s:
        doctor = Practitioner(iin="790409450311", surname="Жанова", given_name="Сая")
        s.add(doctor)
        s.flush()
        post = Post(
            practitioner_id=doctor.id,
            entity_id=world.a,
            title="терапевт",
            valid_from=dt.date(2025, 1, 1),
            valid_to=(NOW + dt.timedelta(days=5)).date(),
        )
        s.add(post)
        s.flush()
        post_id = post.id
    with sessions.begin() as s:
        assert versions.refresh_all(session=s, day=NOW.date(), now=NOW) == 0  # every row was versioned when written
    later = NOW + dt.timedelta(days=10)
    with sessions.begin() as s:
        assert versions.refresh_all(session=s, day=later.date(), now=later) == 1  # only the post ended
    assert stored(sessions, "PractitionerRole", post_id) == [(1, NOW), (2, later)]
    at(later)
    since = get(client, "PractitionerRole", _lastUpdated=f"ge{versions.instant(later)}").json()
    assert [e["resource"]["id"] for e in since["entry"]] == [str(post_id)]
    assert since["entry"][0]["resource"]["active"] is False
