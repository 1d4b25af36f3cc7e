"""The total of a FHIR ``near`` search is exact (every participating site within the distance, not a fetch window)
and each match's distance is in ``entry.search.extension``, never on the Location."""

from __future__ import annotations

import math

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.facilities.models import Site
from emhana.facilities.rules import haversine_km
from tests.builders.medbook import World

FHIR_JSON = "application/fhir+json"
CENTER = (43.238, 76.945)  # Almaty: away from the world's sites in Astana
MANY = 284


def _many_sites(sessions: sessionmaker[Session], w: World) -> list[tuple[float, float]]:
    """Write MANY sites of A on a spiral around CENTER (out to about 14 km), and one site of X (excluded)."""
    points = []
    with sessions.begin() as s:
        model = s.scalars(select(Site).where(Site.entity_id == w.a)).first()
        assert model is not None
        for i in range(MANY + 1):
            radius_km, turn = 0.05 * i, i * 2.399963
            lat = CENTER[0] + radius_km / 111.2 * math.cos(turn)
            lon = CENTER[1] + radius_km / (111.2 * math.cos(math.radians(CENTER[0]))) * math.sin(turn)
            s.add(
                Site(
                    entity_id=w.x if i == MANY else w.a,
                    code=f"N{i}",
                    kind=model.kind,
                    name_kk=f"Нүкте {i}",
                    name_ru=f"Точка {i}",
                    kato_code=model.kato_code,
                    kato_version=model.kato_version,
                    lat=lat,
                    lon=lon,
                )
            )
            if i < MANY:
                points.append((lat, lon))
    return points


def _search(client: TestClient, **params: str) -> dict:  # type: ignore[type-arg]
    r = client.get("/fhir/R4/Location", params=params, headers={"Accept": FHIR_JSON})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_the_total_counts_every_site_within_the_distance(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    points = _many_sites(sessions, world)
    near = f"{CENTER[0]}|{CENTER[1]}|50|km"
    first = _search(client, near=near, _count="3")
    assert first["total"] == MANY and len(first["entry"]) == 3  # the excluded entity's site is not counted
    assert [x["relation"] for x in first["link"]] == ["self", "next"]
    for radius in (1.0, 2.5, 7.3):
        expected = sum(1 for p in points if haversine_km(CENTER[0], CENTER[1], *p) <= radius)
        assert 0 < expected < MANY
        assert _search(client, near=f"{CENTER[0]}|{CENTER[1]}|{radius}|km", _count="2")["total"] == expected
    metres = _search(client, near=f"{CENTER[0]}|{CENTER[1]}|2500|m", _count="1")["total"]
    assert metres == sum(1 for p in points if haversine_km(CENTER[0], CENTER[1], *p) <= 2.5)
    only_total = _search(client, near=near, _count="0")
    assert only_total["total"] == MANY and "entry" not in only_total
    assert _search(client, near=near, organization=f"Organization/{world.b}")["total"] == 0
    assert _search(client, near=near, organization=f"Organization/{world.a}", _count="1")["total"] == MANY


def test_pages_run_nearest_first_and_the_distance_is_in_entry_search(
    client: TestClient, world: World, sessions: sessionmaker[Session]
) -> None:
    _many_sites(sessions, world)
    near = f"{CENTER[0]}|{CENTER[1]}|3|km"
    seen: list[float] = []
    ids: list[str] = []
    page = _search(client, near=near, _count="25")
    total = page["total"]
    while True:
        for entry in page["entry"]:
            assert "extension" not in entry["resource"]
            (ext,) = entry["search"]["extension"]
            assert ext["url"] == "http://hl7.org/fhir/StructureDefinition/location-distance"
            assert (
                ext["valueDistance"]["code"] == "km" and ext["valueDistance"]["system"] == "http://unitsofmeasure.org"
            )
            seen.append(ext["valueDistance"]["value"])
            ids.append(entry["resource"]["id"])
            assert entry["search"]["mode"] == "match" and entry["resource"]["meta"]["versionId"] == "1"
        nxt = [x["url"] for x in page["link"] if x["relation"] == "next"]
        if not nxt:
            break
        page = client.get(nxt[0], headers={"Accept": FHIR_JSON}).json()
    assert len(ids) == total == len(set(ids)) and total > 25
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] <= 3.0
