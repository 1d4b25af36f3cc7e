"""The citizen's clinic search (journey 1, "start from where you are"): from a typed address (a settlement of the
KATO classifier; streets are not in the data), from one of her addresses by kind (registration, actual, temporary,
work, study), or from a point picked on the map; the nearest participating sites with distance, profile and free
places, on a map that works offline (static/clinic_map.js over the vendored Leaflet) and as a plain form without
JavaScript. Each district with free places links to the apply form (GET /attachment/apply, pages/attachment/citizen.py)
with the district chosen and the way back to this search."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment.application import service
from emhana.attachment.reports import names_for
from emhana.facilities.places import locate_address, locate_kato
from emhana.facilities.rules import Profile
from emhana.identity.models import PersonAddress
from emhana.identity.schemas import AddressKind
from emhana.identity.service import get_person
from emhana.kernel import clock
from emhana.kernel.errors import AddressAmbiguous, NoAddressOfKind, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.pages.attachment.views import BASES, MSG_NO_POINT, MSG_NOT_CITIZEN_LINKED, AttachmentLabels, error_text
from emhana.reference import address as places
from emhana.reference.address import Located
from emhana.reference.rules import in_kazakhstan
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_REFUSED, language, read_point, render, render_error

router = APIRouter(include_in_schema=False)

Applicant = Annotated[Actor, require(Can.APPLY_ON_PORTAL)]
PROFILES = tuple(p.value for p in Profile)
KINDS = tuple(k.value for k in AddressKind)
# The buttons "near …" in the order a person thinks of them.
KIND_ORDER = ("permanent", "actual", "temporary", "work", "study")
NEAR_KIND = {
    "permanent": N_("Near my registration address"),
    "actual": N_("Near where I actually live"),
    "temporary": N_("Near my temporary residence"),
    "work": N_("Near work"),
    "study": N_("Near my place of study"),
}
MSG_FROM_PLACE = N_("Searching from {place}.")
MSG_FROM_SITES = N_("{place} has no coordinates of its own in the data: searching from its registered clinics.")
MSG_FROM_AREA = N_(
    "{place} has no coordinates in the data: searching, approximately, from the centre of the known places of {area}."
)
MSG_STREET_UNKNOWN = N_("The street “{street}” is not in the data: the search starts from the settlement.")
MSG_FROM_POINT = N_("Searching from the point {lat}, {lon}.")
MSG_FROM_ADDRESS = N_("Searching from your address: {address}.")
MAP_LABELS = {
    "origin": N_("Search origin"),
    "apply": N_("Choose a district"),
    "free": N_("free places: %(count)s"),
    "km": N_("%(km)s km"),
    "picked": N_("Point chosen: searching from it…"),
    "scale": N_("Offline map: settlements of the reference data; no streets."),
}


def _labels(request: Request) -> AttachmentLabels:
    return AttachmentLabels(language(request))


def _name(lang: str, unit: places.Unit) -> str:
    return places.locality(unit.code, lang)


def _located_note(lang: str, found: Located) -> list[str]:
    """What the page says of how the typed address was located (never more precise than the data)."""
    place, area = _name(lang, found.unit), _name(lang, found.area)
    notes = {
        "place": translate(lang, MSG_FROM_PLACE, {"place": place}),
        "sites": translate(lang, MSG_FROM_SITES, {"place": place}),
        "area": translate(lang, MSG_FROM_AREA, {"place": place, "area": area}),
    }
    out = [notes[found.precision]]
    if found.street:
        out.append(translate(lang, MSG_STREET_UNKNOWN, {"street": found.street[:100]}))
    return out


def _current(addresses: list[PersonAddress], day: dt.date) -> list[PersonAddress]:
    return [
        a
        for a in addresses
        if (a.valid_from is None or a.valid_from <= day) and (a.valid_to is None or a.valid_to >= day)
    ]


def _address_text(lang: str, a: PersonAddress) -> str:
    return (a.text_kk or a.text_ru or "") if lang == "kk" else (a.text_ru or a.text_kk or "")


def _base_places(lang: str, lat: float, lon: float, found: list[Any]) -> list[dict[str, Any]]:
    """The settlements with coordinates around the search: the offline map's base layer."""
    lats = [lat, *(n.site.lat for n, _ in found)]
    lons = [lon, *(n.site.lon for n, _ in found)]
    pad = 0.6
    box = (min(lats) - pad, max(lats) + pad, min(lons) - pad, max(lons) + pad)
    idx = places.index()
    out = []
    for code, (plat, plon) in idx.points.items():
        if box[0] <= plat <= box[1] and box[2] <= plon <= box[3]:
            u = idx.units[code]
            town = code in places.REPUBLICAN_CITIES or u.name_ru.startswith("г.")
            out.append({"lat": plat, "lon": plon, "name": u.name_kk if lang == "kk" else u.name_ru, "town": town})
    return out[:200]


