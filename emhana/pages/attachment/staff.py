"""Pages of the attachment campaign for staff: the registrar's queue, recording an in-person or written
application for a person looked up by IIN (typed in a POST form, never in a URL), the attached
population with filters (journey 3); the Fund's dashboard, policies and capitation snapshots (journey 10).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment import capitation, outputs, reports
from emhana.attachment.application import reasons, service
from emhana.attachment.campaign import policy
from emhana.attachment.enums import ChangeReason, Channel, Holder, PlaceBasis
from emhana.attachment.schemas import MAX_UPLOAD_BYTES, UPLOAD_TYPES, ApplicationIn, DocumentIn
from emhana.facilities.models import Entity
from emhana.facilities.rules import Profile
from emhana.identity.models import Person
from emhana.identity.service import find_by_iin, get_person, represented_ids
from emhana.kernel import clock
from emhana.kernel.errors import InvalidInput, NotFound, ReasonUnknown, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.pages.attachment import charts
from emhana.pages.attachment import fund as policy_pages
from emhana.pages.attachment.views import (
    BANDS,
    BASES,
    FORM_DOC_KINDS,
    MSG_DECIDED,
    MSG_IIN_FORMAT,
    MSG_NOT_REPRESENTATIVE,
    MSG_PERSON_NOT_FOUND,
    MSG_SCAN_REQUIRED,
    SEXES,
    AttachmentLabels,
    choice,
    doc_kind,
    error_text,
    parse_date,
    parse_int,
)
from emhana.web.deps import SessionDep, require
from emhana.web.render import (
    MSG_CSRF,
    MSG_REFUSED,
    csrf_ok,
    language,
    language_links,
    page_url,
    parse_page,
    render,
    render_error,
)

router = APIRouter(include_in_schema=False)
router.include_router(policy_pages.router)

Decider = Annotated[Actor, require(Can.DECIDE_APPLICATION)]
Recorder = Annotated[Actor, require(Can.RECORD_WRITTEN_APPLICATION)]
PopulationReader = Annotated[Actor, require(Can.SEE_ENTITY_POPULATION)]
FiguresReader = Annotated[Actor, require(Can.SEE_CAMPAIGN_FIGURES)]
PolicyMaker = Annotated[Actor, require(Can.SET_CAMPAIGN_POLICY)]
Counter = Annotated[Actor, require(Can.COUNT_CAPITATION)]
FormText = Annotated[str, Form(max_length=200)]
PROFILES = tuple(p.value for p in Profile)
POPULATION_PAGE = 25
DOC_ROWS = 3
TITLE_PER_DAY = N_("Applications per day")
TITLE_FLOWS = N_("Flows between organizations")
TITLE_REFUSALS = N_("Refusals by reason")
NO_PREVIOUS = N_("No previous attachment")


def _labels(request: Request) -> AttachmentLabels:
    return AttachmentLabels(language(request))


@router.get("/attachment/queue", response_class=HTMLResponse, dependencies=[require(Can.DECIDE_APPLICATION)])
def queue(request: Request, session: SessionDep, actor: Decider, decided: str = "") -> HTMLResponse:
    """Show the entity's applications awaiting a decision, earliest deadline first, overdue highlighted."""
    now = clock.now()
    apps = service.queue(session=session, actor=actor)
    outs = [outputs.application_out(session, a, now) for a in apps]
    names = reports.names_for(session, apps, [a.applicant_person_id for a in apps])
    number = parse_int(decided)
    notice = translate(language(request), MSG_DECIDED, {"number": number}) if number else ""
    return render(
        request,
        "attachment/queue.html",
        actor=actor,
        outs=outs,
        names=names,
        notice=notice,
        decided=number,
        al=_labels(request),
    )


