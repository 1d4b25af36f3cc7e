"""The organization administrator's page of its own sites (issue 16, item 2): each site's names, address and point,
its catchment districts with profile, capacity and doctor, and the organization's practitioners with their posts.
Every form posts, and a saved change redirects back (303); a refused one shows the page again with what was typed
and the coded error beside that form. The writes are facilities/admin.py's (audited, one writer per kind of row)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.facilities import admin
from emhana.facilities.rules import Profile
from emhana.facilities.service import add_practitioner, practitioners_of
from emhana.identity.rules import is_valid_iin
from emhana.kernel import clock
from emhana.kernel.errors import InvalidIIN, InvalidInput, NotFound, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.web.deps import SessionDep, require
from emhana.web.problems import localize_params
from emhana.web.render import (
    MSG_CSRF,
    MSG_REFUSED,
    csrf_ok,
    language,
    language_links,
    parse_point,
    render,
    render_error,
)

router = APIRouter(include_in_schema=False)

Keeper = Annotated[Actor, require(Can.KEEP_OWN_SITES)]
FormText = Annotated[str, Form(max_length=300)]
PROFILES = tuple(p.value for p in Profile)
PAGE = "/entity/sites"
SAVED = {
    "site": N_("The site is saved."),
    "district": N_("The district is saved."),
    "post": N_("The practitioner's post is saved."),
    "ended": N_("The post is closed."),
}
MSG_BAD_NUMBER = N_("Enter whole numbers for the district's number and capacity.")
MSG_BAD_DATE = N_("Enter a date as DD.MM.YYYY.")
MSG_NAMES_REQUIRED = N_("Give the surname, the given name and the post's title.")


def _int(value: str) -> int | None:
    text = value.strip().replace(" ", "").replace("\u00a0", "")
    return int(text) if text.isdigit() and len(text) < 10 else None


def _date(value: str) -> dt.date | None:
    text = value.strip()
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _message(lang: str, exc: RegistryError) -> str:
    return translate(lang, exc.template(), localize_params(lang, exc.params))


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    failed: str = "",
    typed: dict[str, str] | None = None,
    error: str = "",
    code: str = "",
    status: int = 200,
) -> HTMLResponse:
    """Render the organization's sites; ``failed`` names the form that was refused (kept as typed)."""
    if actor.entity_id is None:
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_REFUSED, actor=actor)
    entity = admin.own_entity(session=session, actor=actor)
    day = clock.today()
    staff = practitioners_of(session=session, entity_id=entity.id, day=day)
    saved = request.query_params.get("saved", "")
    return render(
        request,
        "entity/sites.html",
        actor=actor,
        status=status,
        entity=entity,
        sites=[s for s in entity.sites if s.active],
        staff=staff,
        doctors=sorted({p.id: p for p, _ in staff}.values(), key=lambda p: (p.surname, p.given_name, p.id)),
        profiles=PROFILES,
        failed=failed,
        typed=typed or {},
        error=error,
        code=code,
        saved=translate(language(request), SAVED[saved]) if saved in SAVED and not failed else "",
        today=day,
        max_capacity=admin.MAX_CAPACITY,
        again_links=[(c, n, f"{PAGE}?lang={c}") for c, n, _ in language_links(request)],
    )


def _refused(
    request: Request, session: Session, actor: Actor, failed: str, typed: dict[str, str], exc: RegistryError
) -> HTMLResponse:
    session.rollback()
    return _page(
        request,
        session,
        actor,
        failed=failed,
        typed=typed,
        error=_message(language(request), exc),
        code=exc.code,
        status=exc.status,
    )


