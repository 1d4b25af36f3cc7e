"""HC1 (EU DCC) corpus cases made with our own keys, named after dgc-testdata common/ (BasicDgcTestsList.md)."""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from emhana.devtools.corpus.kit import b64, expected_results, layers
from emhana.trust.keys import pki
from emhana.trust.keys.es256 import kid_of, raw_to_der, sign_es256
from emhana.trust.seals import base45, cose
from emhana.trust.seals.hc1 import PREFIX, type_oids

CLOCK = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
NAM = {"fn": "Testova", "fnt": "TESTOVA", "gn": "Aida", "gnt": "AIDA"}
ENTRIES: dict[str, dict[str, Any]] = {
    "v": {
        "tg": "840539006",
        "vp": "1119349007",
        "mp": "EU/1/20/1528",
        "ma": "ORG-100030215",
        "dn": 2,
        "sd": 2,
        "dt": "2026-01-10",
        "co": "XX",
        "is": "Demo issuer",
        "ci": "URN:UVCI:01:XX:DEMO0001#X",
    },
    "t": {
        "tg": "840539006",
        "tt": "LP6464-4",
        "sc": "2026-02-28T08:00:00Z",
        "tr": "260415000",
        "tc": "Demo lab",
        "co": "XX",
        "is": "Demo issuer",
        "ci": "URN:UVCI:01:XX:DEMO0002#Y",
    },
    "r": {
        "tg": "840539006",
        "fr": "2026-01-02",
        "co": "XX",
        "is": "Demo issuer",
        "df": "2026-01-12",
        "du": "2026-06-30",
        "ci": "URN:UVCI:01:XX:DEMO0003#Z",
    },
}


def dcc(*kinds: str) -> dict[str, Any]:
    """Return an eu_dcc_v1 payload with one entry of each given kind (several kinds make it invalid, DGC2)."""
    return {"ver": "1.3.0", "nam": NAM, "dob": "1990-01-01", **{k: [ENTRIES[k]] for k in kinds}}


def dsc(name: str, *, algorithm: str = "ec", kinds: str | None = "tvr") -> pki.Issued:
    """Return a self-signed DSC like dgc-testdata's, with EKU OIDs for these types (None: no EKU)."""
    eku = [oid for k in kinds for oid in sorted(type_oids(k), key=lambda o: o.dotted_string)] if kinds else []
    return pki.issue_certificate(
        pki.name(cn=name, c="XX"),
        pki.new_key(algorithm),
        issuer=None,
        not_before=CLOCK - 30 * DAY,
        days=365,
        key_usage=x509.KeyUsage(True, False, False, False, False, False, False, False, False),
        eku=eku,
    )


def sign(
    issued: pki.Issued,
    payload: bytes,
    *,
    alg: int = cose.ALG_ES256,
    protected: dict[int, Any] | None = None,
    unprotected: dict[int, Any] | None = None,
    tag: bool = True,
    cwt_tag: bool = False,
    der: bool = False,
    flip: bool = False,
) -> bytes:
    """Return a COSE_Sign1 of a DCC signed ES256 or PS256 by this DSC, with chosen headers and defects."""
    kid = kid_of(issued.certificate.public_bytes(serialization.Encoding.DER))
    header = cbor2.dumps(protected if protected is not None else {cose.HDR_ALG: alg, cose.HDR_KID: kid})
    data = cose.sig_structure(header, payload)
    if isinstance(issued.key, rsa.RSAPrivateKey):
        signature = issued.key.sign(
            data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )
    else:
        assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
        signature = sign_es256(issued.key, data)
        signature = raw_to_der(signature) if der else signature
    if flip:
        signature = signature[:-1] + bytes([signature[-1] ^ 1])
    return cose.assemble(header, unprotected or {}, payload, signature, tag=tag, cwt_tag=cwt_tag)


def claims(payload: Any, *, iat: dt.datetime = CLOCK - DAY, exp: dt.datetime = CLOCK + 90 * DAY) -> bytes:
    """Return CWT claims of a DCC (hcert §3.3)."""
    return cbor2.dumps({1: "XX", 4: int(exp.timestamp()), 6: int(iat.timestamp()), -260: {1: payload}})


def text_of(message: bytes, prefix: str = PREFIX, *, compress: bool = True) -> str:
    """Return prefix + base45(zlib(message)), or without zlib when compress is False (Z2)."""
    return prefix + base45.encode(zlib.compress(message, 9) if compress else message)


