"""GOST signatures through an NCANode sidecar (NCANode 3.x HTTP API, ``POST /cms/verify``).

Request ``{"cms": base64, "data": base64, "revocationCheck": ["CRL"]}``; answer ``{"status": 200,
"message": ..., "valid": bool, "signers": [{"signers": [CertificateInfo...], "tsp": ...}]}`` where a
CertificateInfo has ``valid``, ``revocations`` [{``revoked``, ``by``, ``revocationTime``}], ``notBefore``,
``notAfter``, ``keyUsage`` (SIGN | AUTH | UNKNOWN), ``serialNumber`` (hex), ``signAlg`` and ``subject``
(``iin``, ``bin``, ``commonName``, ``dn``). NCANode wraps NCA's certified KalkanCrypt and checks the chain
against NCA RK's roots and CRLs itself (docs/credentials.md §4.3: the compliance path for GOST).
Failures: down or refusing → ``signature.verifier_unavailable`` (503, nothing stored); says invalid →
``signature.revoked``, ``signature.expired``, ``signature.key_usage`` or ``signature.bad_signature``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from emhana.kernel.errors import (
    BadSignature,
    CertificateExpired,
    CertificateRevoked,
    KeyUsageRefused,
    SignatureMalformed,
    VerifierUnavailable,
)
from emhana.trust.keys.certs import subject_bin, subject_iin
from emhana.trust.signatures import reasons
from emhana.trust.signatures.cmsparse import SignedCms
from emhana.trust.signatures.evidence import Evidence
from emhana.trust.signatures.inprocess import SKEW, common_name
from emhana.trust.signatures.keyusage import check_key_usage


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _certificates(answer: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for signer in answer.get("signers") or []:
        if isinstance(signer, dict):
            out.extend(c for c in signer.get("signers") or [] if isinstance(c, dict))
    return out


class NcaNodeVerifier:
    """Verifies GOST (and any) detached CMS through NCANode's ``/cms/verify``."""

    name = "ncanode"

    def __init__(self, url: str, *, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.transport = transport

    async def _ask(self, data: bytes, signed: SignedCms) -> dict[str, Any]:
        body = {
            "cms": base64.b64encode(signed.der).decode("ascii"),
            "data": base64.b64encode(data).decode("ascii"),
            "revocationCheck": ["CRL"],
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.post(f"{self.url}/cms/verify", json=body)
        except httpx.TimeoutException:
            raise VerifierUnavailable(reason=reasons.TIMED_OUT) from None
        except httpx.HTTPError:
            raise VerifierUnavailable(reason=reasons.UNREACHABLE) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 500 or not isinstance(answer, dict):
            raise VerifierUnavailable(reason=reasons.BAD_ANSWER)
        if response.status_code != 200 or answer.get("status", 200) != 200:
            raise SignatureMalformed(reason=reasons.NOT_CMS)  # NCANode refuses what it cannot read (4xx)
        return answer

    async def verify(
        self,
        data: bytes,
        signed: SignedCms,
        *,
        anchors: Sequence[x509.Certificate],
        crls: Sequence[x509.CertificateRevocationList],
        intermediates: Sequence[x509.Certificate],
        at: dt.datetime,
    ) -> Evidence:
        """Ask NCANode; map its verdict on our signer's certificate to evidence or a SignatureError."""
        if signed.signing_time > at + SKEW:
            raise SignatureMalformed(reason=reasons.SIGNING_TIME_FUTURE)
        answer = await self._ask(data, signed)
        serial = format(signed.signer.serial_number, "x")
        info = next(
            (
                c
                for c in _certificates(answer)
                if str(c.get("serialNumber", "")).lower().lstrip("0") == serial.lstrip("0")
            ),
            None,
        )
        if info is None:
            raise VerifierUnavailable(reason=reasons.BAD_ANSWER)
        for revocation in info.get("revocations") or []:
            if isinstance(revocation, dict) and revocation.get("revoked"):
                raise CertificateRevoked(revoked_at=str(revocation.get("revocationTime") or "-"))
        not_before, not_after = _time(info.get("notBefore")), _time(info.get("notAfter"))
        if (not_before and signed.signing_time < not_before) or (not_after and signed.signing_time > not_after):
            raise CertificateExpired(signed_at=signed.signing_time.isoformat())
        if info.get("keyUsage") == "AUTH":
            raise KeyUsageRefused(reason=reasons.AUTH_KEY)
        if answer.get("valid") is not True or info.get("valid") is False:
            raise BadSignature()
        check_key_usage(signed.signer)
        issuer = info.get("issuer") if isinstance(info.get("issuer"), dict) else {}
        return Evidence(
            verifier=self.name,
            signer_certificate=signed.signer.public_bytes(Encoding.DER),
            signer_subject=signed.signer.subject.rfc4514_string(),
            signer_common_name=common_name(signed.signer),
            signer_iin=subject_iin(signed.signer),
            signer_bin=subject_bin(signed.signer),
            signer_serial=serial,
            signing_time=signed.signing_time,
            verified_at=at,
            content_sha256=hashlib.sha256(data).hexdigest(),
            digest_algorithm=signed.digest_name,
            signature_algorithm=signed.signature_oid,
            chain=(signed.signer.subject.rfc4514_string(), signed.signer.issuer.rfc4514_string()),
            remote={
                "url": self.url,
                "valid": True,
                "signAlg": info.get("signAlg"),
                "keyUsage": info.get("keyUsage"),
                "issuer": issuer.get("dn") if issuer else None,
                "revocationCheck": ["CRL"],
            },
        )
