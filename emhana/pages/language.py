"""The language links of every page: ``/language/{code}?next=`` keeps the choice and shows the page again."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from emhana.kernel.i18n import LANGUAGES
from emhana.web.deps import public
from emhana.web.nextpath import safe_next

router = APIRouter(include_in_schema=False)

LANG_COOKIE = "lang"  # the cookie the app's language negotiation reads (emhana.app)
YEAR = 365 * 24 * 3600


@router.get("/language/{code}", dependencies=[public()])
def choose_language(request: Request, code: str, next: str = "/") -> RedirectResponse:  # noqa: A002
    """Keep the chosen language in a cookie and go back to ``next``, a page of this site (home otherwise)."""
    if code not in LANGUAGES:
        raise HTTPException(status_code=404)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        LANG_COOKIE, code, max_age=YEAR, samesite="lax", secure=request.app.state.settings.cookie_secure
    )
    return response