def hc1_cases() -> list[dict[str, Any]]:
    """Return the HC1 cases in the dgc-testdata layout."""
    ec_dsc, rsa_dsc = dsc("EC-Me"), dsc("RSA-Me", algorithm="rsa")
    test_only, no_eku = dsc("EC-Test-Only", kinds="t"), dsc("EC-No-EKU", kinds=None)
    kid = kid_of(ec_dsc.certificate.public_bytes(serialization.Encoding.DER))
    vacc = claims(dcc("v"))
    good = sign(ec_dsc, vacc)
    es256 = {cose.HDR_ALG: cose.ALG_ES256}
    compressed = zlib.compress(good, 9)
    rows: list[tuple[str, str, str, str, str | None, pki.Issued, dt.datetime, Any]] = [
        (
            "CO1",
            "PS256 with RSA 2048",
            text_of(sign(rsa_dsc, vacc, alg=cose.ALG_PS256)),
            "VALID",
            None,
            rsa_dsc,
            CLOCK,
            dcc("v"),
        ),
        ("CO3", "ES256", text_of(good), "VALID", None, ec_dsc, CLOCK, dcc("v")),
        (
            "CO4",
            "algorithm other than ES256/PS256",
            text_of(sign(ec_dsc, vacc, protected={cose.HDR_ALG: -8, cose.HDR_KID: kid})),
            "TAMPERED",
            "unsupported_alg",
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "CO5",
            "signature cryptographically invalid",
            text_of(sign(ec_dsc, vacc, flip=True)),
            "TAMPERED",
            "bad_signature",
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "CO6",
            "OID for test present, DCC is a vaccination",
            text_of(sign(test_only, vacc)),
            "ISSUER_NOT_AUTHORISED",
            "dsc_not_allowed_for_type",
            test_only,
            CLOCK,
            dcc("v"),
        ),
        (
            "CO12",
            "OID for test present, DCC is a test",
            text_of(sign(test_only, claims(dcc("t")))),
            "VALID",
            None,
            test_only,
            CLOCK,
            dcc("t"),
        ),
        (
            "CO15",
            "no OID present, DCC is a recovery",
            text_of(sign(no_eku, claims(dcc("r")))),
            "VALID",
            None,
            no_eku,
            CLOCK,
            dcc("r"),
        ),
        (
            "CO16",
            "validation clock before issued-at",
            text_of(good),
            "NOT_YET_VALID",
            "not_yet_valid",
            ec_dsc,
            CLOCK - 3 * DAY,
            None,
        ),
        ("CO17", "validation clock after expiry", text_of(good), "EXPIRED", "expired", ec_dsc, CLOCK + 91 * DAY, None),
        (
            "CO19",
            "kid only in the unprotected header",
            text_of(sign(ec_dsc, vacc, protected=es256, unprotected={cose.HDR_KID: kid})),
            "VALID",
            None,
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "CO21",
            "protected kid right, unprotected kid wrong",
            text_of(sign(ec_dsc, vacc, unprotected={cose.HDR_KID: bytes(8)})),
            "VALID",
            None,
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "CO22",
            "protected kid wrong, unprotected kid right",
            text_of(sign(ec_dsc, vacc, protected={**es256, cose.HDR_KID: bytes(8)}, unprotected={cose.HDR_KID: kid})),
            "UNKNOWN_ISSUER",
            "unknown_kid",
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "CO23",
            "no protected kid, unprotected kid wrong",
            text_of(sign(ec_dsc, vacc, protected=es256, unprotected={cose.HDR_KID: bytes(8)})),
            "UNKNOWN_ISSUER",
            "unknown_kid",
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "CO28",
            "double tagged CWT(COSE_Sign1)",
            text_of(sign(ec_dsc, vacc, cwt_tag=True)),
            "VALID",
            None,
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "UNTAGGED",
            "untagged COSE_Sign1 (accepted for HC1)",
            text_of(sign(ec_dsc, vacc, tag=False)),
            "VALID",
            None,
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "DER",
            "ECDSA signature DER-encoded",
            text_of(sign(ec_dsc, vacc, der=True)),
            "MALFORMED",
            "signature_not_raw_64_bytes",
            ec_dsc,
            CLOCK,
            None,
        ),
        ("H1", "context HL0:", text_of(good, "HL0:"), "MALFORMED", "bad_prefix", ec_dsc, CLOCK, None),
        ("H2", "context HC2: (not supported)", text_of(good, "HC2:"), "MALFORMED", "bad_prefix", ec_dsc, CLOCK, None),
        ("H3", "no context", text_of(good, ""), "MALFORMED", "bad_prefix", ec_dsc, CLOCK, None),
        ("B1", "invalid base45 characters", text_of(good)[:-2] + "a~", "MALFORMED", "bad_base45", ec_dsc, CLOCK, None),
        (
            "Z1",
            "compression broken",
            PREFIX + base45.encode(compressed[:-4] + b"\x00\x00\x00\x00"),
            "MALFORMED",
            "zlib_error",
            ec_dsc,
            CLOCK,
            None,
        ),
        ("Z2", "not compressed", text_of(good, compress=False), "MALFORMED", "zlib_error", ec_dsc, CLOCK, None),
        (
            "CBO1",
            "wrong CBOR structure",
            text_of(cbor2.dumps([1, 2, 3])),
            "MALFORMED",
            "not_cose_sign1",
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "CBO2",
            "wrong CWT structure",
            text_of(sign(ec_dsc, cbor2.dumps(["not", "claims"]))),
            "MALFORMED",
            "claims_not_map",
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "DGC1",
            "no eu_dcc_v1 payload",
            text_of(sign(ec_dsc, cbor2.dumps({4: 1, 6: 0, -260: {2: {}}}))),
            "MALFORMED",
            "no_eu_dcc_v1",
            ec_dsc,
            CLOCK,
            None,
        ),
        (
            "DGC2",
            "vaccination and test in one DCC",
            text_of(sign(ec_dsc, claims(dcc("v", "t")))),
            "MALFORMED",
            "not_exactly_one_entry",
            ec_dsc,
            CLOCK,
            dcc("v", "t"),
        ),
    ]
    cases = []
    for case_id, description, text, outcome, reason, signer, clock, payload in rows:
        doc: dict[str, Any] = {"JSON": payload, **layers(text, PREFIX)}
        der = signer.certificate.public_bytes(serialization.Encoding.DER)
        doc["TESTCTX"] = {
            "VERSION": 1,
            "SCHEMA": "1.3.0",
            "CERTIFICATE": b64(der),
            "VALIDATIONCLOCK": clock.isoformat(),
            "DESCRIPTION": f"{outcome}: {description}",
            "CASE": case_id,
        }
        doc["EXPECTEDRESULTS"] = expected_results(outcome, reason, picture=False)
        cases.append(doc)
    return cases
