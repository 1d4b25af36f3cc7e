"""Detached CMS signatures of records: make one (demo, tests) and verify one (the stable public API).

``verify_detached(data, cms_der, *, anchors, crls, at=None, intermediates=(), gost=None) -> Evidence``

- ``data``: the exact signed bytes (a record's canonical form); ``cms_der``: DER CMS SignedData, one signer,
  detached (an encapsulated copy is accepted only if equal to ``data``), with signed attributes content-type,
  message-digest and signing-time.
- ``anchors``: trusted root certificates; ``crls``: cached CRLs (nothing is fetched); ``intermediates``:
  CA certificates the CMS may omit; ``at``: the verification clock (default now, UTC); ``gost``: the
  ``verifiers.SignatureVerifier`` used for GOST keys (e.g. ``ncanode.NcaNodeVerifier``).
- Returns ``evidence.Evidence`` (signer certificate, IIN/BIN from its subject, signing time, chain, CRLs used).
- Raises an ``emhana.kernel.errors.SignatureError``: ``signature.malformed``, ``.digest_mismatch``,
  ``.bad_signature``, ``.untrusted_chain``, ``.expired``, ``.revoked``, ``.revocation_unknown``,
  ``.key_usage``, ``.unsupported_algorithm``, ``.verifier_unavailable``. Check the signer's identity
  afterwards with ``identity.check_signer``.

``averify_detached`` is the same coroutine for callers already inside an event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from emhana.kernel import clock
from emhana.trust.signatures.cmsparse import parse
from emhana.trust.signatures.evidence import Evidence
from emhana.trust.signatures.verifiers import SignatureVerifier, select

T = TypeVar("T")
_THREAD = threading.local()


def sign_detached(
    data: bytes,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Return a DER CMS SignedData over ``data``, detached, SHA-256, with a signed signingTime attribute."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(cert, key, hashes.SHA256())
    for extra in chain:
        builder = builder.add_certificate(extra)
    # Binary: sign the bytes as they are (no S/MIME line-ending translation); OpenSSL adds signingTime.
    return builder.sign(
        serialization.Encoding.DER,
        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCapabilities],
    )


async def averify_detached(
    data: bytes,
    cms_der: bytes,
    *,
    anchors: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    at: dt.datetime | None = None,
    intermediates: Sequence[x509.Certificate] = (),
    gost: SignatureVerifier | None = None,
) -> Evidence:
    """Verify a detached CMS signature over ``data`` (see the module docstring)."""
    signed = parse(cms_der)
    verifier = select(signed, gost=gost)
    moment = at or clock.now()
    return await verifier.verify(
        data,
        signed,
        anchors=anchors,
        crls=crls,
        intermediates=intermediates,
        at=moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC),
    )


def verify_detached(
    data: bytes,
    cms_der: bytes,
    *,
    anchors: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    at: dt.datetime | None = None,
    intermediates: Sequence[x509.Certificate] = (),
    gost: SignatureVerifier | None = None,
) -> Evidence:
    """Verify a detached CMS signature over ``data`` (see the module docstring); synchronous."""
    return run_sync(
        averify_detached(data, cms_der, anchors=anchors, crls=crls, at=at, intermediates=intermediates, gost=gost)
    )


def _thread_loop() -> asyncio.AbstractEventLoop:
    """Return this thread's event loop for synchronous callers, made once (a new loop per call, as
    ``asyncio.run`` does, costs more than a whole verification with a cached path)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_THREAD, "loop", None)
    if loop is None or loop.is_closed():
        loop = _THREAD.loop = asyncio.new_event_loop()
    return loop


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from synchronous code, also when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _thread_loop().run_until_complete(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
