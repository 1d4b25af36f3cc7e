"""QR seals in tests: a scheme CA with two facility signers and the trust context of a list that holds both, a
synthetic worker's clearance, and seals issued on a fixed clock."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.asymmetric import ec

from emhana.trust.keys import pki
from emhana.trust.lists.trustlist import TrustContext, TrustListSigner, build_trust_list, load_trust_list
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.cwt import Clearance, ClearanceStatus, Section

CLOCK = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
BIN_A, BIN_B = "080540012015", "150940033078"


@dataclass(frozen=True)
class Scheme:
    """A scheme CA, two facility signers and the trust context of a list that holds both."""

    ca: pki.Issued
    a: seal.SealSigner
    b: seal.SealSigner
    trust_list: bytes
    context: TrustContext

    @property
    def ca_key(self) -> ec.EllipticCurvePrivateKey:
        assert isinstance(self.ca.key, ec.EllipticCurvePrivateKey)
        return self.ca.key


def make_signer(ca: pki.Issued, facility: str, bin_: str, **kwargs: object) -> seal.SealSigner:
    issued = pki.make_dsc(ca, facility_name=facility, bin_=bin_, not_before=CLOCK - 30 * DAY, **kwargs)  # type: ignore[arg-type]
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey)
    return seal.SealSigner.of(issued.key, issued.certificate)


def make_scheme() -> Scheme:
    """A scheme CA, two facility signers (A and B) and a trust list of both, issued a day before CLOCK."""
    ca = pki.make_scheme_ca(not_before=CLOCK - 400 * DAY)
    a = make_signer(ca, "Поликлиника № 1", BIN_A)
    b = make_signer(ca, "Демо медицинский центр", BIN_B)
    assert isinstance(ca.key, ec.EllipticCurvePrivateKey)
    doc = json.dumps(
        build_trust_list(
            [
                TrustListSigner(a.certificate, "Поликлиника № 1"),
                TrustListSigner(b.certificate, "Демо медицинский центр"),
            ],
            ca_key=ca.key,
            ca_certificate=ca.certificate,
            sequence=5,
            issued_at=CLOCK - DAY,
        )
    ).encode()
    return Scheme(ca, a, b, doc, load_trust_list(doc, ca.certificate))


def worker(**changes: object) -> Clearance:
    """Return the clearance of a synthetic worker."""
    base = Clearance(
        "ТЕСТОВА АЙДА",
        dt.date(1992, 6, 17),
        ClearanceStatus.FIT,
        ("food",),
        ((Section.EXAM, dt.date(2026, 2, 10)), (Section.LAB, dt.date(2026, 2, 12))),
        1,
        bytes(16),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def issue(signer: seal.SealSigner, **changes: object) -> str:
    """Return a seal issued a day before CLOCK, valid for 180 days."""
    return seal.issue(worker(**changes), signer=signer, issued_at=CLOCK - DAY, expires_at=CLOCK + 180 * DAY)
