"""A fake NCANode 3.x (``POST /cms/verify``) on a loopback port, and GOST-labelled CMS to send it.

The fake reads the signer certificate out of the CMS and answers in NCANode's layout; ``mode`` chooses its
verdict or failure: valid, invalid, revoked, auth, expired, refuse (400), broken (500), slow (sleeps).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from asn1crypto import cms, core, keys  # type: ignore[import-untyped]
from asn1crypto import x509 as ax
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from emhana.kernel import clock
from emhana.trust.keys import pki
from emhana.trust.keys.certs import subject_bin, subject_iin

GOST_2015_KEY = "1.2.398.3.10.1.1.2.3.1"
GOST_2015_HASH = "1.2.398.3.10.1.3.2"


class FakeNcaNode:
    """Holds the mode and the requests seen."""

    def __init__(self) -> None:
        self.mode = "valid"
        self.seen: list[dict[str, Any]] = []

    async def verify(self, request: Request) -> Response:
        body = await request.json()
        self.seen.append(body)
        if self.mode == "slow":
            await asyncio.sleep(1.5)
        if self.mode == "broken":
            return PlainTextResponse("java.lang.NullPointerException", status_code=500)
        if self.mode == "refuse" or "data" not in body:
            return JSONResponse({"status": 400, "message": "Invalid CMS"}, status_code=400)
        info = cms.ContentInfo.load(base64.b64decode(body["cms"]))
        signer = info["content"]["certificates"][0].chosen
        cert = x509.load_der_x509_certificate(signer.dump())
        revoked = self.mode == "revoked"
        certificate = {
            "valid": self.mode == "valid",
            "revocations": [
                {
                    "revoked": revoked,
                    "by": "CRL",
                    "revocationTime": "2026-01-02T03:04:05.000+00:00" if revoked else None,
                }
            ],
            "notBefore": cert.not_valid_before_utc.isoformat(),
            "notAfter": (cert.not_valid_before_utc + dt.timedelta(minutes=1)).isoformat()
            if self.mode == "expired"
            else cert.not_valid_after_utc.isoformat(),
            "keyUsage": "AUTH" if self.mode == "auth" else "SIGN",
            "serialNumber": format(cert.serial_number, "x"),
            "signAlg": "GOST3410-2015-256",
            "keyUser": ["EMPLOYEE"],
            "subject": {"iin": subject_iin(cert), "bin": subject_bin(cert), "commonName": "ТЕСТОВ ТЕСТ"},
            "issuer": {"dn": "CN=НҰЦ (GOST) TEST"},
        }
        return JSONResponse(
            {
                "status": 200,
                "message": "OK",
                "valid": self.mode == "valid",
                "signers": [{"signers": [certificate], "tsp": None}],
            }
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/cms/verify", self.verify, methods=["POST"])])


@contextmanager
def serve(fake: FakeNcaNode) -> Iterator[str]:
    """Run the fake on 127.0.0.1 (a free port) in a thread; yield its URL."""
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake NCANode did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _sequence(content: bytes) -> bytes:
    return b"\x30" + _length(len(content)) + content


def _length(n: int) -> bytes:
    return bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 0xFF])


def gost_certificate(issued: pki.Issued) -> ax.Certificate:
    """Return the certificate relabelled with a GOST R 34.10-2015 key (its subject and extensions kept)."""
    cert = ax.Certificate.load(issued.certificate.public_bytes(serialization.Encoding.DER))
    tbs = cert["tbs_certificate"]
    algorithm = _sequence(core.ObjectIdentifier(GOST_2015_KEY).dump() + core.Null().dump())
    tbs["subject_public_key_info"] = keys.PublicKeyInfo.load(
        _sequence(algorithm + core.OctetBitString(os.urandom(64)).dump())
    )
    tbs["signature"] = {"algorithm": GOST_2015_KEY}
    return ax.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": {"algorithm": GOST_2015_KEY}, "signature_value": os.urandom(64)}
    )


def gost_cms(issued: pki.Issued, *, signing_time: dt.datetime | None = None) -> bytes:
    """Return a detached CMS whose signer has a GOST key (digest and signature are random: NCANode judges)."""
    cert = gost_certificate(issued)
    attributes = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["data"]},
            {"type": "signing_time", "values": [cms.Time({"utc_time": signing_time or clock.now()})]},
            {"type": "message_digest", "values": [os.urandom(32)]},
        ]
    )
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "digest_algorithm": {"algorithm": GOST_2015_HASH},
            "signed_attrs": attributes,
            "sid": cms.SignerIdentifier(
                {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}}
            ),
            "signature_algorithm": {"algorithm": GOST_2015_KEY},
            "signature": os.urandom(64),
        }
    )
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": GOST_2015_HASH}],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cert],
            "signer_infos": [signer],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())