def _record_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    person: Person | None = None,
    applicant: Person | None = None,
    typed: Mapping[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    """Render the registrar's form: the IIN lookup, then the application of the person found, with what was
    typed kept after a refusal, a representative who does not represent the person told at once, and what
    the application would meet today (A-41 quota, A-42 reasons)."""
    sites = reports.entity_sites(session=session, entity_id=actor.entity_id) if actor.entity_id else []
    loads = {d.id: n for s in sites for d, n in service.site_free(session=session, site_id=s.id)[1]}
    day = clock.today()
    current = (
        service.person_view(
            session=session, actor=actor, person_id=person.id, today=day, purpose="attachment application"
        ).current
        if person
        else None
    )
    names = reports.names_for(session, [current] if current else [])
    view = reasons.outlook(session=session, actor=actor, person_id=person.id, day=day) if person else None
    not_represented = (
        person is not None
        and applicant is not None
        and applicant.id != person.id
        and person.id not in represented_ids(session=session, representative_id=applicant.id, day=day)
    )
    here = [("person_id", str(person.id))] if person else []
    if applicant is not None:
        here.append(("applicant_person_id", str(applicant.id)))
    return render(
        request,
        "attachment/record.html",
        actor=actor,
        status=status,
        person=person,
        applicant=applicant,
        sites=sites,
        loads=loads,
        current=current,
        names=names,
        error=error,
        bases=BASES,
        doc_kinds=FORM_DOC_KINDS,
        rows=range(DOC_ROWS),
        typed=typed or {},
        view=view,
        holding=reasons.holding(view) if view else [],
        reasons=reasons.REASONS,
        rep_error=translate(language(request), MSG_NOT_REPRESENTATIVE) if not_represented else "",
        again_links=[
            (c, n, f"/attachment/record?{urlencode([*here, ('lang', c)])}") for c, n, _ in language_links(request)
        ],
        al=_labels(request),
    )


@router.get("/attachment/record", response_class=HTMLResponse, dependencies=[require(Can.RECORD_WRITTEN_APPLICATION)])
def record_form(
    request: Request, session: SessionDep, actor: Recorder, person_id: str = "", applicant_person_id: str = ""
) -> HTMLResponse:
    """Show the IIN lookup that starts an in-person or written application (A-50, A-51); with the ids of a
    person found (the language links of the form lead here), the form for that person again."""
    pid, aid = parse_int(person_id), parse_int(applicant_person_id)
    try:
        person = _person(session, actor, pid) if pid else None
        applicant = _person(session, actor, aid) if aid and person else None
    except RegistryError as exc:
        return _record_page(request, session, actor, error=error_text(language(request), exc), status=exc.status)
    return _record_page(request, session, actor, person=person, applicant=applicant)


def _person(session: Session, actor: Actor, person_id: int) -> Person:
    """Return a person the registrar found before (the read is logged with the form's purpose)."""
    return get_person(session=session, actor=actor, person_id=person_id, purpose="attachment application")


def _lookup(session: Session, actor: Actor, iin: str) -> Person:
    """Return the person of an IIN typed by the registrar (the IIN stays in the POST body)."""
    iin = iin.strip()
    if len(iin) != 12 or not iin.isdigit():
        raise InvalidInput(MSG_IIN_FORMAT)
    try:
        return find_by_iin(session=session, actor=actor, iin=iin, purpose="attachment application")
    except NotFound:
        raise NotFound(MSG_PERSON_NOT_FOUND) from None


@router.post(
    "/attachment/record/lookup", response_class=HTMLResponse, dependencies=[require(Can.RECORD_WRITTEN_APPLICATION)]
)
def record_lookup(
    request: Request,
    session: SessionDep,
    actor: Recorder,
    csrf: FormText = "",
    iin: FormText = "",
    representative_iin: FormText = "",
) -> HTMLResponse:
    """Find the person (and their representative, if one applies) by IIN and show the application form."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        person = _lookup(session, actor, iin)
        applicant = _lookup(session, actor, representative_iin) if representative_iin.strip() else None
    except RegistryError as exc:
        return _record_page(request, session, actor, error=error_text(language(request), exc), status=exc.status)
    return _record_page(request, session, actor, person=person, applicant=applicant)


async def _documents(form: Mapping[str, object]) -> tuple[list[DocumentIn], list[service.Upload]]:
    """Return the documents of the form with their scans, those with a scan first (scans pair by order)."""
    rows: list[tuple[DocumentIn, service.Upload | None]] = []
    for i in range(DOC_ROWS):
        kind, number = doc_kind(form.get(f"doc_kind_{i}")), str(form.get(f"doc_number_{i}") or "").strip()[:60]
        if kind is None or not number:
            continue
        holder = Holder.APPLICANT if form.get(f"doc_holder_{i}") == "applicant" else Holder.PERSON
        doc = DocumentIn(holder=holder, kind=kind, number=number, expires_on=parse_date(form.get(f"doc_expires_{i}")))
        upload = form.get(f"doc_file_{i}")
        scan = None
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(MAX_UPLOAD_BYTES + 1)
            if len(content) > MAX_UPLOAD_BYTES or (upload.content_type or "") not in UPLOAD_TYPES:
                raise InvalidInput(MSG_SCAN_REQUIRED)
            scan = service.Upload(
                file_name=upload.filename[:200], content_type=upload.content_type or "", content=content
            )
        rows.append((doc, scan))
    rows.sort(key=lambda r: r[1] is None)
    return [d for d, _ in rows], [u for _, u in rows if u is not None]


@router.post("/attachment/record", response_class=HTMLResponse, dependencies=[require(Can.RECORD_WRITTEN_APPLICATION)])
async def record(request: Request, session: SessionDep, actor: Recorder) -> Response:
    """Record an application made in person or in writing (with scanned documents) at the registrar's entity."""
    form = await request.form(max_files=DOC_ROWS, max_fields=40)
    fields = dict(form.items())
    if not csrf_ok(request, str(fields.get("csrf") or "")):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    lang = language(request)
    person_id, applicant_id = parse_int(fields.get("person_id")), parse_int(fields.get("applicant_person_id"))
    person = applicant = None
    typed = {k: str(v)[:200] for k, v in fields.items() if isinstance(v, str) and k != "csrf"}
    try:
        if person_id is None:
            raise InvalidInput()
        person = get_person(session=session, actor=actor, person_id=person_id, purpose="attachment application")
        if applicant_id is not None:
            applicant = get_person(
                session=session, actor=actor, person_id=applicant_id, purpose="attachment application"
            )
        channel = Channel.WRITTEN if fields.get("channel") == "written" else Channel.IN_PERSON
        documents, uploads = await _documents(fields)
        if channel is Channel.WRITTEN and not uploads:
            raise InvalidInput(MSG_SCAN_REQUIRED)
        data = ApplicationIn(
            person_id=person_id,
            district_id=parse_int(fields.get("district_id")) or 0,
            place_basis=PlaceBasis(choice(fields.get("place_basis"), BASES) or "residence_permanent"),
            border_claim=fields.get("border_claim") == "on",
            applicant_person_id=applicant_id,
            pregnant=fields.get("pregnant") == "on",  # A-23 (M)
            change_reason=_reason(fields.get("change_reason")),
            documents=documents,
        )
        app = service.submit(session=session, actor=actor, data=data, channel=channel, uploads=uploads, now=clock.now())
    except RegistryError as exc:
        session.rollback()
        person = session.get(Person, person_id) if person_id else None
        applicant = session.get(Person, applicant_id) if applicant_id else None
        return _record_page(
            request,
            session,
            actor,
            person=person,
            applicant=applicant,
            typed=typed,
            error=error_text(lang, exc),
            status=exc.status,
        )
    return RedirectResponse(f"/attachment/applications/{app.id}", status_code=303)


def _reason(value: object) -> ChangeReason | None:
    """Return the posted reason of a change outside the campaign; one outside A-42 is a coded error."""
    text = str(value or "").strip()
    if not text:
        return None
    if text not in reasons.REASONS:
        raise ReasonUnknown()
    return ChangeReason(text)


@router.get("/attachment/population", response_class=HTMLResponse, dependencies=[require(Can.SEE_ENTITY_POPULATION)])
def population(
    request: Request,
    session: SessionDep,
    actor: PopulationReader,
    site: str = "",
    district: str = "",
    profile: str = "",
    sex: str = "",
    band: str = "",
    page: str = "1",
) -> HTMLResponse:
    """Show the people attached to the registrar's entity today, filtered by site, district, profile, sex
    and age band, a page at a time."""
    sites = reports.entity_sites(session=session, entity_id=actor.entity_id) if actor.entity_id else []
    site_ids = {s.id for s in sites}
    district_ids = {d.id for s in sites for d in s.districts}
    filters = reports.PopulationFilter(
        site_id=parse_int(site) if parse_int(site) in site_ids else None,
        district_id=parse_int(district) if parse_int(district) in district_ids else None,
        profile=choice(profile, PROFILES),
        sex=choice(sex, SEXES),
        band=choice(band, BANDS),
    )
    page_no = parse_page(page)
    total, rows = reports.population(
        session=session,
        actor=actor,
        day=clock.today(),
        filters=filters,
        limit=POPULATION_PAGE,
        offset=(page_no - 1) * POPULATION_PAGE,
    )
    pages = max(1, -(-total // POPULATION_PAGE))
    return render(
        request,
        "attachment/population.html",
        actor=actor,
        rows=rows,
        total=total,
        page=page_no,
        pages=pages,
        sites=sites,
        f=filters,
        profiles=PROFILES,
        sexes=SEXES,
        bands=BANDS,
        prev_url=page_url(request, page=page_no - 1) if page_no > 1 else None,
        next_url=page_url(request, page=page_no + 1) if page_no < pages else None,
        al=_labels(request),
    )


@router.get("/attachment/dashboard", response_class=HTMLResponse, dependencies=[require(Can.SEE_CAMPAIGN_FIGURES)])
def dashboard(request: Request, session: SessionDep, actor: FiguresReader, year: str = "") -> HTMLResponse:
    """Show the Fund's campaign dashboard: applications per day, flows between organizations, refusals."""
    lang, labels = language(request), _labels(request)
    years = [p.year for p in policy.list_policies(session)]
    today = clock.today()
    default = max((y for y in years if y <= today.year), default=today.year)
    chosen = int(year) if year.isdigit() and int(year) in years else default
    fig = reports.campaign_figures(session=session, actor=actor, year=chosen)

    def loc_name(e: Entity) -> str:
        return (e.name_kk or e.name_ru) if lang == "kk" else e.name_ru

    none = translate(lang, NO_PREVIOUS)
    flows = [
        (f"{loc_name(fig.entities[a]) if a is not None else none} → {loc_name(fig.entities[b])}", n)
        for a, b, n in fig.flows
    ]
    refusals = [(labels.reason(code), n) for code, n in fig.refusals]
    refusal_rows = [
        (labels.reason(code), fig.refused_by_registrar.get(code, 0), fig.refused_automatically.get(code, 0), n)
        for code, n in fig.refusals
    ]
    per_day = [(d.strftime("%d.%m"), n) for d, n in fig.per_day]
    return render(
        request,
        "attachment/dashboard.html",
        actor=actor,
        years=years,
        year=chosen,
        fig=fig,
        flows=flows,
        refusals=refusals,
        refusal_rows=refusal_rows,
        per_day=per_day,
        total=sum(n for _, n in fig.per_day),
        per_day_svg=charts.column_chart(per_day, title=translate(lang, TITLE_PER_DAY)) if per_day else "",
        flows_svg=charts.bar_chart(flows, title=translate(lang, TITLE_FLOWS)) if flows else "",
        refusals_svg=charts.bar_chart(refusals, title=translate(lang, TITLE_REFUSALS), accent=True) if refusals else "",
        al=labels,
    )


@router.get("/attachment/policies", response_class=HTMLResponse, dependencies=[require(Can.SET_CAMPAIGN_POLICY)])
def policies(request: Request, session: SessionDep, actor: PolicyMaker, created: str = "") -> HTMLResponse:
    """List the campaign policies, latest first (A-30..A-34, A-41)."""
    rows = list(reversed(policy.list_policies(session)))
    notice = policy_pages.created_notice(session, language(request), created) if created else ""
    return render(
        request,
        "attachment/policies.html",
        actor=actor,
        rows=rows,
        today=clock.today(),
        notice=notice,
        al=_labels(request),
    )


@router.get("/attachment/snapshots", response_class=HTMLResponse, dependencies=[require(Can.COUNT_CAPITATION)])
def snapshots(request: Request, session: SessionDep, actor: Counter) -> HTMLResponse:
    """List the capitation snapshots with their CSV exports (A-120, A-121)."""
    return render(
        request,
        "attachment/snapshots.html",
        actor=actor,
        rows=capitation.list_snapshots(session=session),
        al=_labels(request),
    )
