"""Pages of the attachment campaign for citizens: my attachment and the children I represent, clinics
near home or work with free places, the apply form and the application's status (journeys 1 and 2).
The registrar's and the Fund's pages live in staff_pages. Every page calls the same services as the API.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can, may
from emhana.accounts.service import Actor
from emhana.attachment import outputs
from emhana.attachment.application import reasons, service
from emhana.attachment.enums import ChangeReason, Channel, PlaceBasis
from emhana.attachment.models import Application
from emhana.attachment.reports import names_for
from emhana.attachment.rules import REFUSAL_REASONS
from emhana.attachment.schemas import ApplicationIn, DecisionIn
from emhana.facilities.models import District, Site
from emhana.facilities.rules import Profile
from emhana.identity.service import represented_ids
from emhana.kernel import clock
from emhana.kernel.errors import (
    AlreadyDecided,
    Forbidden,
    InvalidInput,
    NotFound,
    ReasonUnknown,
    RegistryError,
    RepresentativeRequired,
    VersionConflict,
)
from emhana.kernel.i18n import translate
from emhana.pages import eds as eds_pages
from emhana.pages.attachment import contacts as contact_pages
from emhana.pages.attachment.clinics import router as clinics_router
from emhana.pages.attachment.staff import router as staff_router
from emhana.pages.attachment.views import (
    BASES,
    MSG_NOT_CITIZEN_LINKED,
    MSG_REASON_REQUIRED,
    MSG_STALE,
    AttachmentLabels,
    choice,
    error_text,
    parse_int,
)
from emhana.web.deps import SessionDep, require
from emhana.web.render import (
    MSG_CSRF,
    MSG_NOT_FOUND,
    MSG_NOT_FOUND_TITLE,
    MSG_REFUSED,
    csrf_ok,
    language,
    language_links,
    render,
    render_error,
)

router = APIRouter(include_in_schema=False)
router.include_router(staff_router)
router.include_router(contact_pages.router)
router.include_router(clinics_router)  # the clinic search, /attachment/clinics

Owner = Annotated[Actor, require(Can.SEE_OWN_RECORDS)]
Applicant = Annotated[Actor, require(Can.APPLY_ON_PORTAL)]
Reader = Annotated[Actor, require(Can.READ_APPLICATION)]
Decider = Annotated[Actor, require(Can.DECIDE_APPLICATION)]
FormText = Annotated[str, Form(max_length=200)]
PROFILES = tuple(p.value for p in Profile)


def _labels(request: Request) -> AttachmentLabels:
    return AttachmentLabels(language(request))


@router.get("/attachment/my", response_class=HTMLResponse, dependencies=[require(Can.SEE_OWN_RECORDS)])
def my_attachment(request: Request, session: SessionDep, actor: Owner) -> HTMLResponse:
    """Show the citizen's attachment, its history and applications, and those of the children they represent."""
    now = clock.now()
    me, children = service.my_views(session=session, actor=actor, today=service.local_day(now))
    views = ([me] if me else []) + children
    rows: list[object] = [r for v in views for r in (*v.history, *v.applications)]
    names = names_for(session, rows, [v.person_id for v in views])  # type: ignore[arg-type]
    outs = {a.id: outputs.application_out(session, a, now) for v in views for a in v.applications}
    return render(
        request,
        "attachment/my.html",
        actor=actor,
        me=me,
        children=children,
        names=names,
        outs=outs,
        al=_labels(request),
        linked=actor.person_id is not None,
        not_linked=translate(language(request), MSG_NOT_CITIZEN_LINKED),
    )


APPLY_FIELDS = ("person_id", "district_id", "place_basis", "change_reason", "pregnant", "border_claim", "care_at_home")
BACK_FIELDS = ("address", "lat", "lon", "profile")


