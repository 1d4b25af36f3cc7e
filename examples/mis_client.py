"""A reference MIS client of the emhana FHIR R4 door, built on the fhirpy library.

What an MIS does, step by step:

    # who is this worker, and where are they attached?
    python examples/mis_client.py --base http://127.0.0.1:8000/fhir/R4 --token TOKEN patient --iin 900501401006
    # participating clinics within 5 km of a point, nearest first
    python examples/mis_client.py --base ... --token TOKEN near --lat 51.15 --lon 71.45 --km 5
    # push a signed transaction Bundle of results (the clinician's PKCS#12 signs it)
    python examples/mis_client.py --base ... --token TOKEN push --iin 900501401006 --author-iin 800102400117 \
        --p12 clinician.p12 --password secret --observation 20507-0:NEG:2026-03-02 --xray 2026-03-02

Each command prints one JSON document on stdout. The signature is a detached CMS (PKCS#7) over the RFC 8785
canonical JSON of the bundle's clinical resources, carried in a Provenance (see emhana/fhir/canonical.py).
The client depends only on fhirpy, rfc8785 and cryptography: an MIS needs nothing of emhana's code.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

IIN = "https://fhir.emhana.kz/sid/iin"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def connect(base: str, token: str) -> SyncFHIRClient:
    """Return a fhirpy client that sends the bearer token."""
    return SyncFHIRClient(base, authorization=f"Bearer {token}")


def find_patient(client: SyncFHIRClient, iin: str) -> dict[str, Any] | None:
    """Find a worker by IIN and return the Patient (its generalPractitioner is the attached organization).

    fhirpy searches with GET, so the IIN travels in the query string: the server keeps query strings of
    /fhir out of its access log. A client that can send forms should prefer POST Patient/_search.
    """
    found = client.resources("Patient").search(identifier=f"{IIN}|{iin}").fetch()
    return dict(found[0].serialize()) if found else None  # type: ignore[no-untyped-call]


def clinics_near(client: SyncFHIRClient, lat: float, lon: float, km: float, limit: int) -> list[dict[str, Any]]:
    """Return participating sites within ``km`` of a point, nearest first."""
    found = client.resources("Location").search(near=f"{lat}|{lon}|{km}|km").limit(limit).fetch()
    return [dict(r.serialize()) for r in found]  # type: ignore[no-untyped-call]


def _subject(iin: str) -> dict[str, Any]:
    return {"identifier": {"system": IIN, "value": iin}}


def observation(iin: str, loinc: str, interpretation: str, day: str) -> dict[str, Any]:
    """A laboratory result with its LOINC code and interpretation (POS, NEG, N, A)."""
    return {
        "resourceType": "Observation",
        "id": uuid.uuid4().hex[:16],
        "meta": {"versionId": "1"},
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": _subject(iin),
        "effectiveDateTime": day,
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": interpretation}]}],
    }


def chest_xray(iin: str, day: str, normal: bool = True) -> dict[str, Any]:
    """A chest X-ray (fluorography) report with a SNOMED normal/abnormal conclusion."""
    return {
        "resourceType": "DiagnosticReport",
        "id": uuid.uuid4().hex[:16],
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "36643-5"}]},
        "subject": _subject(iin),
        "effectiveDateTime": day,
        "conclusionCode": [{"coding": [{"system": SNOMED, "code": "17621005" if normal else "263654008"}]}],
    }


def signed_bundle(resources: list[dict[str, Any]], *, author_iin: str, p12: bytes, password: str) -> dict[str, Any]:
    """Return a transaction Bundle with a Provenance carrying the author's detached CMS signature."""
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
        for r in resources
    ]
    signed = rfc8785.dumps([e["resource"] for e in entries])
    key, cert, chain = pkcs12.load_key_and_certificates(p12, password.encode())
    if key is None or cert is None:
        raise SystemExit("the PKCS#12 file holds no key and certificate")
    builder = pkcs7.PKCS7SignatureBuilder().set_data(signed).add_signer(cert, key, hashes.SHA256())  # type: ignore[arg-type]
    for extra in chain:
        builder = builder.add_certificate(extra)
    cms = builder.sign(
        serialization.Encoding.DER,
        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCapabilities],
    )
    now = dt.datetime.now(dt.UTC).isoformat()
    entries.append(
        {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "request": {"method": "POST", "url": "Provenance"},
            "resource": {
                "resourceType": "Provenance",
                "recorded": now,
                "target": [{"reference": e["fullUrl"]} for e in entries],
                "agent": [{"who": {"identifier": {"system": IIN, "value": author_iin}}}],
                "signature": [
                    {
                        "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}],
                        "when": now,
                        "who": {"identifier": {"system": IIN, "value": author_iin}},
                        "sigFormat": "application/pkcs7-signature",
                        "data": base64.b64encode(cms).decode(),
                    }
                ],
            },
        }
    )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def push(client: SyncFHIRClient, bundle: dict[str, Any]) -> dict[str, Any]:
    """POST the transaction Bundle to the server base; return the transaction-response or the OperationOutcome."""
    try:
        return dict(client.execute("", method="post", data=bundle))
    except OperationOutcome as exc:
        return dict(exc.resource) if getattr(exc, "resource", None) else {"error": str(exc)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("patient")
    p.add_argument("--iin", required=True)
    n = sub.add_parser("near")
    n.add_argument("--lat", type=float, required=True)
    n.add_argument("--lon", type=float, required=True)
    n.add_argument("--km", type=float, default=10.0)
    n.add_argument("--limit", type=int, default=10)
    s = sub.add_parser("push")
    s.add_argument("--iin", required=True)
    s.add_argument("--author-iin", required=True)
    s.add_argument("--p12", type=Path, required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--observation", action="append", default=[], help="LOINC:INTERPRETATION:YYYY-MM-DD")
    s.add_argument("--xray", action="append", default=[], help="YYYY-MM-DD of a normal chest X-ray")
    args = parser.parse_args(argv)
    client = connect(args.base, args.token)
    if args.command == "patient":
        out: Any = find_patient(client, args.iin)
    elif args.command == "near":
        out = clinics_near(client, args.lat, args.lon, args.km, args.limit)
    else:
        resources = [observation(args.iin, *spec.split(":", 2)) for spec in args.observation]
        resources += [chest_xray(args.iin, day) for day in args.xray]
        out = push(
            client,
            signed_bundle(resources, author_iin=args.author_iin, p12=args.p12.read_bytes(), password=args.password),
        )
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