def _towns(lang: str) -> list[dict[str, Any]]:
    """The cities and towns with coordinates: the offline map's base layer before any search."""
    idx = places.index()
    return [
        {
            "lat": lat,
            "lon": lon,
            "name": idx.units[code].name_kk if lang == "kk" else idx.units[code].name_ru,
            "town": True,
        }
        for code, (lat, lon) in idx.points.items()
        if code in places.REPUBLICAN_CITIES or idx.units[code].name_ru.startswith("г.")
    ]


def clinics_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    address: str = "",
    lat: str = "",
    lon: str = "",
    profile: str = "",
    person: str = "",
    q: str = "",
    kato: str = "",
    origin: str = "",
    district: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    """Render the clinics near a typed address, one of the citizen's addresses or a point, with the apply form."""
    lang, day = language(request), clock.today()
    if actor.person_id is None:
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_NOT_CITIZEN_LINKED, actor=actor)
    me = get_person(session=session, actor=actor, person_id=actor.person_id, purpose="clinics near home", day=day)
    _, children = service.my_views(session=session, actor=actor, today=day)
    names = names_for(session, [], [c.person_id for c in children])
    current = _current(list(me.addresses), day)
    points = [a for a in current if a.lat is not None and a.lon is not None]
    kinds = [k for k in KIND_ORDER if any(a.kind == k for a in current)]
    point: tuple[float, float] | None = None
    chosen: PersonAddress | None = None
    notes: list[str] = []
    near_error, candidates, mode, coded = "", [], "address", ""
    q, kato = q.strip(), kato.strip()
    try:
        if q or kato:
            mode = "text"
            found_place = locate_kato(session=session, kato=kato) if kato else locate_address(session=session, text=q)
            point = (found_place.lat, found_place.lon)
            notes = _located_note(lang, found_place)
        elif lat.strip() or lon.strip():
            mode = "point"
            point, near_error = read_point(lang, lat, lon)
            coded = "geo.invalid_point" if near_error else ""
            if point:
                notes = [translate(lang, MSG_FROM_POINT, {"lat": f"{point[0]:.5f}", "lon": f"{point[1]:.5f}"})]
        elif origin:
            if origin not in KINDS:
                raise NoAddressOfKind()
            of_kind = [a for a in current if a.kind == origin]
            if not of_kind:
                raise NoAddressOfKind()
            chosen = next((a for a in of_kind if a.lat is not None and a.lon is not None), of_kind[0])
            if chosen.lat is not None and chosen.lon is not None:
                point = (chosen.lat, chosen.lon)
                notes = [translate(lang, MSG_FROM_ADDRESS, {"address": _address_text(lang, chosen)})]
            else:
                found_place = locate_kato(session=session, kato=chosen.kato_code)
                point = (found_place.lat, found_place.lon)
                notes = _located_note(lang, found_place)
        else:
            chosen = next((a for a in points if str(a.id) == address), None)
            chosen = chosen or next((a for a in points if a.kind == "permanent"), points[0] if points else None)
            if chosen is not None and chosen.lat is not None and chosen.lon is not None:
                point = (chosen.lat, chosen.lon)
                notes = [translate(lang, MSG_FROM_ADDRESS, {"address": _address_text(lang, chosen)})]
            else:
                near_error = translate(lang, MSG_NO_POINT)
    except AddressAmbiguous as exc:
        near_error, coded = error_text(lang, exc), exc.code
        candidates = [(c["kato"], c["name_kk"] if lang == "kk" else c["name_ru"]) for c in exc.errors]
    except RegistryError as exc:
        near_error, coded = error_text(lang, exc), exc.code
    if point is not None and not in_kazakhstan(*point):
        point = None
    profile = profile if profile in PROFILES else ""
    found = (
        service.near_free(session=session, lat=point[0], lon=point[1], day=day, limit=10, profile=profile or None)
        if point
        else []
    )
    target = int(person) if person.isdigit() and len(person) < 19 else None
    preselect = int(district) if district.isdigit() and len(district) < 19 else None
    map_data = _map_data(request, lang, point, found)

    def apply_url(district_id: int) -> str:
        """The apply form (pages/attachment/citizen.py) for a district, with the way back to this search."""
        params: dict[str, Any] = {"district_id": district_id}
        if target:
            params["person_id"] = target
        if point:
            params.update(lat=f"{point[0]:.6f}", lon=f"{point[1]:.6f}")
        if profile:
            params["profile"] = profile
        return "/attachment/apply?" + urlencode(params)

    return render(
        request,
        "attachment/clinics.html",
        actor=actor,
        status=422 if coded and status == 200 else status,
        coded=coded,
        me=me,
        children=children,
        names=names,
        points=points,
        kinds=kinds,
        near_kind=NEAR_KIND,
        origin=origin if origin in KINDS and mode == "address" else "",
        chosen=chosen if mode == "address" else None,
        lat=lat.strip() if mode == "point" else "",
        lon=lon.strip() if mode == "point" else "",
        point=point,
        q=q,
        kato=kato,
        mode=mode,
        notes=notes,
        candidates=candidates,
        profile=profile,
        profiles=PROFILES,
        found=found,
        near_error=near_error,
        error=error,
        bases=BASES,
        target=target,
        preselect=preselect,
        map_data=map_data,
        apply_url=apply_url,
        al=_labels(request),
    )


