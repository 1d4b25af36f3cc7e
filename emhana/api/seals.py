"""Routes of the seal service: the signed lists at stable public URLs, verification, revoking and superseding.

`public_router` is mounted at the root (`/trust/list`, `/trust/revocations`, `/trust/anchor.pem`);
`router` under `/api/v1`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel.errors import InvalidInput, UploadTooLarge
from emhana.kernel.i18n import LANGUAGES, translate
from emhana.medbook.group_names import names_of
from emhana.trust.lists.revocation import Reason
from emhana.trust.scheme import issue as seals
from emhana.trust.scheme import publish
from emhana.trust.seals import photo, present
from emhana.trust.seals.kzmb1 import MAX_TEXT
from emhana.trust.seals.outcomes import MEANINGS, TITLES
from emhana.trust.seals.verifier import Result
from emhana.web.deps import ReadSessionDep, SessionDep, public, require
from emhana.web.idempotency import idempotent_json

router = APIRouter(tags=["trust"])
public_router = APIRouter(tags=["trust"])
Manager = Annotated[Actor, require(Can.MANAGE_SEALS)]
LIST_CACHE = "public, max-age=300"


def _list(session: Session, name: str) -> Response:
    row = publish.current(session, name)
    return Response(
        row.document,
        media_type="application/json",
        headers={"Cache-Control": LIST_CACHE, "ETag": f'"{name}-{row.sequence}"', "X-List-Sequence": str(row.sequence)},
    )


@public_router.get("/trust/list", dependencies=[public()], responses={200: {"content": {"application/json": {}}}})
def trust_list(session: ReadSessionDep) -> Response:
    """Return the signed trust list of document signers (flattened JWS; sequence number and issue time inside)."""
    return _list(session, publish.TRUST)


@public_router.get(
    "/trust/revocations", dependencies=[public()], responses={200: {"content": {"application/json": {}}}}
)
def revocation_list(session: ReadSessionDep) -> Response:
    """Return the signed revocation list: truncated hashes per signer kid with a reason, never an id (§6.5)."""
    return _list(session, publish.REVOCATIONS)


@public_router.get(
    "/trust/anchor.pem", dependencies=[public()], responses={200: {"content": {"application/x-pem-file": {}}}}
)
def anchor(session: ReadSessionDep) -> Response:
    """Return the scheme CA certificate: the anchor verifiers pin to check both lists and every DSC."""
    return Response(
        publish.anchor_pem(session),
        media_type="application/x-pem-file",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def result_json(result: Result, groups: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """Return the whole verifier result with the outcome's title and meaning in kk, ru and en.

    The claims keep their ISO instants and add Kazakhstan's dates (``valid_until_local`` ..., the day the book
    prints); ``shown`` holds the claims as a page shows them in each language (labels, dd.mm.yyyy dates, the
    clearance and the decreed groups by name), ``groups`` being the names of the decreed groups by code."""
    body = result.to_dict()
    body["title"] = {lang: translate(lang, TITLES[result.outcome]) for lang in LANGUAGES}
    body["meaning"] = {lang: translate(lang, MEANINGS[result.outcome]) for lang in LANGUAGES}
    if body.get("claims"):
        body["claims"] |= present.local_dates(result.shown)
    body["shown"] = {
        lang: [
            {"label": translate(lang, label), "value": value}
            for label, value in present.rows(result.shown, lang, groups=groups or {})
        ]
        for lang in LANGUAGES
    }
    return body


async def read_submission(request: Request) -> str:
    """Return the seal text of a request: JSON {"text"}, or a form with `text` or an `image` upload."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > photo.MAX_UPLOAD + 64 * 1024:
        raise UploadTooLarge(limit=photo.MAX_UPLOAD // (1024 * 1024))
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise InvalidInput("The request body is not valid JSON.") from None
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput()
        return text[: MAX_TEXT + 1]
    if kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form(max_files=1, max_fields=4)
        upload, text = form.get("image"), form.get("text")
        if upload is not None and not isinstance(upload, str):
            data = await upload.read(photo.MAX_UPLOAD + 1)
            if data:
                return await photo.decode(data)  # bounded: pixels and concurrent decodes
        if isinstance(text, str) and text.strip():
            return text[: MAX_TEXT + 1]
    raise InvalidInput()


@router.post("/verify", dependencies=[public()])
async def verify(request: Request, session: ReadSessionDep) -> dict[str, Any]:
    """Verify a seal against the current trust and revocation lists: its text (JSON {"text": ...} or form field
    `text`) or a photo of its QR code (multipart field `image`, at most 8 MB and 12 megapixels; 503 when every
    decoder is busy). The outcome is a verdict, not an error: any text gets one of the nine outcomes of
    docs/credentials.md §6.6."""
    text = await read_submission(request)
    result = await run_in_threadpool(publish.verify_text, session, text)
    codes = map(str, (result.shown or {}).get("categories") or ())
    return result_json(result, names_of(session, codes))


class RevokeIn(BaseModel):
    seal: str = Field(min_length=1, max_length=MAX_TEXT)
    reason: Reason = Reason.REVOKED


class SupersedeIn(BaseModel):
    seal: str = Field(min_length=1, max_length=MAX_TEXT)
    replacement: str = Field(min_length=1, max_length=MAX_TEXT)


@router.post("/trust/seals/revoke")
def revoke(
    body: RevokeIn,
    session: SessionDep,
    actor: Manager,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Revoke a seal of this service (reason `revoked` or `issued-in-error`); the revocation list is re-signed."""

    def run() -> tuple[int, dict[str, Any]]:
        row = seals.revoke(session, text=body.seal, reason=body.reason, actor=actor)
        return 200, seals.describe(row)

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )


@router.post("/trust/seals/supersede")
def supersede(
    body: SupersedeIn,
    session: SessionDep,
    actor: Manager,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Mark a seal superseded by its corrected version (§6.5); the revocation list is re-signed."""

    def run() -> tuple[int, dict[str, Any]]:
        row = seals.supersede(session, text=body.seal, replacement=body.replacement, actor=actor)
        return 200, seals.describe(row)

    return idempotent_json(
        session=session, actor=actor, key=idempotency_key, payload=body.model_dump(mode="json"), run=run
    )
