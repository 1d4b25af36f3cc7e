"""A reference MIS client of the emhana FHIR R4 door, built on the fhirpy library.

What an MIS does, step by step (``--token`` is a bearer token; instead, ``--username U --user-password P`` asks
one at /api/v1/auth/token, and ``--client-id ID --key private.pem [--kid KID] [--token-url URL]`` obtains one by
SMART Backend Services, a JWT signed with the client's registered key, through examples/backend_auth.py):

    # who is this worker, and where are they attached?
    python examples/mis_client.py --base http://127.0.0.1:8000/fhir/R4 --token TOKEN patient --iin 900501401006
    # participating clinics within 5 km of a point, nearest first
    python examples/mis_client.py --base ... --token TOKEN near --lat 51.15 --lon 71.45 --km 5
    # push a signed transaction Bundle of results (the clinician's PKCS#12 signs it)
    python examples/mis_client.py --base ... --client-id ID --key client.key.pem push --iin 900501401006 \
        --author-iin 800102400117 --p12 clinician.p12 --password secret --observation 20507-0:NEG:2026-03-02 \
        --xray 2026-03-02
    # read back what was sent, by a location of the transaction-response
    python examples/mis_client.py --base ... --client-id ID --key client.key.pem read \
        --location Observation/<id>/_history/1
    # retract a result sent in error: the same result again, a later version, entered-in-error
    python examples/mis_client.py --base ... push ... --observation 20507-0:NEG:2026-03-02 --version 2 \
        --entered-in-error

Each command prints one JSON document on stdout; a push the server refuses prints its OperationOutcome and exits
with 1. Resource ids are derived from the worker, the code and the date (not random; keyed by a digest of the
signer's key, so that an id in a URL does not give the IIN away): pushing the same results again is a retry, not
new entries. The signature is a detached CMS (PKCS#7) over the RFC 8785 canonical JSON of
the bundle's clinical resources, carried in a Provenance (see emhana/fhir/canonical.py). The client depends only
on fhirpy, rfc8785, cryptography and httpx (and PyJWT for SMART Backend Services): an MIS needs nothing of
emhana's code.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import sys
import urllib.parse
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
PUSH_AND_READ = (
    "system/Observation.c system/DiagnosticReport.c system/Immunization.c system/Condition.c system/Provenance.c "
    "system/Patient.rs system/Organization.rs system/Location.rs system/Practitioner.rs system/PractitionerRole.rs "
    "system/Observation.rs system/DiagnosticReport.rs system/Immunization.rs system/Condition.rs"
)


def connect(base: str, token: str) -> SyncFHIRClient:
    """Return a fhirpy client that sends the bearer token."""
    return SyncFHIRClient(base, authorization=f"Bearer {token}")


def _origin(base: str) -> str:
    parts = urllib.parse.urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def password_token(base: str, username: str, password: str) -> str:
    """Return a bearer token of an account for its username and password (OAuth 2.0 password form)."""
    import httpx

    answer = httpx.post(
        f"{_origin(base)}/api/v1/auth/token", data={"username": username, "password": password}, timeout=30
    )
    if answer.status_code != 200:
        raise SystemExit(f"no token for {username}: {answer.status_code} {answer.text[:300]}")
    return str(answer.json()["access_token"])


def token_endpoint(base: str) -> str:
    """Return the token endpoint the server declares in its SMART configuration."""
    import httpx

    answer = httpx.get(f"{base.rstrip('/')}/.well-known/smart-configuration", timeout=30)
    if answer.status_code != 200:
        raise SystemExit(f"no SMART configuration at {base}: {answer.status_code}; give --token-url")
    return str(answer.json()["token_endpoint"])


def backend_token(base: str, client_id: str, key: Path, kid: str | None, token_url: str | None, scopes: str) -> str:
    """Return a bearer token obtained by SMART Backend Services (examples/backend_auth.py's ``token``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from backend_auth import token  # type: ignore[import-not-found,unused-ignore]

    key_pem = key.read_bytes()
    return str(token(token_url or token_endpoint(base), client_id, key_pem, kid or _kid_of(key_pem), scopes))


def _kid_of(key_pem: bytes) -> str:
    """Without --kid: the RFC 7638 thumbprint of the key's public half (what a JWK set often uses as kid)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = serialization.load_pem_private_key(key_pem, password=None)

    def b64(n: int, size: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()

    if isinstance(key, ec.EllipticCurvePrivateKey):
        nums = key.public_key().public_numbers()
        size = (key.curve.key_size + 7) // 8
        members = {"crv": f"P-{key.curve.key_size}", "kty": "EC", "x": b64(nums.x, size), "y": b64(nums.y, size)}
    elif isinstance(key, rsa.RSAPrivateKey):
        rnums = key.public_key().public_numbers()
        members = {
            "e": b64(rnums.e, (rnums.e.bit_length() + 7) // 8),
            "kty": "RSA",
            "n": b64(rnums.n, key.key_size // 8),
        }
    else:
        raise SystemExit("the key is neither an EC nor an RSA private key")
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def resource_id(iin: str, system: str, code: str, day: str, secret: bytes = b"") -> str:
    """A stable id for the result of one test of one worker on one day: a retry sends the same id (and the server
    answers "already received"), never a second entry. It is keyed by a secret of the MIS (here: derived from the
    signer's key) so that the id, which travels in URLs, does not let anyone find the IIN by trying them all.
    A real MIS sends its own record's id."""
    return hmac.new(secret, f"{iin}|{system}|{code}|{day}".encode(), hashlib.sha256).hexdigest()[:32]


def id_secret(p12: bytes, password: str) -> bytes:
    """The key of ``resource_id``: a digest of the signer's private key (the same file gives the same ids)."""
    key, _, _ = pkcs12.load_key_and_certificates(p12, password.encode())
    if key is None:
        raise SystemExit("the PKCS#12 file holds no key")
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return hashlib.sha256(b"emhana mis_client resource ids|" + der).digest()


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


def observation(iin: str, loinc: str, interpretation: str, day: str, secret: bytes = b"") -> dict[str, Any]:
    """A laboratory result with its LOINC code and interpretation (POS, NEG, N, A)."""
    return {
        "resourceType": "Observation",
        "id": resource_id(iin, LOINC, loinc, day, secret),
        "meta": {"versionId": "1"},
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": _subject(iin),
        "effectiveDateTime": day,
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": interpretation}]}],
    }


def chest_xray(iin: str, day: str, normal: bool = True, secret: bytes = b"") -> dict[str, Any]:
    """A chest X-ray (fluorography) report with a SNOMED normal/abnormal conclusion."""
    return {
        "resourceType": "DiagnosticReport",
        "id": resource_id(iin, LOINC, "36643-5", day, secret),
        "meta": {"versionId": "1"},
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "36643-5"}]},
        "subject": _subject(iin),
        "effectiveDateTime": day,
        "conclusionCode": [{"coding": [{"system": SNOMED, "code": "17621005" if normal else "263654008"}]}],
    }


