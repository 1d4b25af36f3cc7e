"""The cases of the seal corpus: KZMB1 outcomes and §6.8 pitfalls, and HC1 vectors ported from dgc-testdata common/."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib
from typing import Any

import cbor2

from emhana.devtools.corpus.kit import (
    CLOCK,
    DAY,
    World,
    claims,
    document,
    malleate,
    raw_claims,
    revoke,
    revoke_signature_only,
    signed,
    transport,
    transport_raw,
)
from emhana.trust.keys.es256 import raw_to_der
from emhana.trust.lists.revocation import Reason
from emhana.trust.seals import cose, cwt
from emhana.trust.seals import kzmb1 as seal


def _json(c: cwt.SealClaims) -> dict[str, Any]:
    k = c.clearance
    return {
        "iss": c.issuer_bin,
        "iat": c.issued_at,
        "nbf": c.not_before,
        "exp": c.expires_at,
        "cti": c.cti.hex(),
        "kzmb": {
            "ver": cwt.SCHEMA_VERSION,
            "name": k.name,
            "birth_date": k.birth_date.isoformat(),
            "status": int(k.status),
            "categories": list(k.categories),
            "dates": [[int(s), d.isoformat()] for s, d in k.dates],
            "rv": k.record_version,
            "record_hash": k.record_hash.hex() if k.record_hash else None,
        },
    }


def kzmb_cases(world: World) -> list[dict[str, Any]]:
    """Return the KZMB1 cases; revoked and superseded seals are added to world.revocations on the way."""
    a, b = world.signers["a"], world.signers["b"]
    cases: list[dict[str, Any]] = []

    def add(
        case_id: str,
        description: str,
        text: str,
        outcome: str,
        reason: str | None,
        *,
        signer: seal.SealSigner = a,
        clock: dt.datetime = CLOCK,
        picture: bytes | None = None,
        c: cwt.SealClaims | None = None,
        trust_list: dict[str, str] | None = None,
    ) -> None:
        cases.append(
            document(
                case_id,
                description,
                text,
                outcome,
                reason,
                world=world,
                signer=signer,
                clock=clock,
                picture=picture,
                payload=_json(c) if c else None,
                trust_list=trust_list,
            )
        )

    good = claims(a)
    body = cwt.to_cbor(good)
    text = seal.build(good, a).text
    kid = {cose.HDR_KID: a.kid}
    es256 = {cose.HDR_ALG: cose.ALG_ES256}
    # VALID, including the header placements and re-encodings that must still verify (CO18–CO21, CO28).
    add("V1", "a current seal", text, "VALID", None, c=good)
    add(
        "V2",
        "kid only in the unprotected header (CO19)",
        transport(signed(body, a, protected=es256, unprotected=kid)),
        "VALID",
        None,
        c=good,
    )
    add(
        "V3",
        "protected kid right, unprotected kid wrong (CO21)",
        transport(signed(body, a, unprotected={cose.HDR_KID: b.kid})),
        "VALID",
        None,
        c=good,
    )
    add("V4", "double tagged CWT(COSE_Sign1) (CO28)", transport(signed(body, a, cwt_tag=True)), "VALID", None, c=good)
    minimal = claims(a, categories=(), dates=(), record_hash=None)
    add(
        "V5",
        "minimal payload (no categories, dates or record hash)",
        seal.build(minimal, a).text,
        "VALID",
        None,
        c=minimal,
    )
    add(
        "V6",
        "re-compressed at zlib level 1 (transport re-encoding)",
        transport(seal.build(good, a).cose, level=1),
        "VALID",
        None,
        c=good,
    )
    add("V7", "photo of the QR code (PICTUREDECODE)", text, "VALID", None, picture=seal.qr_png(text), c=good)
    add(
        "V8",
        "signature re-encoded as (r, n-s): still the issuer's signature",
        transport(signed(body, a, mutate=malleate)),
        "VALID",
        None,
        c=good,
    )
    add("V9", "seal issued by another listed facility", seal.build(claims(b), b).text, "VALID", None, signer=b)
    # MALFORMED: prefix, base45, zlib, size, CBOR/COSE structure, claims (H1–H3, B1, Z1, Z2, CBO1, CBO2, SHC negatives).
    payload_b45 = text[len(seal.PREFIX) :]
    compressed = zlib.compress(seal.build(good, a).cose, 9)
    malformed = [
        ("M1", "HC1 prefix on a KZMB seal (H1)", "HC1:" + payload_b45, "bad_prefix"),
        ("M2", "no prefix (H3)", payload_b45, "bad_prefix"),
        ("M3", "lower-case prefix", "kzmb1:" + payload_b45, "bad_prefix"),
        ("M4", "UTF-8 BOM before the prefix", "\ufeff" + text, "bad_prefix"),
        ("M5", "character outside the base45 alphabet (B1)", text[:-3] + "ab#", "bad_base45"),
        ("M6", "trailing newline", text + "\n", "bad_base45"),
        (
            "M7",
            "truncated to leave one base45 character",
            text[: len(seal.PREFIX) + 3 * (len(payload_b45) // 3) - 2],
            "bad_base45",
        ),
        (
            "M8",
            "truncated by nine characters",
            text[: len(seal.PREFIX) + 3 * (len(payload_b45) // 3) - 9],
            "zlib_truncated",
        ),
        ("M9", "not compressed (Z2)", transport_raw(seal.build(good, a).cose), "zlib_error"),
        ("M10", "raw deflate without the zlib header", transport_raw(compressed[2:-4]), "zlib_error"),
        (
            "M11",
            "broken compression: bad checksum (Z1)",
            transport_raw(compressed[:-4] + bytes(b ^ 0xFF for b in compressed[-4:])),
            "zlib_error",
        ),
        ("M12", "bytes after the zlib stream", transport_raw(compressed + b"\x00\x01"), "zlib_trailing_bytes"),
        ("M13", "zlib bomb: 1 MiB of zeros", transport_raw(zlib.compress(bytes(1 << 20), 9)), "inflated_too_large"),
        ("M14", "oversized text beyond any QR code", seal.PREFIX + "0" * seal.MAX_TEXT, "too_long"),
        ("M15", "CBOR that is not COSE_Sign1 (CBO1)", transport(cbor2.dumps([1, 2, 3])), "not_cose_sign1"),
        ("M16", "untagged COSE_Sign1", transport(signed(body, a, tag=False)), "not_cose_sign1"),
        (
            "M17",
            "ECDSA signature DER-encoded instead of raw r||s (§6.8)",
            transport(signed(body, a, mutate=raw_to_der)),
            "signature_not_raw_64_bytes",
        ),
        ("M18", "protected alg missing", transport(signed(body, a, protected=kid)), "missing_alg"),
        ("M19", "kid of 7 bytes", transport(signed(body, a, protected={**es256, cose.HDR_KID: a.kid[:7]})), "bad_kid"),
        (
            "M20",
            "unknown critical header",
            transport(signed(body, a, protected={**es256, **kid, cose.HDR_CRIT: [99]})),
            "unknown_critical_header",
        ),
        ("M21", "payload is not a claims map (CBO2)", transport(signed(cbor2.dumps([1]), a)), "claims_not_map"),
        (
            "M22",
            "exp in milliseconds (SHC negative)",
            transport(signed(raw_claims(good, exp=good.expires_at * 1000), a)),
            "exp_not_seconds",
        ),
        (
            "M23",
            "exp as a float",
            transport(signed(raw_claims(good, exp=float(good.expires_at)), a)),
            "exp_not_integer_seconds",
        ),
        (
            "M24",
            "duplicate claim key (strict CBOR)",
            transport(signed(bytes([0xA2, 0x01, 0x61, 0x41, 0x01, 0x61, 0x42]), a)),
            "cbor_error",
        ),
        (
            "M25",
            "indefinite-length claims map (strict CBOR)",
            transport(signed(b"\xbf" + cbor2.dumps(cbor2.loads(body))[1:] + b"\xff", a)),
            "cbor_error",
        ),
        ("M26", "bytes after the claims", transport(signed(body + b"\x00", a)), "cbor_trailing_bytes"),
        ("M27", "no medical-book payload", transport(signed(raw_claims(good, kzmb=None), a)), "no_known_payload"),
        ("M28", "iss is not a 12-digit BIN", transport(signed(raw_claims(good, iss="BIN" + a.bin), a)), "bad_iss"),
    ]
    for case_id, description, bad_text, reason in malformed:
        add(case_id, description, bad_text, "MALFORMED", reason)
    add(
        "M29",
        "a picture with no QR code",
        text,
        "MALFORMED",
        "no_qr_code_in_image",
        picture=seal.qr_png(text)[:60] + bytes(200),
    )
    # UNKNOWN_ISSUER (step 2).
    s = world.signers
    add(
        "U1",
        "signer not in the trust list",
        seal.build(claims(s["unlisted"]), s["unlisted"]).text,
        "UNKNOWN_ISSUER",
        "unknown_kid",
        signer=s["unlisted"],
    )
    add(
        "U2",
        "listed DSC not issued by the scheme CA",
        seal.build(claims(s["foreign"]), s["foreign"]).text,
        "UNKNOWN_ISSUER",
        "dsc_not_issued_by_scheme_ca",
        signer=s["foreign"],
    )
    add(
        "U3",
        "DSC suspended in the trust list",
        seal.build(claims(s["suspended"]), s["suspended"]).text,
        "UNKNOWN_ISSUER",
        "dsc_suspended",
        signer=s["suspended"],
    )
    add(
        "U4",
        "trust list older than its max-age",
        text,
        "UNKNOWN_ISSUER",
        "trust_list_stale",
        clock=CLOCK + 2 * DAY,
        trust_list=world.short_list,
    )
    add(
        "U5",
        "protected kid wrong, unprotected kid right (CO22)",
        transport(signed(body, a, protected={**es256, cose.HDR_KID: bytes(8)}, unprotected=kid)),
        "UNKNOWN_ISSUER",
        "unknown_kid",
    )
    # TAMPERED (step 3).
    forged = cwt.to_cbor(dataclasses.replace(good, clearance=dataclasses.replace(good.clearance, name="ИНАЯ ИМЯ")))
    signature = cose.decode_sign1(seal.build(good, a).cose).signature
    add(
        "T1",
        "claims changed after signing (forged name)",
        transport(cose.assemble(cbor2.dumps({**es256, **kid}), {}, forged, signature)),
        "TAMPERED",
        "bad_signature",
    )
    add(
        "T2",
        "one signature bit flipped",
        transport(signed(body, a, mutate=lambda sig: sig[:40] + bytes([sig[40] ^ 1]) + sig[41:])),
        "TAMPERED",
        "bad_signature",
    )
    add(
        "T3",
        "signed by another key under a listed kid",
        transport(signed(body, a, key=s["unlisted"].key)),
        "TAMPERED",
        "bad_signature",
    )
    add(
        "T4",
        "kid of another listed DSC",
        transport(signed(body, a, protected={**es256, cose.HDR_KID: b.kid})),
        "TAMPERED",
        "bad_signature",
        signer=b,
    )
    add(
        "T5",
        "protected header re-encoded (keys reordered) after signing",
        transport(signed(body, a, protected_bytes=cbor2.dumps({cose.HDR_KID: a.kid, cose.HDR_ALG: cose.ALG_ES256}))),
        "TAMPERED",
        "bad_signature",
    )
    add(
        "T6",
        "alg PS256 claimed (COSE alg other than ES256)",
        transport(signed(body, a, protected={cose.HDR_ALG: cose.ALG_PS256, **kid})),
        "TAMPERED",
        "alg_not_es256",
    )
    add(
        "T7",
        "alg EdDSA claimed (CO4)",
        transport(signed(body, a, protected={cose.HDR_ALG: -8, **kid})),
        "TAMPERED",
        "alg_not_es256",
    )
    # ISSUER_NOT_AUTHORISED (step 4).
    add(
        "A1",
        "iss is another facility's BIN",
        transport(signed(raw_claims(good, iss=s["b"].bin), a)),
        "ISSUER_NOT_AUTHORISED",
        "iss_not_signer_bin",
    )
    add(
        "A2",
        "DSC EKU allows attachment notifications only",
        seal.build(claims(s["attachment_only"]), s["attachment_only"]).text,
        "ISSUER_NOT_AUTHORISED",
        "record_type_not_allowed",
        signer=s["attachment_only"],
    )
    add(
        "A3",
        "trust list allows this DSC attachment notifications only",
        seal.build(claims(s["listed_for_attachment"]), s["listed_for_attachment"]).text,
        "ISSUER_NOT_AUTHORISED",
        "record_type_not_allowed",
        signer=s["listed_for_attachment"],
    )
    # NOT_YET_VALID / EXPIRED (step 5, the four inequalities of §6.5).
    add("N1", "clock before the issue time (CO16)", text, "NOT_YET_VALID", "not_yet_valid", clock=CLOCK - 2 * DAY)
    add(
        "N2",
        "issued before the DSC was valid",
        seal.build(claims(a, iat=CLOCK - 40 * DAY), a).text,
        "NOT_YET_VALID",
        "issued_before_signer_certificate",
    )
    add("E1", "clock after exp (CO17)", text, "EXPIRED", "expired", clock=CLOCK + 181 * DAY - DAY / 2)
    add(
        "E2",
        "exp beyond the DSC's notAfter",
        seal.build(claims(a, exp=CLOCK + 340 * DAY), a).text,
        "EXPIRED",
        "expiry_beyond_signer_certificate",
    )
    # REVOKED / SUPERSEDED / SUSPENDED (step 6): revocation entries are hashes only.
    for case_id, description, reason, outcome in (
        ("R1", "revoked", Reason.REVOKED, "REVOKED"),
        ("R2", "issued in error", Reason.ISSUED_IN_ERROR, "REVOKED"),
        ("S1", "superseded by a correction", Reason.SUPERSEDED, "SUPERSEDED"),
        ("S2", "clearance suspended after an infection finding", Reason.SUSPENDED, "SUSPENDED"),
    ):
        version = claims(a, record_version=4)
        listed = seal.build(version, a).text
        revoke(world, listed, reason)
        add(case_id, description, listed, outcome, reason.value, c=version)
    listed_message = cose.decode_sign1(seal.decode_transport(cases[-4]["PREFIX"]))  # R1, the revoked one
    add(
        "R3",
        "revoked seal with its signature re-encoded as (r, n-s)",
        transport(
            cose.assemble(listed_message.protected, {}, listed_message.payload, malleate(listed_message.signature))
        ),
        "REVOKED",
        "revoked",
    )
    only_r = seal.build(claims(a), a).text
    revoke_signature_only(world, only_r, a)
    message = cose.decode_sign1(seal.decode_transport(only_r))
    add(
        "R4",
        "listed by signature-r hash only, re-encoded signature",
        transport(cose.assemble(message.protected, {}, message.payload, malleate(message.signature))),
        "REVOKED",
        "revoked",
    )
    return cases
