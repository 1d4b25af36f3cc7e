"""The public verifier page: paste a seal's text or upload a photo of its QR code, see the verdict (§6.6)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from emhana.kernel.errors import TrustError, UploadTooLarge, VerifierBusy
from emhana.kernel.i18n import LANGUAGE_NAMES, LANGUAGES, N_, translate
from emhana.medbook.group_names import names_of
from emhana.trust.scheme import publish
from emhana.trust.seals import photo, present
from emhana.trust.seals.outcomes import MEANINGS, TITLES
from emhana.trust.seals.verifier import Outcome, Result
from emhana.web.deps import OptionalActor, ReadSessionDep, public
from emhana.web.render import MSG_CSRF, csrf_ok, language, render

router = APIRouter(include_in_schema=False)

GOOD = frozenset({Outcome.VALID})


def _page(
    request: Request,
    actor: Any,
    *,
    result: Result | None = None,
    error: str = "",
    text: str = "",
    status: int = 200,
    session: Session | None = None,
) -> HTMLResponse:
    lang = language(request)
    shown = dict(result.shown) if result and result.shown else {}
    # Dates in Kazakhstan's time, as the book prints them; clearance, notice and groups by their names.
    groups = names_of(session, map(str, shown.get("categories") or ())) if session is not None else {}
    claims = present.rows(shown, lang, groups=groups)
    # The verdict is also given in the other two languages: the holder and the inspector may not share one.
    others = (
        [
            (
                other,
                LANGUAGE_NAMES[other],
                translate(other, TITLES[result.outcome]),
                translate(other, MEANINGS[result.outcome]),
            )
            for other in LANGUAGES
            if other != lang
        ]
        if result
        else []
    )
    return render(
        request,
        "trust/verify.html",
        actor=actor,
        status=status,
        result=result,
        error=error,
        text=text,
        others=others,
        claims=claims,
        good=result is not None and result.outcome in GOOD,
        title=TITLES[result.outcome] if result else "",
        meaning=MEANINGS[result.outcome] if result else "",
        max_mb=photo.MAX_UPLOAD // (1024 * 1024),
        verified_at=present.moment_text(result.verified_at) if result else "",
        list_issued_at=present.moment_text(result.trust_list.issued_at) if result and result.trust_list else "",
    )


@router.get("/verify", response_class=HTMLResponse, dependencies=[public()])
def verify_form(request: Request, actor: OptionalActor) -> HTMLResponse:
    """Show the verifier: a text box for the seal's text and a photo upload."""
    return _page(request, actor)


@router.post("/verify", response_class=HTMLResponse, dependencies=[public()])
async def verify_submit(
    request: Request,
    session: ReadSessionDep,
    actor: OptionalActor,
    csrf: Annotated[str, Form(max_length=200)] = "",
    text: Annotated[str, Form(max_length=20_000)] = "",
    image: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Verify the pasted text or the uploaded photo against the current trust and revocation lists."""
    lang = language(request)
    if not csrf_ok(request, csrf):
        return _page(request, actor, error=translate(lang, MSG_CSRF), status=403)
    try:
        data = await image.read(photo.MAX_UPLOAD + 1) if image is not None else b""
        if data:
            if len(data) > photo.MAX_UPLOAD:
                raise UploadTooLarge(limit=photo.MAX_UPLOAD // (1024 * 1024))
            seal_text = await photo.decode(data)
        else:
            seal_text = text.strip()
    except TrustError as exc:
        status = 503 if isinstance(exc, VerifierBusy) else 422  # busy: try again; anything else: fix the input
        return _page(request, actor, error=translate(lang, exc.template(), exc.params), text=text, status=status)
    if not seal_text:
        return _page(request, actor, error=translate(lang, MSG_EMPTY), status=422)
    result = await run_in_threadpool(publish.verify_text, session, seal_text)
    return _page(request, actor, result=result, text=seal_text if not data else "", session=session)


MSG_EMPTY = N_("Paste the text of the seal or choose a photo of its QR code.")
