"""The clinic search from where a person is, in the JSON API (journey 1, "start from where you are"): the nearest
participating sites with distance, profile and free places from a typed address (a settlement of the KATO
classifier; streets are not in the data) or from one of the citizen's own addresses by kind (work, study, actual,
temporary, registration). The same search as the page /attachment/clinics (pages/attachment/clinics.py)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment.application import service
from emhana.attachment.nearby import Found
from emhana.attachment.rules import free_places
from emhana.attachment.schemas import DistrictFreeOut, NearFreeOut
from emhana.facilities.places import locate_address, locate_kato
from emhana.facilities.rules import Profile
from emhana.identity.schemas import AddressKind
from emhana.identity.service import get_person
from emhana.kernel import clock
from emhana.kernel.db import reader
from emhana.kernel.errors import Forbidden, InvalidInput, NoAddressOfKind
from emhana.reference import address as places
from emhana.reference.address import Located
from emhana.web.deps import SessionDep, public, require

router = APIRouter(prefix="/attachment/near", tags=["attachment"])


class OriginOut(BaseModel):
    """Where the search started: the settlement (or the person's address) and how its point was found.

    ``precision``: ``place`` (the settlement's own coordinates), ``sites`` (its registered clinics), ``area``
    (approximate: the centre of the known places of ``area_kato``) or ``address`` (the coordinates recorded
    with the person's address). ``street`` is the rest of the typed text; ``street_located`` is always false:
    there is no street data."""

    kato: str
    name_kk: str
    name_ru: str
    lat: float
    lon: float
    precision: str
    area_kato: str
    street: str
    street_located: bool = False


class NearFromOut(BaseModel):
    origin: OriginOut
    sites: list[NearFreeOut]


def _origin(found: Located) -> OriginOut:
    return OriginOut(
        kato=found.unit.code,
        name_kk=places.locality(found.unit.code, "kk"),
        name_ru=places.locality(found.unit.code, "ru"),
        lat=found.lat,
        lon=found.lon,
        precision=found.precision,
        area_kato=found.area.code,
        street=found.street,
    )


def _sites(session: SessionDep, lat: float, lon: float, limit: int, profile: Profile | None) -> list[NearFreeOut]:
    found = service.near_free(
        session=session, lat=lat, lon=lon, day=clock.today(), limit=limit, profile=profile.value if profile else None
    )
    out = []
    for n, rows in found:
        districts = [
            DistrictFreeOut(
                district_id=d.id,
                number=d.number,
                profile=d.profile,
                capacity=d.capacity,
                attached=attached,
                free=free_places(d.capacity, attached),
                doctor_id=d.doctor_id,
            )
            for d, attached in rows
        ]
        out.append(
            NearFreeOut(
                site_id=n.site.id,
                site_name_kk=n.site.name_kk,
                site_name_ru=n.site.name_ru,
                address_kk=n.site.address_kk,
                address_ru=n.site.address_ru,
                kind=n.site.kind,
                lat=n.site.lat,
                lon=n.site.lon,
                distance_km=round(n.distance_km, 3),
                entity_id=n.entity.id,
                entity_name_kk=n.entity.name_kk,
                entity_name_ru=n.entity.name_ru,
                free=sum(d.free for d in districts),
                districts=districts,
            )
        )
    return out


def near_json(found: Found) -> list[dict[str, Any]]:
    """Return the near search's answer as the JSON of ``list[NearFreeOut]``, field for field, built straight from
    the rows (no model is built or validated: the public near search's answer, docs/near-search.md)."""
    out = []
    for n, rows in found:
        site, entity = n.site, n.entity
        districts = []
        total = 0
        for d, attached in rows:
            free = free_places(d.capacity, attached)
            total += free
            districts.append(
                {
                    "district_id": d.id,
                    "number": d.number,
                    "profile": d.profile,
                    "capacity": d.capacity,
                    "attached": attached,
                    "free": free,
                    "doctor_id": d.doctor_id,
                }
            )
        out.append(
            {
                "site_id": site.id,
                "site_name_kk": site.name_kk,
                "site_name_ru": site.name_ru,
                "address_kk": site.address_kk,
                "address_ru": site.address_ru,
                "kind": site.kind,
                "lat": site.lat,
                "lon": site.lon,
                "distance_km": round(n.distance_km, 3),
                "entity_id": entity.id,
                "entity_name_kk": entity.name_kk,
                "entity_name_ru": entity.name_ru,
                "free": total,
                "districts": districts,
            }
        )
    return out


def near_body(found: Found) -> bytes:
    """Return the answer's bytes as FastAPI's JSONResponse would write them."""
    return json.dumps(near_json(found), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


# Threads of the public near search's own: requests that wait long in the shared thread pool (decisions queued on
# a district's lock at a campaign's peak) never hold up a search, which takes well under a millisecond.
NEAR_THREADS = anyio.CapacityLimiter(8)


async def near_answer(request: Request, lat: float, lon: float, limit: int, profile: Profile | None) -> Response:
    """Answer GET /api/v1/attachment/near in a thread of NEAR_THREADS: the search (``service.near_free`` in a
    session that only reads, on the primary: free places are never a replica's; on PostgreSQL one statement on the
    near search's own connections) and the JSON of ``list[NearFreeOut]``."""

    def run() -> bytes:
        state = request.app.state
        with state.sessions(bind=reader(state.engine)) as session:  # on SQLite: no write lock to wait for
            found = service.near_free(
                session=session,
                lat=lat,
                lon=lon,
                day=clock.today(),
                limit=limit,
                profile=profile.value if profile else None,
            )
        return near_body(found)

    body = await anyio.to_thread.run_sync(run, limiter=NEAR_THREADS)
    return Response(body, media_type="application/json")


@router.get("/address", response_model=NearFromOut, dependencies=[public()])
def near_address(
    session: SessionDep,
    text: Annotated[str, Query(max_length=200)] = "",
    kato: Annotated[str, Query(max_length=9)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    profile: Profile | None = None,
) -> NearFromOut:
    """Return the nearest participating sites from a typed address ("Қарағанды қ., Бұқар жырау 5") or a KATO
    settlement. 422 ``reference.address_not_found`` when no settlement is named, ``reference.address_ambiguous``
    (candidates in ``errors``: kato, name_kk, name_ru) when several are, ``reference.unknown_kato``."""
    if kato.strip():
        found = locate_kato(session=session, kato=kato.strip())
    elif text.strip():
        found = locate_address(session=session, text=text)
    else:
        raise InvalidInput(errors=[{"field": "text", "code": "reference.address_not_found"}])
    return NearFromOut(origin=_origin(found), sites=_sites(session, found.lat, found.lon, limit, profile))


@router.get("/mine", response_model=NearFromOut)
def near_mine(
    session: SessionDep,
    actor: Annotated[Actor, require(Can.APPLY_ON_PORTAL)],
    kind: AddressKind = AddressKind.PERMANENT,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    profile: Profile | None = None,
) -> NearFromOut:
    """Return the nearest participating sites from the citizen's own current address of a kind ("near work":
    ``kind=work``). 422 ``identity.no_address_of_kind`` when she has none; an address recorded without
    coordinates is located by its settlement."""
    if actor.person_id is None:
        raise Forbidden()
    day = clock.today()
    me = get_person(session=session, actor=actor, person_id=actor.person_id, purpose="clinics near home", day=day)
    current = [
        a
        for a in me.addresses
        if a.kind == kind.value
        and (a.valid_from is None or a.valid_from <= day)
        and (a.valid_to is None or a.valid_to >= day)
    ]
    if not current:
        raise NoAddressOfKind()
    chosen = next((a for a in current if a.lat is not None and a.lon is not None), current[0])
    if chosen.lat is not None and chosen.lon is not None:
        origin = OriginOut(
            kato=chosen.kato_code,
            name_kk=places.locality(chosen.kato_code, "kk"),
            name_ru=places.locality(chosen.kato_code, "ru"),
            lat=chosen.lat,
            lon=chosen.lon,
            precision="address",
            area_kato=chosen.kato_code,
            street="",
        )
    else:
        origin = _origin(locate_kato(session=session, kato=chosen.kato_code))
    return NearFromOut(origin=origin, sites=_sites(session, origin.lat, origin.lon, limit, profile))