def signed_bundle(resources: list[dict[str, Any]], *, author_iin: str, p12: bytes, password: str) -> dict[str, Any]:
    """Return a transaction Bundle with a Provenance carrying the author's detached CMS signature."""
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, r['resourceType'] + '/' + r['id'])}",
            "resource": r,
            "request": {"method": "POST", "url": r["resourceType"]},
        }
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
    digest = hashlib.sha256(signed).hexdigest()
    entries.append(
        {
            "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'Provenance/' + digest)}",
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


def revise(resource: dict[str, Any], version: int, entered_in_error: bool) -> dict[str, Any]:
    """Return a new version of a resource already sent: its ``meta.versionId``, and ``entered-in-error`` as its
    status to retract it (the server withdraws the book's entry through the signed bundle)."""
    out = {**resource, "meta": {"versionId": str(version)}}
    if entered_in_error:
        out["status"] = "entered-in-error"
    return out


def read(client: SyncFHIRClient, location: str) -> dict[str, Any]:
    """Read what was sent back by a transaction-response ``location`` (Type/id or Type/id/_history/version)."""
    try:
        return dict(client.execute(location, method="get"))
    except OperationOutcome as exc:
        return dict(exc.resource) if getattr(exc, "resource", None) else {"error": str(exc)}


def push(client: SyncFHIRClient, bundle: dict[str, Any]) -> dict[str, Any]:
    """POST the transaction Bundle to the server base; return the transaction-response or the OperationOutcome."""
    try:
        return dict(client.execute("", method="post", data=bundle))
    except OperationOutcome as exc:
        return dict(exc.resource) if getattr(exc, "resource", None) else {"error": str(exc)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    auth = parser.add_mutually_exclusive_group(required=True)
    auth.add_argument("--token", help="a bearer token")
    auth.add_argument("--username", help="an account's username: a bearer token is asked with --user-password")
    auth.add_argument("--client-id", help="a registered client application (SMART Backend Services)")
    parser.add_argument("--user-password", default="", help="the password of --username")
    parser.add_argument("--key", type=Path, help="the client's private key (PEM) that signs its assertion")
    parser.add_argument("--kid", help="the key's kid in the registered JWK set (default: its RFC 7638 thumbprint)")
    parser.add_argument("--token-url", help="the token endpoint (default: from .well-known/smart-configuration)")
    parser.add_argument("--scope", default=PUSH_AND_READ, help="the system scopes to ask for (space-separated)")
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
    s.add_argument("--version", type=int, default=1, help="meta.versionId of the resources (a later one revises)")
    s.add_argument("--entered-in-error", action="store_true", help="retract these results (sent before, in error)")
    r = sub.add_parser("read", help="read back what was sent, by a transaction-response location")
    r.add_argument("--location", required=True, help="Type/id or Type/id/_history/version")
    args = parser.parse_args(argv)
    if args.client_id and args.key is None:
        parser.error("--client-id needs --key")
    if args.token:
        bearer = args.token
    elif args.username:
        bearer = password_token(args.base, args.username, args.user_password)
    else:
        bearer = backend_token(args.base, args.client_id, args.key, args.kid, args.token_url, args.scope)
    client = connect(args.base, bearer)
    if args.command == "patient":
        out: Any = find_patient(client, args.iin)
    elif args.command == "near":
        out = clinics_near(client, args.lat, args.lon, args.km, args.limit)
    elif args.command == "read":
        out = read(client, args.location)
    else:
        p12 = args.p12.read_bytes()
        secret = id_secret(p12, args.password)
        resources = []
        for spec in args.observation:
            loinc, interpretation, day = spec.split(":", 2)
            resources.append(observation(args.iin, loinc, interpretation, day, secret))
        resources += [chest_xray(args.iin, day, secret=secret) for day in args.xray]
        if args.version != 1 or args.entered_in_error:
            resources = [revise(r, args.version, args.entered_in_error) for r in resources]
        out = push(
            client,
            signed_bundle(resources, author_iin=args.author_iin, p12=p12, password=args.password),
        )
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    refused = isinstance(out, dict) and (out.get("resourceType") == "OperationOutcome" or "error" in out)
    return 1 if refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
