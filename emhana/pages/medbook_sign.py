"""Signing at the desk (C-06, C-40): each of the clinician's own unsigned entries, and the therapist's clearance, gets
a "Sign" button. The button runs NCALayer's flow in the browser (emhana/web/static/sign.js: the bytes to sign from
``GET /api/v1/signatures/medbook_entry/{id}/to-sign``, a CMS from the user's local NCALayer, posted back to the
API with an Idempotency-Key). In demo mode only, a form signs on the server with the clinician's demo PKCS#12 file
(the demo PKI, not NCA RK) through the same trust service, so the path and CRL checks still run.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel.errors import EntryNotFound, NotFound, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.medbook.models import JournalEntry
from emhana.trust.signatures import demo as demo_signing
from emhana.trust.signatures.records import RecordKind
from emhana.trust.signatures.truststore import TrustStore, from_settings
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, csrf_token, language, render, render_error

router = APIRouter(include_in_schema=False)
Signer = Annotated[Actor, require(Can.EXAMINE_FOR_MEDBOOK)]

SIGN_NCALAYER = N_("Sign with NCALayer")
SIGN_DEMO = N_("Sign with the demo PKI (not NCA RK)")
SIGNING = N_("Signing… confirm in NCALayer.")
NCALAYER_UNAVAILABLE = N_("NCALayer does not answer. Start NCALayer on this computer, insert your key and try again.")
NCALAYER_CANCELLED = N_("Signing was cancelled in NCALayer.")
SIGN_FAILED = N_("The signature could not be stored. Try again.")
MSG_NOT_DEMO = N_("Demo signing is available in demo mode only.")


def trust_store(request: Request) -> TrustStore:
    """Return the app's trust store for record signatures (the same one the signature API uses)."""
    store = getattr(request.app.state, "signature_trust", None)
    if store is None:
        store = request.app.state.signature_trust = from_settings(request.app.state.settings)
    return store


def sign_context(request: Request, actor: Actor) -> dict[str, Any]:
    """Return what medbook/_sign.html needs to offer the actor's sign buttons: who signs, the CSRF token, whether
    demo signing is offered, and the labels and messages in the page's language (the book is in its own)."""
    lang = language(request)
    return {
        "account_id": actor.account_id,
        "lang": lang,
        "csrf": csrf_token(request)[0],
        "demo": demo_signing.available(request.app.state.settings, actor.username),
        "labels": {
            "ncalayer": translate(lang, SIGN_NCALAYER),
            "demo": translate(lang, SIGN_DEMO),
            "signing": translate(lang, SIGNING),
            "unavailable": translate(lang, NCALAYER_UNAVAILABLE),
            "cancelled": translate(lang, NCALAYER_CANCELLED),
            "failed": translate(lang, SIGN_FAILED),
        },
    }


def _book_of(session: Session, entry_id: int) -> int:
    entry = session.get(JournalEntry, entry_id)
    if entry is None:
        raise EntryNotFound()
    return entry.book_id


@router.post(
    "/medbook/desk/books/{book_id}/entries/{entry_id}/sign-demo", dependencies=[require(Can.EXAMINE_FOR_MEDBOOK)]
)
def sign_with_demo_pki(
    request: Request,
    session: SessionDep,
    actor: Signer,
    book_id: int,
    entry_id: int,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Sign an entry with the actor's demo PKCS#12 file (demo mode only) and show the book again."""
    settings = request.app.state.settings
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    if not settings.demo_mode:
        return render_error(request, status=404, title=MSG_REFUSED, message=MSG_NOT_DEMO, actor=actor)
    try:
        if _book_of(session, entry_id) != book_id:
            raise EntryNotFound()
        demo_signing.sign(
            session, RecordKind.MEDBOOK_ENTRY, entry_id, actor=actor, settings=settings, trust=trust_store(request)
        )
    except RegistryError as exc:
        session.rollback()
        lang = language(request)
        status = 404 if isinstance(exc, NotFound) else exc.status
        return render(
            request,
            "error.html",
            actor=actor,
            status=status,
            title=translate(lang, MSG_REFUSED),
            message=translate(lang, exc.template(), exc.params),
        )
    return RedirectResponse(f"/medbook/desk/books/{book_id}", status_code=303)
