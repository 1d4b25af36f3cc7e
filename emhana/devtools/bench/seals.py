"""A typical clearance seal with a raw ES256 twin of its signature, and the national run's seal figures:
verification (base45 → zlib → COSE → ES256 → claims → checks) beside a raw `cryptography` ES256 verify of the
same signed bytes, back to back in the same process. `emhana bench seal` measures the same seal in detail."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from emhana.trust.keys import pki
from emhana.trust.lists.trustlist import TrustContext
from emhana.trust.seals import cose, cwt
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.verifier import Outcome, verify

CLOCK = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
NAME = "СЕЙТҚАЛИЕВА ДАНА НҰРЛАНҚЫЗЫ"  # a full Cyrillic name (credentials §6.3)
SECTIONS = (
    (cwt.Section.EXAM, dt.date(2026, 2, 10)),
    (cwt.Section.LAB, dt.date(2026, 2, 12)),
    (cwt.Section.XRAY, dt.date(2026, 2, 11)),
    (cwt.Section.VACCINATION, dt.date(2025, 11, 3)),
)


@dataclass(frozen=True)
class SealCase:
    """A seal built by a facility's DSC, its trust context, and the bytes its ES256 signature covers."""

    signer: seal.SealSigner
    claims: cwt.SealClaims
    text: str
    context: TrustContext
    data: bytes  # the COSE Sig_structure of the seal
    der: bytes  # a raw ES256 signature of `data` by the same key
    public: ec.EllipticCurvePublicKey

    def raw_sign(self) -> bytes:
        return self.signer.key.sign(self.data, ec.ECDSA(hashes.SHA256()))

    def raw_verify(self) -> None:
        self.public.verify(self.der, self.data, ec.ECDSA(hashes.SHA256()))

    def verify(self) -> object:
        return verify(self.text, self.context, CLOCK)


def make_case(sections: tuple[tuple[cwt.Section, dt.date], ...] = SECTIONS) -> SealCase:
    """Return a clearance seal issued the day before CLOCK for 180 days, with the given sections on it."""
    ca = pki.make_scheme_ca(not_before=CLOCK - 400 * DAY)
    issued = pki.make_dsc(ca, facility_name="Поликлиника № 1", bin_="080540012015", not_before=CLOCK - 30 * DAY)
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
    signer = seal.SealSigner.of(issued.key, issued.certificate)
    clearance = cwt.Clearance(
        NAME, dt.date(1995, 4, 12), cwt.ClearanceStatus.FIT, ("food", "child"), sections, 2, bytes(16)
    )
    claims = seal.claims_for(clearance, signer=signer, issued_at=CLOCK - DAY, expires_at=CLOCK + 180 * DAY)
    text = seal.build(claims, signer).text
    message = cose.decode_sign1(seal.decode_transport(text))
    data = cose.sig_structure(message.protected, message.payload)
    der = signer.key.sign(data, ec.ECDSA(hashes.SHA256()))
    context = TrustContext.single(signer.certificate)
    return SealCase(signer, claims, text, context, data, der, signer.key.public_key())


def _seconds_per_call(fn: Callable[[], object], calls: int, timer: Callable[[], float]) -> float:
    start = timer()
    for _ in range(calls):
        fn()
    return (timer() - start) / calls


def paired_runs(
    case: SealCase, calls: int, runs: int, timer: Callable[[], float] = time.perf_counter
) -> tuple[float, float]:
    """Return the median seconds per seal verification and per raw ES256 verification, over `runs` runs of `calls`
    calls each, the seal's and the raw runs taken in turn, so that a busy spell of a shared machine weighs on both
    alike. `timer=time.thread_time` counts this thread's CPU time only: on a machine shared with other work, time
    spent waiting for a core then counts for neither."""
    case.verify()  # one untimed call of each first
    case.raw_verify()
    seal_runs, raw_runs = [], []
    for _ in range(runs):
        seal_runs.append(_seconds_per_call(case.verify, calls, timer))
        raw_runs.append(_seconds_per_call(case.raw_verify, calls, timer))
    return statistics.median(seal_runs), statistics.median(raw_runs)


def seal_figures(calls: int) -> dict[str, float]:
    """Seal verifications and raw ES256 verifications per second (median of 3 paired runs of `calls` calls each)."""
    case = make_case(SECTIONS[:2])
    if verify(case.text, case.context, CLOCK).outcome is not Outcome.VALID:
        raise RuntimeError("the benchmark seal does not verify")
    seal, raw = paired_runs(case, calls, 3)
    return {"verify_per_s": 1 / seal, "raw_per_s": 1 / raw, "chars": float(len(case.text))}
