"""Signing in with an EDS and signing a portal application, as eGov does (issue 16, item 6; docs/sign-in.md).

Sign-in: the login page's "Sign in with EDS (NCALayer)" (emhana/web/static/eds.js) asks ``POST /login/eds/challenge``
for a one-time challenge, has the person's local NCALayer (wss://127.0.0.1:13579) sign its bytes, and posts the
CMS to ``POST /login/eds``, which verifies it (``trust.signatures.signin.EdsSignIn``) and opens the citizen
account of the certificate's IIN, then returns to the page asked for (``next``). In demo mode only,
``POST /login/eds/demo`` plays NCALayer's part with the demo citizen's demo certificate (the demo PKI, not NCA RK)
through the same verification; outside demo mode it answers 404.

Applications: a portal application's page offers its applicant to sign it (NCALayer through
``GET /attachment/applications/{id}/to-sign`` and ``POST …/signature``, or the demo PKI through ``POST …/sign-demo``);
the apply form's demo button signs with the submission (``sign_with_submit``).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.rules import DEMO_PREFIX
from emhana.accounts.service import Actor, issue_token
from emhana.attachment.application import signing as application_signing
from emhana.attachment.application.service import local_day
from emhana.attachment.enums import PlaceBasis
from emhana.attachment.models import Application
from emhana.kernel import clock
from emhana.kernel.config import Settings
from emhana.kernel.errors import InvalidInput, NotFound, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.trust.keys.certs import load_pkcs12
from emhana.trust.signatures import demo as demo_signing
from emhana.trust.signatures import service as signatures
from emhana.trust.signatures.cms import sign_detached
from emhana.trust.signatures.signin import EdsSignIn, decode_cms
from emhana.trust.signatures.truststore import TrustStore, from_settings
from emhana.web.deps import SESSION_COOKIE, SessionDep, public, require
from emhana.web.nextpath import safe_next
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, language, render, render_error, set_csrf_cookie

router = APIRouter(include_in_schema=False)
Applicant = Annotated[Actor, require(Can.APPLY_ON_PORTAL)]
FormText = Annotated[str, Form(max_length=200)]
CmsText = Annotated[str, Form(max_length=64 * 1024)]
KIND = application_signing.KIND
DEMO_CITIZEN = f"{DEMO_PREFIX}citizen"
NCALAYER_MODULE = "kz.gov.pki.knca.commonUtils"
NCALAYER_METHOD = "createCAdESFromBase64"

BASES = tuple(b.value for b in PlaceBasis)
MSG_EDS_REFUSED = N_("Signing in with EDS was refused")
MSG_NOT_DEMO = N_("Demo signing is available in demo mode only.")
MSG_NO_DEMO_CERTIFICATE = N_("The demo PKI holds no certificate for the demo citizen. Run `emhana demo` again.")
MSG_SIGN_REFUSED = N_("The signature was refused")


def trust_store(request: Request) -> TrustStore:
    """Return the app's trust store (the same one record signatures are verified against)."""
    store = getattr(request.app.state, "signature_trust", None)
    if store is None:
        store = request.app.state.signature_trust = from_settings(request.app.state.settings)
    return store


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _ncalayer(data: bytes) -> dict[str, Any]:
    encoded = base64.b64encode(data).decode("ascii")
    return {"module": NCALAYER_MODULE, "method": NCALAYER_METHOD, "args": ["PKCS12", "SIGNATURE", encoded, False]}


def _signed_in(request: Request, session: Session, actor: Actor, target: str) -> Response:
    """Open a page session for the actor (as the password login does) and go to ``target``."""
    settings = request.app.state.settings
    ttl = dt.timedelta(minutes=settings.token_ttl_minutes)
    token = issue_token(session=session, actor=actor, ttl=ttl)
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    set_csrf_cookie(request, response, session_token=token)
    return response


def _refused(
    request: Request,
    exc: RegistryError,
    *,
    actor: Actor | None = None,
    title: str = MSG_EDS_REFUSED,
    status: int | None = None,
) -> Response:
    lang = language(request)
    return render(
        request,
        "error.html",
        actor=actor,
        status=status or exc.status,
        title=translate(lang, title),
        message=translate(lang, exc.template(), exc.params),
    )