def _saved(kind: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?saved={kind}#{anchor}", status_code=303)


@router.get(PAGE, response_class=HTMLResponse, dependencies=[require(Can.KEEP_OWN_SITES)])
def sites(request: Request, session: SessionDep, actor: Keeper) -> HTMLResponse:
    """Show the organization's sites with their districts, capacity and doctors, and its practitioners."""
    return _page(request, session, actor)


@router.post(PAGE + "/{site_id}", response_class=HTMLResponse, dependencies=[require(Can.KEEP_OWN_SITES)])
def save_site(
    request: Request,
    site_id: int,
    session: SessionDep,
    actor: Keeper,
    csrf: FormText = "",
    name_kk: FormText = "",
    name_ru: FormText = "",
    address_kk: FormText = "",
    address_ru: FormText = "",
    lat: FormText = "",
    lon: FormText = "",
) -> Response:
    """Change a site's names, address and point."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {"name_kk": name_kk, "name_ru": name_ru, "address_kk": address_kk, "address_ru": address_ru}
    typed |= {"lat": lat, "lon": lon}
    failed = f"site-{site_id}"
    point = parse_point(lat, lon)
    try:
        if point is None:
            raise InvalidInput(errors=[{"field": "lat", "code": "geo.invalid_point"}])
        change = admin.SiteChange(name_kk, name_ru, address_kk, address_ru, point[0], point[1])
        admin.update_site(session=session, actor=actor, site_id=site_id, change=change)
    except NotFound:
        raise
    except RegistryError as exc:
        return _refused(request, session, actor, failed, typed, exc)
    return _saved("site", failed)


def _district_change(number: str, profile: str, capacity: str, doctor_id: str) -> admin.DistrictChange:
    n, c = _int(number), _int(capacity)
    if n is None or c is None:
        raise InvalidInput(MSG_BAD_NUMBER)
    return admin.DistrictChange(number=n, profile=profile, capacity=c, doctor_id=_int(doctor_id) or None)


@router.post(PAGE + "/{site_id}/districts", response_class=HTMLResponse, dependencies=[require(Can.KEEP_OWN_SITES)])
def add_district(
    request: Request,
    site_id: int,
    session: SessionDep,
    actor: Keeper,
    csrf: FormText = "",
    number: FormText = "",
    profile: FormText = "",
    capacity: FormText = "",
    doctor_id: FormText = "",
) -> Response:
    """Add a catchment district to a site."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {"number": number, "profile": profile, "capacity": capacity, "doctor_id": doctor_id}
    failed = f"new-district-{site_id}"
    try:
        change = _district_change(number, profile, capacity, doctor_id)
        district = admin.write_district(session=session, actor=actor, site_id=site_id, change=change, day=clock.today())
    except NotFound:
        raise
    except RegistryError as exc:
        return _refused(request, session, actor, failed, typed, exc)
    return _saved("district", f"district-{district.id}")


@router.post(
    PAGE + "/{site_id}/districts/{district_id}",
    response_class=HTMLResponse,
    dependencies=[require(Can.KEEP_OWN_SITES)],
)
def save_district(
    request: Request,
    site_id: int,
    district_id: int,
    session: SessionDep,
    actor: Keeper,
    csrf: FormText = "",
    number: FormText = "",
    profile: FormText = "",
    capacity: FormText = "",
    doctor_id: FormText = "",
) -> Response:
    """Change a district's number, profile, capacity or doctor."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {"number": number, "profile": profile, "capacity": capacity, "doctor_id": doctor_id}
    failed = f"district-{district_id}"
    try:
        change = _district_change(number, profile, capacity, doctor_id)
        admin.write_district(
            session=session, actor=actor, site_id=site_id, change=change, day=clock.today(), district_id=district_id
        )
    except NotFound:
        raise
    except RegistryError as exc:
        return _refused(request, session, actor, failed, typed, exc)
    return _saved("district", failed)


@router.post("/entity/practitioners", response_class=HTMLResponse, dependencies=[require(Can.KEEP_OWN_SITES)])
def add_post(
    request: Request,
    session: SessionDep,
    actor: Keeper,
    csrf: FormText = "",
    iin: FormText = "",
    surname: FormText = "",
    given_name: FormText = "",
    patronymic: FormText = "",
    specialties: FormText = "",
    site_id: FormText = "",
    title: FormText = "",
    valid_from: FormText = "",
) -> Response:
    """Give a practitioner (found or registered by IIN) a post at the organization."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {"iin": iin, "surname": surname, "given_name": given_name, "patronymic": patronymic}
    typed |= {"specialties": specialties, "site_id": site_id, "title": title, "valid_from": valid_from}
    try:
        if not is_valid_iin(iin.strip()):
            raise InvalidIIN()
        start = _date(valid_from) if valid_from.strip() else clock.today()
        if start is None:
            raise InvalidInput(MSG_BAD_DATE)
        if not surname.strip() or not given_name.strip() or not title.strip():
            raise InvalidInput(MSG_NAMES_REQUIRED)
        site = _int(site_id) or None
        if actor.entity_id is None:
            raise NotFound()
        add_practitioner(
            session=session,
            actor=actor,
            iin=iin.strip(),
            surname=surname.strip()[:100],
            given_name=given_name.strip()[:100],
            patronymic=patronymic.strip()[:100] or None,
            specialties=[s.strip() for s in specialties.split(",") if s.strip()],
            entity_id=actor.entity_id,
            site_id=site,
            title=title.strip()[:100],
            rate=1.0,
            valid_from=start,
        )
    except RegistryError as exc:
        return _refused(request, session, actor, "new-post", typed, exc)
    return _saved("post", "staff")


@router.post("/entity/posts/{post_id}/end", response_class=HTMLResponse, dependencies=[require(Can.KEEP_OWN_SITES)])
def end_post(
    request: Request, post_id: int, session: SessionDep, actor: Keeper, csrf: FormText = "", last_day: FormText = ""
) -> Response:
    """Close a practitioner's post after its last day."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {"last_day": last_day}
    try:
        day = _date(last_day) if last_day.strip() else clock.today()
        if day is None:
            raise InvalidInput(MSG_BAD_DATE)
        admin.end_post(session=session, actor=actor, post_id=post_id, last_day=day)
    except NotFound:
        raise
    except RegistryError as exc:
        return _refused(request, session, actor, f"post-{post_id}", typed, exc)
    return _saved("ended", "staff")
