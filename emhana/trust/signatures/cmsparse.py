"""Reading a detached CMS SignedData (RFC 5652) strictly: one signer, signed attributes, its certificate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms  # type: ignore[import-untyped]
from asn1crypto import x509 as ax
from cryptography import x509

from emhana.kernel.errors import SignatureMalformed
from emhana.trust.signatures import reasons

MAX_CMS = 256 * 1024  # NCA RK CMS with a full chain is a few kilobytes


@dataclass(frozen=True)
class SignedCms:
    """The parts of a CMS SignedData that verification needs."""

    der: bytes
    signer: x509.Certificate  # the signer's certificate (cryptography)
    signer_asn1: ax.Certificate
    certificates: tuple[ax.Certificate, ...]  # every certificate the CMS carries, signer included
    digest_oid: str
    digest_name: str  # asn1crypto's name ("sha256"), or the dotted OID
    signature_oid: str
    signature: bytes
    signed_attributes: bytes  # DER of the signed attributes as a SET (what is signed)
    message_digest: bytes
    signing_time: dt.datetime
    content: bytes | None  # encapsulated content when not detached

    @property
    def key_oid(self) -> str:
        """Return the OID of the signer's public-key algorithm."""
        return self.signer.public_key_algorithm_oid.dotted_string  # asn1crypto cannot read GOST keys


def _attributes(signer_info: cms.SignerInfo) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for attribute in signer_info["signed_attrs"]:
        name = attribute["type"].native
        values = attribute["values"]
        if name in found or len(values) != 1:
            raise SignatureMalformed(reason=reasons.NO_SIGNED_ATTRIBUTES)
        found[name] = values[0]
    if not {"content_type", "message_digest", "signing_time"} <= set(found):
        raise SignatureMalformed(reason=reasons.NO_SIGNED_ATTRIBUTES)
    return found


def _signer_certificate(signer_info: cms.SignerInfo, certificates: list[ax.Certificate]) -> ax.Certificate:
    sid = signer_info["sid"]
    for cert in certificates:
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"]
            if cert.serial_number == sid.chosen["serial_number"].native and (
                cert.issuer.dump() == issuer.dump() or cert.issuer == issuer
            ):  # bytes first: == is slow
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    raise SignatureMalformed(reason=reasons.NO_SIGNER_CERTIFICATE)


def parse(der: bytes) -> SignedCms:
    """Return the parts of a CMS SignedData with exactly one signer; raise SignatureMalformed."""
    if len(der) > MAX_CMS:
        raise SignatureMalformed(reason=reasons.TOO_LARGE)
    try:
        return _parse(der)
    except SignatureMalformed:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise SignatureMalformed(reason=reasons.NOT_CMS) from exc


def _parse(der: bytes) -> SignedCms:
    info = cms.ContentInfo.load(der, strict=True)
    if info["content_type"].native != "signed_data":
        raise SignatureMalformed(reason=reasons.NOT_CMS)
    signed_data = info["content"]
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise SignatureMalformed(reason=reasons.ONE_SIGNER)
    signer_info = signer_infos[0]
    if not signer_info["signed_attrs"].contents:
        raise SignatureMalformed(reason=reasons.NO_SIGNED_ATTRIBUTES)
    attributes = _attributes(signer_info)
    encap = signed_data["encap_content_info"]
    if attributes["content_type"].native != encap["content_type"].native:
        raise SignatureMalformed(reason=reasons.NO_SIGNED_ATTRIBUTES)
    certificates = [c.chosen for c in signed_data["certificates"] if c.name == "certificate"]
    signer = _signer_certificate(signer_info, certificates)
    signing_time = attributes["signing_time"].native
    if not isinstance(signing_time, dt.datetime) or signing_time.tzinfo is None:
        raise SignatureMalformed(reason=reasons.NO_SIGNED_ATTRIBUTES)
    signed_attrs = signer_info["signed_attrs"].dump()
    digest_algorithm = signer_info["digest_algorithm"]["algorithm"]
    content = encap["content"].native if encap["content"].contents else None
    return SignedCms(
        der=der,
        signer=x509.load_der_x509_certificate(signer.dump()),
        signer_asn1=signer,
        certificates=tuple(certificates),
        digest_oid=str(digest_algorithm.dotted),
        digest_name=str(digest_algorithm.native),
        signature_oid=str(signer_info["signature_algorithm"]["algorithm"].dotted),
        signature=bytes(signer_info["signature"].native),
        signed_attributes=b"\x31" + signed_attrs[1:],
        message_digest=bytes(attributes["message_digest"].native),
        signing_time=signing_time,
        content=bytes(content) if content is not None else None,
    )
