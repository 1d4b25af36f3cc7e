"""A registrar records a legal representation on its basis document (issue 16; the rules of identity: a parent
on a birth certificate or an adoption decision, a guardian on a guardianship decision, a trustee on a
trusteeship decision, a foster carer on either decision; A-24, A-63, A-65, A-67). Both persons are found by
IIN typed in the POST form, never in a URL; a refusal shows the form again as it was typed, nothing written."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.identity import service
from emhana.identity.rules import BasisDocument, RepresentationBasis
from emhana.identity.schemas import REASON_PERIOD_REVERSED, RepresentationIn
from emhana.kernel import clock
from emhana.kernel.errors import InvalidDates, InvalidInput, NotFound, RegistryError
from emhana.kernel.i18n import N_, translate
from emhana.pages.attachment.views import MSG_IIN_FORMAT, MSG_PERSON_NOT_FOUND, error_text, parse_int
from emhana.web.deps import SessionDep, require
from emhana.web.render import MSG_CSRF, MSG_REFUSED, csrf_ok, language, render, render_error

router = APIRouter(include_in_schema=False)
Registrar = Annotated[Actor, require(Can.REGISTER_PERSON)]
FormText = Annotated[str, Form(max_length=200)]

BASES = tuple(b.value for b in RepresentationBasis if b is not RepresentationBasis.POWER_OF_ATTORNEY)
DOCUMENTS = tuple(d.value for d in BasisDocument)
LABELS = {
    "parent": N_("Parent"),
    "guardian": N_("Guardian (child under 14, or an incapable adult)"),
    "trustee": N_("Trustee (child of 14 to 18, or a partly capable adult)"),
    "foster_carer": N_("Foster carer"),
    "birth_certificate": N_("Birth certificate"),
    "adoption_decision": N_("Court decision on adoption"),
    "guardianship_decision": N_("Decision of the guardianship authority on guardianship"),
    "trusteeship_decision": N_("Decision of the guardianship authority on trusteeship"),
}
MSG_RECORDED = N_("The legal representation No. {number} is recorded; both persons are told.")
FIELDS = ("representative_iin", "represented_iin", "basis", "document_kind", "document_number", "basis_document")


def _page(
    request: Request, actor: Actor, typed: dict[str, str], *, error: str = "", notice: str = "", status: int = 200
) -> HTMLResponse:
    lang = language(request)
    return render(
        request,
        "identity/representation.html",
        actor=actor,
        status=status,
        typed=typed,
        error=error,
        notice=notice,
        bases=BASES,
        documents=DOCUMENTS,
        label=lambda code: translate(lang, LABELS[code]) if code in LABELS else code,
    )


@router.get("/representations/new", response_class=HTMLResponse, dependencies=[require(Can.REGISTER_PERSON)])
def representation_form(request: Request, actor: Registrar, recorded: str = "") -> HTMLResponse:
    """Show the form that records a legal representation on its basis document."""
    number = parse_int(recorded)
    notice = translate(language(request), MSG_RECORDED, {"number": number}) if number else ""
    return _page(request, actor, {"valid_from": clock.today().isoformat()}, notice=notice)


def _find(session: Session, actor: Actor, iin: str) -> int:
    """Return the id of the person of an IIN typed in the form (the read is logged with its purpose)."""
    iin = iin.strip()
    if len(iin) != 12 or not iin.isdigit():
        raise InvalidInput(MSG_IIN_FORMAT)
    try:
        return service.find_by_iin(session=session, actor=actor, iin=iin, purpose="representation").id
    except NotFound:
        raise NotFound(MSG_PERSON_NOT_FOUND) from None


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        raise InvalidInput() from None


@router.post("/representations/new", response_class=HTMLResponse, dependencies=[require(Can.REGISTER_PERSON)])
def record_representation(
    request: Request,
    session: SessionDep,
    actor: Registrar,
    csrf: FormText = "",
    representative_iin: FormText = "",
    represented_iin: FormText = "",
    basis: FormText = "",
    document_kind: FormText = "",
    document_number: FormText = "",
    basis_document: FormText = "",
    valid_from: FormText = "",
    valid_to: FormText = "",
) -> Response:
    """Record the representation (identity.service.add_representation); a document that does not ground the
    relation is refused with its reason, the form kept and nothing written."""
    if not csrf_ok(request, csrf):
        return render_error(request, status=403, title=MSG_REFUSED, message=MSG_CSRF, actor=actor)
    typed = {
        "representative_iin": representative_iin,
        "represented_iin": represented_iin,
        "basis": basis,
        "document_kind": document_kind,
        "document_number": document_number,
        "basis_document": basis_document,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    try:
        if basis not in BASES or document_kind not in DOCUMENTS or not document_number.strip():
            raise InvalidInput()
        representative, represented = _find(session, actor, representative_iin), _find(session, actor, represented_iin)
        try:
            data = RepresentationIn(
                representative_id=representative,
                represented_id=represented,
                basis=RepresentationBasis(basis),
                document_kind=BasisDocument(document_kind),
                document_number=document_number.strip(),
                basis_document=basis_document.strip(),
                valid_from=_day(valid_from) or clock.today(),
                valid_to=_day(valid_to),
            )
        except ValidationError as exc:
            dates = any(e.get("type") == "core.invalid_dates" for e in exc.errors())
            raise (InvalidDates(reason=REASON_PERIOD_REVERSED) if dates else InvalidInput()) from None
        row = service.add_representation(session=session, actor=actor, data=data)
    except RegistryError as exc:
        session.rollback()
        return _page(request, actor, typed, error=error_text(language(request), exc), status=exc.status)
    return RedirectResponse(f"/representations/new?recorded={row.id}", status_code=303)
