"""Record signatures: detached CMS verifications per second beside raw `cryptography` verify of the same signature.

    .venv/bin/emhana bench cms [--runs 5] [--scale 1.0]

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
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from emhana.devtools.bench.measure import emit, per_call, table
from emhana.kernel import clock
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


def rows_for(algorithm: str, *, runs: int, scale: float, figures: dict[str, float]) -> list[tuple[str, ...]]:
    """Return the table rows of one key algorithm; put its seconds per call and ratios into `figures`."""
    now = clock.now()
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
    public = signer.certificate.public_key()

    def raw() -> None:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signed.signature, signed.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signed.signature, signed.signed_attributes, ec.ECDSA(hashes.SHA256()))
        else:
            raise TypeError(f"no raw verify for a {type(public).__name__}")

    def full() -> None:
        verify_detached(data, der, anchors=[root.certificate], crls=[crl])

    def cold() -> None:
        pathcache.PATHS.clear()
        full()

    name = {"rsa": "RSA-2048", "ec": "ECDSA P-256"}[algorithm]
    measured: list[tuple[str, str, int, Callable[[], object]]] = [
        ("raw", f"raw verify of the same signature, {name} (cryptography)", max(1, int(2000 * scale)), raw),
        ("parse", f"CMS parse (asn1crypto), {name}", max(1, int(1000 * scale)), lambda: parse(der)),
        (
            "verify",
            f"verify_detached: digest, signature, path, CRL, key usage, {name}",
            max(1, int(1000 * scale)),
            full,
        ),
        (
            "first",
            f"verify_detached, first signature of the certificate (path validated), {name}",
            max(1, int(200 * scale)),
            cold,
        ),
    ]
    rows: list[tuple[str, ...]] = []
    seconds: dict[str, float] = {}
    for part, label, n, fn in measured:
        seconds[part] = s = per_call(fn, n, runs)
        figures[f"{algorithm}.{part}_s"] = s
        rows.append((label, str(n), f"{s * 1e6:,.1f}", f"{1 / s:,.0f}"))
    figures[f"{algorithm}.verify_ratio"] = seconds["raw"] / seconds["verify"]
    figures[f"{algorithm}.first_ratio"] = seconds["raw"] / seconds["first"]
    figures[f"{algorithm}.cms_bytes"] = float(len(der))
    rows.append(
        (f"verify_detached / raw verify ({name}, per second)", "", "", f"{figures[f'{algorithm}.verify_ratio']:.3f}")
    )
    rows.append(
        (
            f"verify_detached first signature / raw verify ({name}, per second)",
            "",
            "",
            f"{figures[f'{algorithm}.first_ratio']:.3f}",
        )
    )
    rows.append((f"CMS size ({name}, signer + intermediate certificates)", "", "", f"{len(der):,} B"))
    return rows


def main(argv: list[str] | None = None, prog: str | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog=prog, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}
    rows = [rows_for(a, runs=args.runs, scale=args.scale, figures=figures) for a in ("ec", "rsa")]
    emit(table([*rows[0], *rows[1]], ("operation", "N", "µs per call", "per second")))
    return figures


if __name__ == "__main__":
    main()