@router.post("/login/eds/challenge", dependencies=[public()])
def eds_challenge(request: Request, session: SessionDep, csrf: FormText = "") -> JSONResponse:
    """Issue a one-time challenge (five minutes, single use) and tell NCALayer how to sign it."""
    if not csrf_ok(request, csrf):
        return JSONResponse({"detail": translate(language(request), MSG_CSRF)}, status_code=403)
    started = EdsSignIn(trust=trust_store(request)).start(session=session, origin=_origin(request))
    return JSONResponse(
        {"challenge": started.nonce, "ncalayer": _ncalayer(started.challenge)}, headers={"Cache-Control": "no-store"}
    )


@router.post("/login/eds", dependencies=[public()])
def eds_sign_in(
    request: Request,
    session: SessionDep,
    csrf: FormText = "",
    challenge: FormText = "",
    cms: CmsText = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002
) -> Response:
    """Verify the CMS over the challenge and open the citizen account of the certificate's IIN; a refusal is a
    page with its coded reason (the challenge is spent either way, and the attempt is audited)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF)
    try:
        verified = EdsSignIn(trust=trust_store(request)).finish(
            session=session, answer={"challenge": challenge, "cms": cms}
        )
    except RegistryError as exc:
        # 401 whatever the reason, so every failed sign-in counts towards the login rate limits; committed: the
        # spent challenge and the audit event stay
        return _refused(request, exc, status=401)
    return _signed_in(request, session, verified.actor, next)


def demo_pkcs12(settings: Settings, username: str) -> bytes:
    """Return a demo account's PKCS#12 file; raise NotFound outside demo mode or without one."""
    folder = demo_signing.folder_of(settings)
    path = demo_signing.pkcs12_path(folder, username) if folder is not None else None
    if path is None:
        raise NotFound()
    return path.read_bytes()


def demo_cms(settings: Settings, username: str, data: bytes) -> str:
    """Sign bytes with a demo account's demo certificate as NCALayer would; return the base64 CMS."""
    key, cert, chain = load_pkcs12(demo_pkcs12(settings, username), demo_signing.PASSWORD)
    return base64.b64encode(sign_detached(data, key, cert, chain)).decode("ascii")


@router.post("/login/eds/demo", dependencies=[public()])
def eds_sign_in_demo(
    request: Request,
    session: SessionDep,
    csrf: FormText = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002
) -> Response:
    """Demo mode only: sign a fresh challenge with the demo citizen's demo certificate (demo PKI, not NCA RK)
    and sign in through the same verification; 404 elsewhere."""
    settings = request.app.state.settings
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF)
    if not settings.demo_mode:
        return render_error(request, status=404, title=MSG_REFUSED, message=MSG_NOT_DEMO)
    method = EdsSignIn(trust=trust_store(request))
    started = method.start(session=session, origin=_origin(request))
    try:
        cms = demo_cms(settings, DEMO_CITIZEN, started.challenge)
    except NotFound:
        return render_error(request, status=404, title=MSG_REFUSED, message=MSG_NO_DEMO_CERTIFICATE)
    try:
        verified = method.finish(session=session, answer={"challenge": started.nonce, "cms": cms})
    except RegistryError as exc:
        return _refused(request, exc, status=401)
    return _signed_in(request, session, verified.actor, next)


def sign_with_submit(
    request: Request, session: Session, actor: Actor, app: Application, how: str, cms: str = ""
) -> None:
    """Sign a just-filed portal application in the same unit of work when the apply form asked for it: ``cms``
    from NCALayer over ``submission_form`` (what ``POST /attachment/apply/to-sign`` gave), or ``how == "demo"``:
    the applicant's demo certificate (demo mode only). Raise a RegistryError to refuse the submission with it."""
    settings = request.app.state.settings
    if cms.strip():
        signatures.attach_signature(session, KIND, app.id, decode_cms(cms), actor, trust=trust_store(request))
    elif how == "demo":
        demo_signing.sign(session, KIND, app.id, actor=actor, settings=settings, trust=trust_store(request))


def _id(value: str) -> int | None:
    """Read a posted id as the apply form does (pages.attachment.views.parse_int, not imported: no cycle)."""
    text = value.strip()
    return int(text) if text.isdigit() and 0 < len(text) < 19 else None


