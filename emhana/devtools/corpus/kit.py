"""The kit the corpus cases are built with: the clock, the world of keys and lists, seals made layer by layer
and the dgc-testdata JSON of a case (its layers and EXPECTEDRESULTS flags)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import zlib
from collections.abc import Callable
from typing import Any

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emhana.trust.keys import es256, pki
from emhana.trust.lists.revocation import Reason, Revocation, cti_hash
from emhana.trust.lists.trustlist import TrustListSigner, build_trust_list
from emhana.trust.seals import base45, cose, cwt
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.hashes import revocation_of

CLOCK = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
BIN_A, BIN_B = "080540012015", "150940033078"
# Which EXPECTEDRESULTS flag fails for each MALFORMED reason, as in dgc-testdata (UNPREFIX, B45DECODE, ...).
LAYER_FLAG = {
    "bad_prefix": "EXPECTEDUNPREFIX",
    "too_long": "EXPECTEDUNPREFIX",
    "bad_base45": "EXPECTEDB45DECODE",
    "zlib_error": "EXPECTEDCOMPRESSION",
    "zlib_truncated": "EXPECTEDCOMPRESSION",
    "zlib_trailing_bytes": "EXPECTEDCOMPRESSION",
    "inflated_too_large": "EXPECTEDCOMPRESSION",
    "no_qr_code_in_image": "EXPECTEDPICTUREDECODE",
}
OUTCOME_FLAG = {
    "UNKNOWN_ISSUER": "EXPECTEDVERIFY",
    "TAMPERED": "EXPECTEDVERIFY",
    "NOT_YET_VALID": "EXPECTEDEXPIRATIONCHECK",
    "EXPIRED": "EXPECTEDEXPIRATIONCHECK",
    "REVOKED": "EXPECTEDREVOCATION",
    "SUPERSEDED": "EXPECTEDSUPERSEDED",
    "SUSPENDED": "EXPECTEDREVOCATION",  # listed with the reason "suspended" (C-30)
}


def b64(data: bytes) -> str:
    """Return standard base64 text."""
    return base64.b64encode(data).decode("ascii")


def expected_results(outcome: str, reason: str | None, *, picture: bool) -> dict[str, Any]:
    """Return the EXPECTEDRESULTS block: dgc-testdata flags plus ours (REVOCATION, SUPERSEDED, ISSUERBINDING)."""
    flags: dict[str, Any] = {"EXPECTEDOUTCOME": outcome, "EXPECTEDREASON": reason}
    if picture:
        flags["EXPECTEDPICTUREDECODE"] = reason != "no_qr_code_in_image"
    if outcome == "MALFORMED":
        flags[LAYER_FLAG.get(reason or "", "EXPECTEDDECODE")] = False
        return flags
    flags.update(EXPECTEDUNPREFIX=True, EXPECTEDB45DECODE=True, EXPECTEDCOMPRESSION=True, EXPECTEDDECODE=True)
    if outcome in OUTCOME_FLAG:
        flags[OUTCOME_FLAG[outcome]] = False
    elif outcome == "ISSUER_NOT_AUTHORISED":
        flags["EXPECTEDVERIFY"] = True
        flags["EXPECTEDISSUERBINDING" if reason == "iss_not_signer_bin" else "EXPECTEDKEYUSAGE"] = False
    else:
        flags.update(
            EXPECTEDVERIFY=True,
            EXPECTEDEXPIRATIONCHECK=True,
            EXPECTEDKEYUSAGE=True,
            EXPECTEDISSUERBINDING=True,
            EXPECTEDREVOCATION=True,
            EXPECTEDSUPERSEDED=True,
        )
    return flags


def layers(text: str, prefix: str) -> dict[str, Any]:
    """Return the CBOR/COSE/COMPRESSED/BASE45 fields of a text, as far as its layers decode (hex, like dgc-testdata)."""
    out: dict[str, Any] = {"PREFIX": text}
    if not text.startswith(prefix):
        return out
    out["BASE45"] = text[len(prefix) :]
    try:
        compressed = base45.decode(out["BASE45"])
        out["COMPRESSED"] = compressed.hex()
        inflated = zlib.decompressobj().decompress(compressed, seal.MAX_INFLATED)
        out["COSE"] = inflated.hex()
        message = cose.decode_sign1(inflated, require_tag=False, kid_length=None)
        out["CBOR"] = message.payload.hex()
    except Exception:  # the corpus records the layers that decode; the verifier judges the rest
        pass
    return out


@dataclasses.dataclass
class World:
    """Keys, certificates and lists shared by the KZMB cases."""

    scheme: pki.Issued
    signers: dict[str, seal.SealSigner]
    trust_list: dict[str, str]
    short_list: dict[str, str]
    revocations: list[Revocation] = dataclasses.field(default_factory=list)


def _signer(
    ca: pki.Issued,
    facility: str,
    bin_: str,
    *,
    start: dt.datetime,
    days: int = 365,
    types: tuple[str, ...] = ("medbook.clearance", "attachment.notification"),
) -> seal.SealSigner:
    issued = pki.make_dsc(ca, facility_name=facility, bin_=bin_, not_before=start, days=days, record_types=types)
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
    return seal.SealSigner.of(issued.key, issued.certificate)


def make_world() -> World:
    """Return the scheme CA, the DSCs of the cases and the trust list that lists some of them."""
    scheme = pki.make_scheme_ca(not_before=CLOCK - 400 * DAY)
    rogue_ca = pki.make_scheme_ca(not_before=CLOCK - 400 * DAY)
    start = CLOCK - 30 * DAY
    s = {
        "a": _signer(scheme, "Поликлиника № 1", BIN_A, start=start),
        "b": _signer(scheme, "Демо медицинский центр", BIN_B, start=start),
        "attachment_only": _signer(scheme, "Поликлиника № 1", BIN_A, start=start, types=("attachment.notification",)),
        "listed_for_attachment": _signer(scheme, "Поликлиника № 1", BIN_A, start=start),
        "suspended": _signer(scheme, "Поликлиника № 1", BIN_A, start=start),
        "foreign": _signer(rogue_ca, "Поликлиника № 1", BIN_A, start=start),
        "unlisted": _signer(scheme, "Поликлиника № 1", BIN_A, start=start),
    }
    listed = [TrustListSigner(s[k].certificate, s[k].facility_name) for k in ("a", "b", "attachment_only", "foreign")]
    listed.append(
        TrustListSigner(s["listed_for_attachment"].certificate, "Поликлиника № 1", ("attachment.notification",))
    )
    listed.append(TrustListSigner(s["suspended"].certificate, "Поликлиника № 1", status="suspended"))
    assert isinstance(scheme.key, ec.EllipticCurvePrivateKey)
    # A year of max-age lets the time cases move the clock; the short list is the stale-list case.
    trust_list = build_trust_list(
        listed,
        ca_key=scheme.key,
        ca_certificate=scheme.certificate,
        sequence=42,
        issued_at=CLOCK - DAY,
        max_age=365 * DAY,
    )
    short_list = build_trust_list(
        listed,
        ca_key=scheme.key,
        ca_certificate=scheme.certificate,
        sequence=41,
        issued_at=CLOCK - 2 * DAY,
        max_age=DAY,
    )
    return World(scheme, s, trust_list, short_list)


def clearance(**changes: Any) -> cwt.Clearance:
    """Return the clearance of the corpus worker (a synthetic person; no IIN anywhere)."""
    base = cwt.Clearance(
        "ТЕСТОВА АЙДА",
        dt.date(1992, 6, 17),
        cwt.ClearanceStatus.FIT,
        ("food", "child"),
        (
            (cwt.Section.EXAM, dt.date(2026, 2, 10)),
            (cwt.Section.LAB, dt.date(2026, 2, 12)),
            (cwt.Section.XRAY, dt.date(2026, 2, 11)),
        ),
        3,
        bytes(range(16)),
    )
    return dataclasses.replace(base, **changes)


def claims(
    signer: seal.SealSigner, *, iat: dt.datetime = CLOCK - DAY, exp: dt.datetime = CLOCK + 180 * DAY, **changes: Any
) -> cwt.SealClaims:
    """Return claims of a seal by this signer (times unchecked, so cases can break them on purpose)."""
    t0, t1 = int(iat.timestamp()), int(exp.timestamp())
    return cwt.SealClaims(signer.bin, t0, t0, t1, seal.new_cti(), clearance(**changes))


def raw_claims(c: cwt.SealClaims, **overrides: Any) -> bytes:
    """Return the CBOR of claims with some claim keys replaced (None deletes), for malformed-claim cases."""
    body = cbor2.loads(cwt.to_cbor(c))
    for key, value in overrides.items():
        label = {
            "iss": cwt.CLAIM_ISS,
            "exp": cwt.CLAIM_EXP,
            "iat": cwt.CLAIM_IAT,
            "nbf": cwt.CLAIM_NBF,
            "cti": cwt.CLAIM_CTI,
            "kzmb": cwt.CLAIM_KZMB,
        }[key]
        if value is None:
            body.pop(label, None)
        else:
            body[label] = value
    return cbor2.dumps(body)


def signed(
    payload: bytes,
    signer: seal.SealSigner,
    *,
    protected: dict[int, Any] | None = None,
    unprotected: dict[int, Any] | None = None,
    tag: bool = True,
    cwt_tag: bool = False,
    mutate: Callable[[bytes], bytes] | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
    protected_bytes: bytes | None = None,
) -> bytes:
    """Return a COSE_Sign1 with chosen headers; `mutate` rewrites the signature, `protected_bytes` swaps the header."""
    header = cbor2.dumps(
        protected if protected is not None else {cose.HDR_ALG: cose.ALG_ES256, cose.HDR_KID: signer.kid}
    )
    signature = es256.sign_es256(key or signer.key, cose.sig_structure(header, payload))
    if mutate:
        signature = mutate(signature)
    return cose.assemble(
        protected_bytes if protected_bytes is not None else header,
        unprotected or {},
        payload,
        signature,
        tag=tag,
        cwt_tag=cwt_tag,
    )


def transport_raw(data: bytes) -> str:
    """Return prefix + base45 of bytes as they are (for broken-compression cases)."""
    return seal.PREFIX + base45.encode(data)


def transport(cose_bytes: bytes, *, level: int = 9, prefix: str = seal.PREFIX) -> str:
    """Return prefix + base45(zlib(cose)) at a chosen compression level."""
    return prefix + base45.encode(zlib.compress(cose_bytes, level))


def malleate(signature: bytes) -> bytes:
    """Return the other valid ECDSA signature (r, n - s): same r, re-encoded s (§1.6)."""
    s = int.from_bytes(signature[32:], "big")
    return signature[:32] + (es256.P256_ORDER - s).to_bytes(32, "big")


def document(
    case_id: str,
    description: str,
    text: str,
    outcome: str,
    reason: str | None,
    *,
    world: World,
    signer: seal.SealSigner,
    clock: dt.datetime = CLOCK,
    picture: bytes | None = None,
    payload: Any = None,
    trust_list: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return one test case in the dgc-testdata layout with our trust context (anchor, trust and revocation lists)."""
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    anchor = world.scheme.certificate.public_bytes(serialization.Encoding.DER)
    doc: dict[str, Any] = {"JSON": payload, **layers(text, seal.PREFIX)}
    if picture is not None:
        doc["2DCODE"] = b64(picture)
    doc["TESTCTX"] = {
        "VERSION": 1,
        "SCHEMA": "kzmb-1",
        "CERTIFICATE": b64(der),
        "ANCHOR": b64(anchor),
        "VALIDATIONCLOCK": clock.isoformat(),
        "DESCRIPTION": f"{outcome}: {description}",
        "TRUSTLIST": trust_list or world.trust_list,
        "REVOCATIONLIST": None,
        "CASE": case_id,
    }
    doc["EXPECTEDRESULTS"] = expected_results(outcome, reason, picture=picture is not None)
    return doc


def revoke(world: World, text: str, reason: Reason) -> None:
    """Add a seal to the corpus revocation list (both hashes)."""
    world.revocations.append(revocation_of(text, reason, CLOCK - 2 * DAY))


def revoke_signature_only(world: World, text: str, signer: seal.SealSigner) -> None:
    """Add only the signature-r hash of a seal (tests that the r hash alone catches a re-encoded signature)."""
    entry = revocation_of(text, Reason.REVOKED, CLOCK - 2 * DAY)
    world.revocations.append(Revocation(signer.kid, entry.hashes[1:], Reason.REVOKED, entry.at))


def cti_revocation(signer: seal.SealSigner, cti: bytes) -> Revocation:
    """Return a revocation by id hash only."""
    return Revocation(signer.kid, (cti_hash(signer.kid, cti),), Reason.REVOKED, CLOCK - 2 * DAY)
