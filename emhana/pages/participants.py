"""Pages of the published lists of participating healthcare entities (B-02): the Fund publishes a campaign year's
list with its publication date and sees every version published; anyone reads a year's list (the latest version
or an earlier one) with its publication date and digest. The lists hold organizations only, no personal data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.attachment import participants
from emhana.attachment.campaign import policy
from emhana.facilities import publication
from emhana.kernel import clock
from emhana.kernel.errors import InvalidInput, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.pages.attachment.fund import error_message
from emhana.pages.attachment.views import AttachmentLabels, parse_date
from emhana.web.deps import OptionalActor, ReadSessionDep, SessionDep, public, require
from emhana.web.render import (
    MSG_CSRF,
    MSG_NOT_FOUND_TITLE,
    MSG_REFUSED,
    csrf_ok,
    language,
    regions,
    render,
    render_error,
)

router = APIRouter(include_in_schema=False)

Keeper = Annotated[Actor, require(Can.KEEP_FACILITY_REGISTER)]
MSG_PUBLISH_FIELDS = N_("Choose the campaign year and enter the publication date (YYYY-MM-DD).")
MSG_PUBLISHED = N_("Version {version} of the list for {year} is published: {count} organizations.")


def _fund_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    values: dict[str, str] | None = None,
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    campaigns = policy.list_policies(session)
    years = [p.year for p in reversed(campaigns)]
    today = clock.today()
    # The next campaign whose period has not ended (its list is the one to publish), else the latest.
    default_year = next((p.year for p in campaigns if p.window_end >= today), years[0] if years else today.year)
    return render(
        request,
        "attachment/fund_participants.html",
        actor=actor,
        status=status,
        years=years,
        v=values or {"year": str(default_year), "published_on": today.isoformat()},
        rows=publication.versions(session=session),
        error=error,
        notice=notice,
        al=AttachmentLabels(language(request)),
    )


@router.get("/fund/participants", response_class=HTMLResponse, dependencies=[require(Can.KEEP_FACILITY_REGISTER)])
def fund_participants(
    request: Request, session: SessionDep, actor: Keeper, year: str = "", version: str = ""
) -> HTMLResponse:
    """Show the form that publishes a campaign year's list, and every version published (B-02)."""
    notice = ""
    if year.isdigit() and version.isdigit() and len(year) == 4 and len(version) < 7:
        try:
            lst = publication.get_list(session=session, year=int(year), version=int(version))
            notice = translate(
                language(request), MSG_PUBLISHED, {"version": lst.version, "year": lst.year, "count": lst.count}
            )
        except RegistryError:
            notice = ""
    return _fund_page(request, session, actor, notice=notice)


@router.post("/fund/participants", response_class=HTMLResponse, dependencies=[require(Can.KEEP_FACILITY_REGISTER)])
async def fund_publish(request: Request, session: SessionDep, actor: Keeper) -> Response:
    """Publish a new version of a campaign year's list of participating entities; earlier versions are kept."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not csrf_ok(request, form.get("csrf", "")):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    values = {"year": form.get("year", "").strip()[:4], "published_on": form.get("published_on", "").strip()[:10]}
    try:
        day = parse_date(values["published_on"])
        if not values["year"].isdigit() or day is None:
            raise InvalidInput(MSG_PUBLISH_FIELDS)
        lst = participants.publish(
            session=session,
            actor=actor,
            year=int(values["year"]),
            published_on=day,
            today=clock.today(),
            now=clock.now(),
        )
    except RegistryError as exc:
        session.rollback()
        message = error_message(language(request), exc)
        return _fund_page(request, session, actor, values=values, error=message, status=exc.status)
    return RedirectResponse(f"/fund/participants?year={lst.year}&version={lst.version}", status_code=303)


@router.get("/participants", response_class=HTMLResponse, dependencies=[public()])
def public_index(request: Request, session: ReadSessionDep, actor: OptionalActor) -> HTMLResponse:
    """List the campaign years whose list of participating entities is published."""
    return render(request, "participants_index.html", actor=actor, rows=publication.versions(session=session))


@router.get("/participants/{year}", response_class=HTMLResponse, dependencies=[public()])
def public_list(
    year: str, request: Request, session: ReadSessionDep, actor: OptionalActor, version: str = ""
) -> HTMLResponse:
    """Show a campaign year's published list of participating entities (B-02): its latest version, or the one
    asked for, with its publication date and the other versions."""
    lst = None
    if year.isdigit() and len(year) == 4 and (not version or (version.isdigit() and len(version) < 7)):
        try:
            lst = publication.get_list(session=session, year=int(year), version=int(version) if version else None)
        except RegistryError:
            lst = None
    if lst is None:
        message = publication.ListNotPublished.message
        lang = language(request)
        return render(
            request,
            "error.html",
            actor=actor,
            status=404,
            title=translate(lang, MSG_NOT_FOUND_TITLE),
            message=translate(lang, message, {"year": year[:4] if year.isdigit() else "—"}),
        )
    region_names = dict(regions(session, language(request)))
    return render(
        request,
        "participants.html",
        actor=actor,
        lst=lst,
        rows=publication.rows_of(lst),
        versions=publication.versions(session=session, year=lst.year),
        region_name=region_names,
        intact=publication.intact(lst),
    )
