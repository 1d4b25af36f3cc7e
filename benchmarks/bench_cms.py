"""Record signatures: detached CMS verifications per second beside raw `cryptography` verify of the same signature.

    .venv/bin/python -m benchmarks.bench_cms [--runs 5] [--scale 1.0]

For each of RSA-2048 and ECDSA P-256 (NCA RK-like root → intermediate → clinician SIGN certificate, a cached CRL)
it times: the raw `cryptography` verification of the very signature the CMS carries (over its signed attributes);
parsing the CMS; and the full `emhana.trust.signatures.cms.verify_detached` (digest, signature, path to the anchor by
pyhanko-certvalidator, validity at the signing time, CRL, key usage, revocation at the clock), offline, twice:
with the validated path cached (``emhana.trust.signatures.pathcache``: what a server sees after the first signature of
a certificate under the same trust state) and with the cache emptied before every call (the first signature).
Each figure is the median of `--runs` runs of N back-to-back calls.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from benchmarks import table
from emhana.trust.keys import pki
from emhana.trust.signatures import canonical, pathcache
from emhana.trust.signatures.cms import sign_detached, verify_detached
from emhana.trust.signatures.cmsparse import parse

DOCUMENT = {
    "type": canonical.ENTRY,
    "book": 1234,
    "person_iin": "900101300017",
    "entity_bin": "150340001236",
    "kind": "lab_result",
    "item_code": "syphilis",
    "performed_on": "2026-03-02",
    "result": "negative",
    "result_text": "отрицательно",
    "codes": [],
    "clearance": None,
    "valid_until": None,
    "referral_entity_bin": None,
    "caused_by": None,
    "supersedes": None,
    "reason": None,
    "author_account": 17,
    "author_name": "АХМЕТОВА АЙГЕРИМ",
    "source": "manual",
    "recorded_at": "2026-03-10T05:00:00+00:00",
}


def per_call(fn: Callable[[], object], n: int, runs: int) -> float:
    """Return the median over runs of the mean seconds per call of n back-to-back calls."""
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


def rows_for(algorithm: str, *, runs: int, scale: float) -> list[tuple[str, ...]]:
    """Return the table rows of one key algorithm."""
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=1)
    root = pki.make_root(not_before=start, algorithm=algorithm)
    inter = pki.make_intermediate(root, not_before=start, algorithm=algorithm)
    signer = pki.make_clinician(
        inter,
        surname="АХМЕТОВА",
        given_name="АЙГЕРИМ",
        iin="850314400123",
        organization="Clinic",
        bin_="150340001236",
        not_before=start,
        algorithm=algorithm,
    )
    crl = pki.make_crl(inter, [], this_update=now, next_update=now + dt.timedelta(days=1), number=1)
    data = canonical.jcs(DOCUMENT)
    der = sign_detached(data, signer.key, signer.certificate, [inter.certificate])
    signed = parse(der)
    key = signer.certificate.public_key()

    def raw() -> None:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signed.signature, signed.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signed.signature, signed.signed_attributes, ec.ECDSA(hashes.SHA256()))

    def full() -> None:
        verify_detached(data, der, anchors=[root.certificate], crls=[crl])

    def cold() -> None:
        pathcache.PATHS.clear()
        full()

    name = {"rsa": "RSA-2048", "ec": "ECDSA P-256"}[algorithm]
    measured = [
        (f"raw verify of the same signature, {name} (cryptography)", max(1, int(2000 * scale)), raw),
        (f"CMS parse (asn1crypto), {name}", max(1, int(1000 * scale)), lambda: parse(der)),
        (f"verify_detached: digest, signature, path, CRL, key usage, {name}", max(1, int(1000 * scale)), full),
        (
            f"verify_detached, first signature of the certificate (path validated), {name}",
            max(1, int(200 * scale)),
            cold,
        ),
    ]
    rows: list[tuple[str, ...]] = []
    seconds: dict[str, float] = {}
    for label, n, fn in measured:
        s = per_call(fn, n, runs)
        seconds[label.split(",")[0]] = s
        rows.append((label, str(n), f"{s * 1e6:,.1f}", f"{1 / s:,.0f}"))
    raw_s = seconds["raw verify of the same signature"]
    rows.append(
        (
            f"verify_detached / raw verify ({name}, per second)",
            "",
            "",
            f"{raw_s / seconds['verify_detached: digest']:.3f}",
        )
    )
    rows.append(
        (
            f"verify_detached first signature / raw verify ({name}, per second)",
            "",
            "",
            f"{raw_s / seconds['verify_detached']:.3f}",
        )
    )
    rows.append((f"CMS size ({name}, signer + intermediate certificates)", "", "", f"{len(der):,} B"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    rows = [*rows_for("ec", runs=args.runs, scale=args.scale), *rows_for("rsa", runs=args.runs, scale=args.scale)]
    print(table(rows, ("operation", "N", "µs per call", "per second")))


if __name__ == "__main__":
    main()