def _map_data(request: Request, lang: str, point: tuple[float, float] | None, found: list[Any]) -> dict[str, Any]:
    """The JSON the map script reads: the origin, the sites with their free places, the base places and tiles
    (with no origin: the towns of Kazakhstan, to pick a point from)."""
    settings = request.app.state.settings
    loc_lang = "kk" if lang == "kk" else "ru"
    sites = []
    for n, districts in found:
        free = sum(max(d.capacity - attached, 0) for d, attached in districts)
        sites.append(
            {
                "id": n.site.id,
                "lat": n.site.lat,
                "lon": n.site.lon,
                "d": round(n.distance_km, 3),
                "name": (n.site.name_kk or n.site.name_ru) if loc_lang == "kk" else n.site.name_ru,
                "km": translate(lang, MAP_LABELS["km"], {"km": f"{n.distance_km:.2f}".replace(".", ",")}),
                "free": translate(lang, MAP_LABELS["free"], {"count": free}),
            }
        )
    return {
        "origin": {"lat": point[0], "lon": point[1], "label": translate(lang, MAP_LABELS["origin"])} if point else None,
        "sites": sites,
        "places": _base_places(lang, point[0], point[1], found) if point else _towns(lang),
        "tiles": settings.map_tile_url,
        "attribution": settings.map_tile_attribution,
        "labels": {k: translate(lang, v) for k, v in MAP_LABELS.items() if k in ("apply", "picked", "scale")},
    }


@router.get("/attachment/clinics", response_class=HTMLResponse, dependencies=[require(Can.APPLY_ON_PORTAL)])
def clinics(
    request: Request,
    session: SessionDep,
    actor: Applicant,
    address: str = "",
    lat: str = "",
    lon: str = "",
    profile: str = "",
    person: str = "",
    q: str = "",
    kato: str = "",
    origin: str = "",
    district: str = "",
) -> HTMLResponse:
    """Show participating sites near a typed address, an address of the citizen or a point, with distance,
    profile and free places per district, on a map; ``district`` preselects a district of the apply form."""
    return clinics_page(
        request,
        session,
        actor,
        address=address[:20],
        lat=lat[:30],
        lon=lon[:30],
        profile=profile[:20],
        person=person[:20],
        q=q[:200],
        kato=kato[:9],
        origin=origin[:20],
        district=district[:20],
    )
