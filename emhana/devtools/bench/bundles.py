"""Signed FHIR transaction Bundles as an MIS builds them, for the FHIR benchmarks: a demo CA the run trusts, a
registered clinician's ECDSA P-256 signing certificate, clinical resources (Observations, an X-ray report, an
Immunization) and a Provenance with a detached CMS over their RFC 8785 bytes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from emhana.fhir import systems
from emhana.fhir.canonical import signed_bytes
from emhana.fhir.signature import Trust
from emhana.trust.keys import pki
from emhana.trust.signatures.cms import sign_detached

RECORDED = "2026-03-02T10:00:00+05:00"
# LOINC codes of laboratory tests the seeded code map sends to items of the catalogue (emhana.fhir.codemap)
LOINC_CODES = ("20507-0", "22587-0", "24111-7", "10704-5", "625-4", "626-2")
AUTHOR = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


@dataclass(frozen=True)
class DemoCa:
    """A root and an intermediate CA with an empty CRL; their certificates start a day before the run."""

    root: pki.Issued
    intermediate: pki.Issued
    crl: x509.CertificateRevocationList
    not_before: dt.datetime

    @property
    def trust(self) -> Trust:
        return Trust((self.root.certificate, self.intermediate.certificate), (self.crl,))


@dataclass(frozen=True)
class Signer:
    """A clinician's signing key and certificate with the chain a CMS carries."""

    iin: str
    issued: pki.Issued
    chain: tuple[x509.Certificate, ...]


def make_ca(now: dt.datetime) -> DemoCa:
    """Return a demo CA valid from a day before `now` (CMS signing times are the real clock)."""
    start = now.replace(microsecond=0) - dt.timedelta(days=1)
    root = pki.make_root(not_before=start, algorithm="ec")
    inter = pki.make_intermediate(root, not_before=start, algorithm="ec")
    crl = pki.make_crl(inter, [], this_update=start, next_update=start + dt.timedelta(days=365), number=1)
    return DemoCa(root, inter, crl, start)


def make_signer(ca: DemoCa, iin: str, bin_: str) -> Signer:
    """Return clinician Динара Ахметова (IIN `iin`) of the clinic with BIN `bin_`, certified by the demo CA."""
    issued = pki.make_clinician(
        ca.intermediate,
        surname="Ахметова",
        given_name="Динара",
        iin=iin,
        organization="Поликлиника",
        bin_=bin_,
        not_before=ca.not_before,
        algorithm="ec",
    )
    return Signer(iin, issued, (ca.intermediate.certificate,))


def _subject(iin: str) -> dict[str, Any]:
    return {"identifier": {"system": systems.IIN, "value": iin}}


def _id(rid: str | None) -> str:
    return rid or uuid.uuid4().hex[:16]


def observation(iin: str, *, code: str = "20507-0", on: str = "2026-03-02", rid: str | None = None) -> dict[str, Any]:
    """A negative laboratory Observation (LOINC `code`)."""
    return {
        "resourceType": "Observation",
        "id": _id(rid),
        "status": "final",
        "code": {"coding": [{"system": systems.LOINC, "code": code}]},
        "subject": _subject(iin),
        "effectiveDateTime": on,
        "interpretation": [{"coding": [{"system": systems.INTERPRETATION, "code": "NEG"}]}],
    }


def xray(iin: str, *, on: str = "2026-03-02", rid: str | None = None) -> dict[str, Any]:
    """A chest X-ray DiagnosticReport without pathology."""
    return {
        "resourceType": "DiagnosticReport",
        "id": _id(rid),
        "status": "final",
        "code": {"coding": [{"system": systems.LOINC, "code": "36643-5"}]},
        "subject": _subject(iin),
        "effectiveDateTime": on,
        "conclusion": "Без патологии",
        "conclusionCode": [{"coding": [{"system": systems.SNOMED, "code": "17621005"}]}],
    }


def immunization(iin: str, *, on: str = "2025-11-20", rid: str | None = None) -> dict[str, Any]:
    """A completed Immunization (CVX 43)."""
    return {
        "resourceType": "Immunization",
        "id": _id(rid),
        "status": "completed",
        "vaccineCode": {"coding": [{"system": systems.CVX, "code": "43"}]},
        "patient": _subject(iin),
        "occurrenceDateTime": on,
    }


def worker_results(iin: str, size: int, prefix: str) -> list[dict[str, Any]]:
    """``size`` results of one worker as an MIS sends them: an X-ray report, an Immunization and laboratory
    Observations (negative, the seeded code map's LOINC codes in turn); resource ids start with ``prefix``."""
    out = [xray(iin, rid=f"{prefix}x"), immunization(iin, rid=f"{prefix}i")][:size]
    out += [
        observation(iin, code=LOINC_CODES[k % len(LOINC_CODES)], rid=f"{prefix}o{k}") for k in range(size - len(out))
    ]
    return out


def signed_bundle(resources: list[dict[str, Any]], signer: Signer) -> bytes:
    """Return the JSON of a transaction Bundle of the resources with a Provenance signed (detached CMS) over
    their RFC 8785 bytes by the signer, who is also its author."""
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
        for r in resources
    ]
    cms = sign_detached(signed_bytes(entries), signer.issued.key, signer.issued.certificate, signer.chain)
    who = _subject(signer.iin)
    entries.append(
        {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "request": {"method": "POST", "url": "Provenance"},
            "resource": {
                "resourceType": "Provenance",
                "recorded": RECORDED,
                "target": [{"reference": e["fullUrl"]} for e in entries],
                "agent": [{"type": {"coding": [{"system": AUTHOR, "code": "author"}]}, "who": who}],
                "signature": [
                    {
                        "type": [{"system": systems.SIGNATURE_TYPE, "code": systems.AUTHOR_SIGNATURE}],
                        "when": RECORDED,
                        "who": who,
                        "sigFormat": "application/pkcs7-signature",
                        "data": base64.b64encode(cms).decode(),
                    }
                ],
            },
        }
    )
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    return json.dumps(bundle, ensure_ascii=False).encode()