@router.post("/attachment/apply/to-sign", dependencies=[require(Can.APPLY_ON_PORTAL)])
def apply_to_sign(
    request: Request,
    session: SessionDep,
    actor: Applicant,
    csrf: FormText = "",
    person_id: FormText = "",
    district_id: FormText = "",
    place_basis: FormText = "",
    change_reason: FormText = "",
    pregnant: FormText = "",
    care_at_home: FormText = "",
    border_claim: FormText = "",
) -> JSONResponse:
    """Return the bytes the applicant signs before she submits (the apply form's fields, read as the apply form
    reads them) and how NCALayer signs them; the signature is checked again when the application is filed."""
    lang = language(request)
    if not csrf_ok(request, csrf):
        return JSONResponse({"detail": translate(lang, MSG_CSRF)}, status_code=403)
    person, district = _id(person_id), _id(district_id)
    if person is None or district is None:
        return JSONResponse({"detail": translate(lang, InvalidInput.message)}, status_code=422)
    basis = place_basis.strip() if place_basis.strip() in BASES else PlaceBasis.RESIDENCE_PERMANENT.value
    try:
        data = application_signing.submission_form(
            session,
            actor,
            person_id=person,
            district_id=district,
            place_basis=basis,
            change_reason=change_reason or None,
            border_claim=border_claim == "on",
            pregnant=pregnant == "on",
            care_at_home=True if care_at_home == "on" else None,
            day=local_day(clock.now()),
        )
    except RegistryError as exc:
        return JSONResponse({"detail": translate(lang, exc.template(), exc.params)}, status_code=exc.status)
    return JSONResponse({"ncalayer": _ncalayer(data)}, headers={"Cache-Control": "no-store"})


def signature_context(request: Request, session: Session, actor: Actor, app: Application) -> dict[str, Any]:
    """Return what the application page's signature card shows (eds/_application_signature.html)."""
    return {
        "view": application_signing.view(session, actor, app),
        "demo_signing": demo_signing.available(request.app.state.settings, actor.username),
    }


def apply_context(request: Request, actor: Actor) -> dict[str, Any]:
    """Return what the apply form's signing step shows (eds/_apply_sign.html)."""
    return {"demo_signing": demo_signing.available(request.app.state.settings, actor.username)}


@router.get("/attachment/applications/{application_id}/to-sign", dependencies=[require(Can.APPLY_ON_PORTAL)])
def application_to_sign(application_id: int, session: SessionDep, actor: Applicant) -> JSONResponse:
    """Return the canonical bytes of the applicant's own portal application and how NCALayer signs them."""
    found = signatures.to_sign(session, actor, KIND, application_id)
    return JSONResponse(
        {"sha256": found.sha256, "signed": found.signed, "ncalayer": _ncalayer(found.canonical)},
        headers={"Cache-Control": "no-store"},
    )


def _sign_and_return(
    request: Request, session: Session, actor: Actor, application_id: int, cms_der: bytes | None
) -> Response:
    try:
        if cms_der is None:
            demo_signing.sign(
                session,
                KIND,
                application_id,
                actor=actor,
                settings=request.app.state.settings,
                trust=trust_store(request),
            )
        else:
            signatures.attach_signature(session, KIND, application_id, cms_der, actor, trust=trust_store(request))
    except RegistryError as exc:
        session.rollback()
        return _refused(request, exc, actor=actor, title=MSG_SIGN_REFUSED)
    return RedirectResponse(f"/attachment/applications/{application_id}", status_code=303)


@router.post("/attachment/applications/{application_id}/signature", dependencies=[require(Can.APPLY_ON_PORTAL)])
def application_signature(
    request: Request, application_id: int, session: SessionDep, actor: Applicant, csrf: FormText = "", cms: CmsText = ""
) -> Response:
    """Verify the applicant's NCALayer CMS over her application's canonical form and store it."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    try:
        der = decode_cms(cms)
    except RegistryError as exc:
        return _refused(request, exc, actor=actor, title=MSG_SIGN_REFUSED)
    return _sign_and_return(request, session, actor, application_id, der)


@router.post("/attachment/applications/{application_id}/sign-demo", dependencies=[require(Can.APPLY_ON_PORTAL)])
def application_sign_demo(
    request: Request, application_id: int, session: SessionDep, actor: Applicant, csrf: FormText = ""
) -> Response:
    """Demo mode only: sign the application with the applicant's demo certificate (demo PKI, not NCA RK)."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    if not request.app.state.settings.demo_mode:
        return render_error(request, status=404, title=MSG_REFUSED, message=MSG_NOT_DEMO, actor=actor)
    return _sign_and_return(request, session, actor, application_id, None)
