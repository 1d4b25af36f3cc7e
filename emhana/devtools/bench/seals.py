"""QR seal verification (base45 → zlib → COSE → ES256 → claims → checks) beside a raw `cryptography` ES256
verify of the same signature, back to back in the same process."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from emhana.trust.keys import pki
from emhana.trust.lists.trustlist import TrustContext
from emhana.trust.seals import cose, cwt
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.verifier import Outcome, verify

CLOCK = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _setup() -> tuple[str, TrustContext, Callable[[], object]]:
    """Return a typical clearance seal (full Cyrillic name), its trust context and a raw ES256 verify of it."""
    ca = pki.make_scheme_ca(not_before=CLOCK - 400 * DAY)
    issued = pki.make_dsc(ca, facility_name="Поликлиника № 1", bin_="080540012015", not_before=CLOCK - 30 * DAY)
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
    signer = seal.SealSigner.of(issued.key, issued.certificate)
    clearance = cwt.Clearance(
        "СЕЙТҚАЛИЕВА ДАНА НҰРЛАНҚЫЗЫ",
        dt.date(1995, 4, 12),
        cwt.ClearanceStatus.FIT,
        ("food", "child"),
        ((cwt.Section.EXAM, dt.date(2026, 2, 10)), (cwt.Section.LAB, dt.date(2026, 2, 12))),
        2,
        bytes(16),
    )
    claims = seal.claims_for(clearance, signer=signer, issued_at=CLOCK - DAY, expires_at=CLOCK + 180 * DAY)
    text = seal.build(claims, signer).text
    message = cose.decode_sign1(seal.decode_transport(text))
    data = cose.sig_structure(message.protected, message.payload)
    der = signer.key.sign(data, ec.ECDSA(hashes.SHA256()))
    public = signer.key.public_key()
    return text, TrustContext.single(signer.certificate), lambda: public.verify(der, data, ec.ECDSA(hashes.SHA256()))


def _per_second(fn: Callable[[], object], n: int, runs: int = 3) -> float:
    """Median over runs of calls per second of n back-to-back calls."""
    fn()
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rates.append(n / (time.perf_counter() - start))
    return sorted(rates)[len(rates) // 2]


def seal_figures(calls: int) -> dict[str, float]:
    text, context, raw = _setup()
    if verify(text, context, CLOCK).outcome is not Outcome.VALID:
        raise RuntimeError("the benchmark seal does not verify")
    return {
        "verify_per_s": _per_second(lambda: verify(text, context, CLOCK), calls),
        "raw_per_s": _per_second(raw, calls),
        "chars": float(len(text)),
    }
