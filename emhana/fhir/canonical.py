"""The bytes an authoring clinician signs for an inbound transaction Bundle.

Definition (the MIS must produce exactly these bytes before signing):

1. Take ``Bundle.entry`` in order and keep the ``resource`` object of every entry whose ``resourceType`` is
   not ``Provenance`` (the clinical resources: Observation, DiagnosticReport, Immunization, Condition).
2. Make a JSON array of those objects exactly as they are sent (no FHIR normalisation: the server
   canonicalises the parsed JSON it receives, so whitespace and key order of the wire format do not matter,
   but every element and value does).
3. Serialise the array with the JSON Canonicalization Scheme, RFC 8785 (sorted keys by UTF-16 code units,
   no whitespace, ECMAScript number form, UTF-8).

The signature is a detached CMS SignedData (RFC 5652, DER) over these bytes, with a SHA-256
messageDigest signed attribute, base64-encoded in ``Provenance.signature[0].data`` of a Provenance entry
of the same bundle whose ``target`` lists every clinical entry (by ``fullUrl``) and whose author agent
(``agent.who.identifier``) is the clinician's IIN (system ``https://fhir.emhana.kz/sid/iin``). The signer
certificate's subject SERIALNUMBER must be ``IIN`` + that IIN (docs/credentials.md §4.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emhana.fhir import jcs


def clinical_resources(entries: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Return the resource objects of the bundle entries that are not Provenance, in order."""
    return [
        e.get("resource")
        for e in entries
        if isinstance(e.get("resource"), Mapping) and e["resource"].get("resourceType") != "Provenance"
    ]


def signed_bytes(entries: Sequence[Mapping[str, Any]]) -> bytes:
    """Return the RFC 8785 bytes of the bundle's clinical resources (what the Provenance signature covers)."""
    return jcs.dumps(clinical_resources(entries))


def resource_bytes(resource: Mapping[str, Any]) -> bytes:
    """Return the RFC 8785 bytes of one resource as received (kept in the inbound ledger; its SHA-256 tells
    a resent version from a changed one)."""
    return jcs.dumps(resource)


def signed_bytes_of(resources: Sequence[bytes]) -> bytes:
    """Return ``signed_bytes`` from the ``resource_bytes`` of the clinical resources, in order (RFC 8785 writes
    an array as its elements' bytes, comma-separated, in brackets)."""
    return b"[" + b",".join(resources) + b"]"