def _apply_page(
    request: Request, session: Session, actor: Actor, typed: dict[str, str], *, error: str = "", status: int = 200
) -> HTMLResponse:
    """Render the apply form for a chosen district with everything the person typed, what the application
    would meet today (A-41 quota, A-42 reasons) and the error of a refused submission."""
    if actor.person_id is None:
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_NOT_CITIZEN_LINKED, actor=actor)
    lang, day = language(request), clock.today()
    child_ids = sorted(represented_ids(session=session, representative_id=actor.person_id, day=day))
    names = names_for(session, [], [actor.person_id, *child_ids])
    person = parse_int(typed.get("person_id")) or actor.person_id
    basis = PlaceBasis(choice(typed.get("place_basis"), BASES) or PlaceBasis.RESIDENCE_PERMANENT.value)
    view, person_error = None, ""
    try:
        view = reasons.outlook(session=session, actor=actor, person_id=person, day=day, basis=basis)
    except (Forbidden, NotFound):
        person_error = translate(lang, RepresentativeRequired.message)
    district = parse_int(typed.get("district_id"))
    chosen = session.get(District, district) if district else None
    free = None
    try:
        loads = {d.id: n for d, n in service.site_free(session=session, site_id=chosen.site_id)[1]} if chosen else {}
    except NotFound:  # the site has closed meanwhile
        loads = {}
    if chosen is not None and chosen.id in loads:
        free = max(0, chosen.capacity - loads[chosen.id])
    else:
        chosen = None
    back = {k: typed.get(k, "") for k in BACK_FIELDS if typed.get(k)}
    here = [(k, typed[k]) for k in (*APPLY_FIELDS, *BACK_FIELDS) if typed.get(k)]
    return render(
        request,
        "attachment/apply.html",
        actor=actor,
        status=status,
        typed=typed,
        person=person,
        child_ids=child_ids,
        names=names,
        view=view,
        holding=reasons.holding(view) if view else [],
        person_error=person_error,
        district=chosen,
        site=session.get(Site, chosen.site_id) if chosen else None,
        free=free,
        bases=BASES,
        reasons=reasons.REASONS,
        error=error,
        back_url="/attachment/clinics" + (f"?{urlencode({**back, 'person': str(person)})}"),
        again_links=[
            (c, n, f"/attachment/apply?{urlencode([*here, ('lang', c)])}") for c, n, _ in language_links(request)
        ],
        al=_labels(request),
        eds_apply=eds_pages.apply_context(request, actor),  # the signing step (H-eds, issue 16 item 6)
    )


@router.get("/attachment/apply", response_class=HTMLResponse, dependencies=[require(Can.APPLY_ON_PORTAL)])
def apply_form(request: Request, session: SessionDep, actor: Applicant) -> HTMLResponse:
    """Show the apply form for a district chosen on the clinics page, or the form as it was typed (the
    language links of a refused form lead here): a non-representative is told at once, and the year's
    change quota and the reasons of a change outside the campaign before anything is filed."""
    typed = {k: v[:200] for k, v in request.query_params.items() if k in (*APPLY_FIELDS, *BACK_FIELDS)}
    return _apply_page(request, session, actor, typed)


