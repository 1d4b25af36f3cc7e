"""The NCALayer flow as API: get the bytes to sign, post the detached CMS (base64). No IIN in any URL."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from emhana import attachment, medbook  # noqa: F401  (their signable records register on import)
from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.kernel.errors import SignatureMalformed
from emhana.trust.signatures import reasons, service
from emhana.trust.signatures.cmsparse import MAX_CMS
from emhana.trust.signatures.models import RecordSignature
from emhana.trust.signatures.records import RecordKind
from emhana.trust.signatures.truststore import TrustStore, from_settings
from emhana.web.deps import SessionDep, require
from emhana.web.idempotency import idempotent_json

router = APIRouter(prefix="/signatures", tags=["signatures"])
SIGNERS = (Can.SIGN_MEDBOOK_ENTRY, Can.SIGN_NOTICE)  # each record then checks who signs it
IdempotencyKey = Annotated[str | None, Header()]


class ToSignOut(BaseModel):
    kind: RecordKind
    record_id: int
    canonical: str = Field(description="The exact bytes to sign (RFC 8785 JSON), base64")
    sha256: str = Field(description="SHA-256 of those bytes, hex")
    content_type: str = "application/json"
    signed: bool
    ncalayer: dict[str, Any] = Field(description="How NCALayer signs them: a detached CMS of the base64 data")


class SignatureIn(BaseModel):
    cms: str = Field(
        min_length=1, max_length=MAX_CMS * 4 // 3 + 8, description="The detached CMS SignedData (DER), base64"
    )


class SignatureOut(BaseModel):
    kind: RecordKind
    record_id: int
    state: str
    canonical_sha256: str
    signer_name: str | None
    signer_bin: str | None
    signed_at: dt.datetime
    verified_at: dt.datetime
    verifier: str
    crl_numbers: list[int | None]


def trust_store(request: Request) -> TrustStore:
    """Return the app's trust store for record signatures, made from the app's settings on first use."""
    store = getattr(request.app.state, "signature_trust", None)
    if store is None:
        store = request.app.state.signature_trust = from_settings(request.app.state.settings)
    return store


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)  # SQLite: naive


def signature_out(row: RecordSignature) -> SignatureOut:
    """Return the public view of a stored signature (no IIN)."""
    evidence = row.evidence
    subject = str(evidence.get("signer_subject", ""))
    name = next((part[3:] for part in subject.split(",") if part.startswith("CN=")), None)
    return SignatureOut(
        kind=RecordKind(row.record_kind),
        record_id=row.record_id,
        state="signed",
        canonical_sha256=row.canonical_sha256,
        signer_name=name,
        signer_bin=row.signer_bin,
        signed_at=_utc(row.signed_at),
        verified_at=_utc(row.verified_at),
        verifier=row.verifier,
        crl_numbers=[c.get("number") for c in evidence.get("crls", [])],
    )


@router.get("/{kind}/{record_id}/to-sign", response_model=ToSignOut)
def get_to_sign(
    kind: RecordKind, record_id: int, session: SessionDep, actor: Annotated[Actor, require(*SIGNERS)]
) -> ToSignOut:
    """Return the canonical bytes of a record for its signer's NCALayer, with their SHA-256."""
    found = service.to_sign(session, actor, kind, record_id)
    data = base64.b64encode(found.canonical).decode("ascii")
    return ToSignOut(
        kind=kind,
        record_id=record_id,
        canonical=data,
        sha256=found.sha256,
        signed=found.signed,
        ncalayer={
            "module": "kz.gov.pki.knca.commonUtils",
            "method": "createCAdESFromBase64",
            "args": ["PKCS12", "SIGNATURE", data, False],
        },
    )


@router.post("/{kind}/{record_id}", response_model=SignatureOut, status_code=201)
def post_signature(
    kind: RecordKind,
    record_id: int,
    body: SignatureIn,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, require(*SIGNERS)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Verify the detached CMS over the record's canonical bytes and store it; the same CMS again is a no-op."""
    try:
        cms_der = base64.b64decode("".join(body.cms.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureMalformed(reason=reasons.NOT_BASE64) from None
    trust = trust_store(request)

    def run() -> tuple[int, dict[str, Any]]:
        row = service.attach_signature(session, kind, record_id, cms_der, actor, trust=trust)
        return 201, signature_out(row).model_dump(mode="json")

    return idempotent_json(
        session=session,
        actor=actor,
        key=idempotency_key,
        payload={"kind": kind.value, "record": record_id, "cms": body.cms},
        run=run,
    )