@router.post("/attachment/apply", response_class=HTMLResponse, dependencies=[require(Can.APPLY_ON_PORTAL)])
def apply(
    request: Request,
    session: SessionDep,
    actor: Applicant,
    csrf: FormText = "",
    person_id: FormText = "",
    district_id: FormText = "",
    place_basis: FormText = "",
    change_reason: FormText = "",
    address: FormText = "",
    lat: FormText = "",
    lon: FormText = "",
    profile: FormText = "",
    pregnant: FormText = "",
    care_at_home: FormText = "",
    border_claim: FormText = "",
    sign: FormText = "",
    cms: Annotated[str, Form(max_length=64 * 1024)] = "",
) -> Response:
    """Apply on the portal for oneself or a represented child (A-50); the same service as the API.
    A-23 (M): a declared pregnancy; A-26: the applicant's wish for home visits outside the service zone;
    A-42: the reason of a change outside the campaign. A refusal shows the form again as it was typed."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    person, district = parse_int(person_id), parse_int(district_id)
    basis = choice(place_basis, BASES) or PlaceBasis.RESIDENCE_PERMANENT.value
    typed = {
        "person_id": person_id,
        "district_id": district_id,
        "place_basis": basis,
        "change_reason": change_reason,
        "pregnant": pregnant,
        "border_claim": border_claim,
        "care_at_home": care_at_home,
        "address": address,
        "lat": lat,
        "lon": lon,
        "profile": profile,
    }
    lang = language(request)
    if person is None or district is None:
        return _apply_page(request, session, actor, typed, status=422, error=translate(lang, InvalidInput.message))
    try:
        if change_reason and change_reason not in reasons.REASONS:
            raise ReasonUnknown()
        app = service.submit(
            session=session,
            actor=actor,
            channel=Channel.EGOV,
            now=clock.now(),
            data=ApplicationIn(
                person_id=person,
                district_id=district,
                place_basis=PlaceBasis(basis),
                change_reason=ChangeReason(change_reason) if change_reason else None,
                pregnant=pregnant == "on",
                border_claim=border_claim == "on",
                care_at_home=True if care_at_home == "on" else None,
            ),
        )
        eds_pages.sign_with_submit(request, session, actor, app, sign, cms)  # signed with the submission
    except RegistryError as exc:
        session.rollback()
        return _apply_page(request, session, actor, typed, status=exc.status, error=error_text(lang, exc))
    return RedirectResponse(f"/attachment/applications/{app.id}", status_code=303)


def _application_page(
    request: Request, session: Session, actor: Actor, app: Application, *, error: str = "", status: int = 200
) -> HTMLResponse:
    """Render an application with its decision, reason in the page language and deadline."""
    now = clock.now()
    out = outputs.application_out(session, app, now)
    names = names_for(session, [app], [app.applicant_person_id])
    lang = language(request)
    reason = out.reason.messages.get(lang, "") if out.reason else ""
    review = [r.messages.get(lang, "") for r in out.review]
    return render(
        request,
        "attachment/application.html",
        actor=actor,
        status=status,
        app=app,
        out=out,
        names=names,
        reason=reason,
        review=review,
        error=error,
        al=_labels(request),
        reasons=list(REFUSAL_REASONS),
        eds=eds_pages.signature_context(request, session, actor, app),  # the applicant's signature (issue 16)
        may_decide=may(actor.role, Can.DECIDE_APPLICATION)
        and app.entity_id == actor.entity_id
        and out.state == "submitted",
    )


def _find(session: Session, actor: Actor, application_id: str) -> Application | None:
    """Return an application the actor may read, or None when the id names nothing."""
    key = parse_int(application_id)
    if key is None:
        return None
    try:
        return service.get_application(session=session, actor=actor, application_id=key, today=clock.today())
    except NotFound:
        return None


@router.get(
    "/attachment/applications/{application_id}",
    response_class=HTMLResponse,
    dependencies=[require(Can.READ_APPLICATION)],
)
def application(request: Request, application_id: str, session: SessionDep, actor: Reader) -> HTMLResponse:
    """Show an application's state, decision, reason and deadline; the registrar also gets the decide form."""
    app = _find(session, actor, application_id)
    if app is None:
        return render_error(request, status=404, title=MSG_NOT_FOUND_TITLE, message=MSG_NOT_FOUND, actor=actor)
    return _application_page(request, session, actor, app)


@router.post(
    "/attachment/applications/{application_id}/decision",
    response_class=HTMLResponse,
    dependencies=[require(Can.DECIDE_APPLICATION)],
)
def decide(
    request: Request,
    application_id: str,
    session: SessionDep,
    actor: Decider,
    csrf: FormText = "",
    decision: FormText = "",
    reason_code: FormText = "",
    version: FormText = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    care_at_home: FormText = "",
) -> Response:
    """Approve or refuse a queued application; the form's version acts as If-Match (a stale form is told so).
    ``care_at_home`` (yes / no / empty) records the home-visit agreement of A-26."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    app = _find(session, actor, application_id)
    if app is None:
        return render_error(request, status=404, title=MSG_NOT_FOUND_TITLE, message=MSG_NOT_FOUND, actor=actor)
    lang, expected = language(request), parse_int(version)
    if decision not in ("approve", "refuse") or expected is None:
        return _application_page(request, session, actor, app, status=422, error=translate(lang, InvalidInput.message))
    if decision == "refuse" and reason_code not in REFUSAL_REASONS:
        return _application_page(request, session, actor, app, status=422, error=translate(lang, MSG_REASON_REQUIRED))
    app_id = app.id
    try:
        service.decide(
            session=session,
            actor=actor,
            application_id=app_id,
            expected_version=expected,
            now=clock.now(),
            data=DecisionIn(
                decision=decision,
                reason_code=reason_code or None,
                note=note.strip() or None,
                care_at_home={"yes": True, "no": False}.get(care_at_home),
            ),
        )
    except (VersionConflict, AlreadyDecided):
        session.rollback()
        fresh = _find(session, actor, str(app_id))
        if fresh is None:
            raise
        return _application_page(request, session, actor, fresh, status=409, error=translate(lang, MSG_STALE))
    except RegistryError as exc:
        session.rollback()
        fresh = _find(session, actor, str(app_id))
        if fresh is None:
            raise
        return _application_page(request, session, actor, fresh, status=exc.status, error=error_text(lang, exc))
    return RedirectResponse(f"/attachment/queue?decided={app_id}", status_code=303)
