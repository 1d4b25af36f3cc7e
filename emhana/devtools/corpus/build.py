"""Generate the seal test corpus in the dgc-testdata JSON layout (§6.7): every outcome and the pitfalls of §6.8.

Run `python -m emhana.devtools.corpus.build OUT` (or `emhana pki corpus --out OUT`); files land in OUT/KZMB/2DCode/raw/
and OUT/HC1/2DCode/raw/. Keys are fresh each run; the expected results do not depend on them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from emhana.devtools.corpus.cases import kzmb_cases
from emhana.devtools.corpus.hc1 import hc1_cases
from emhana.devtools.corpus.kit import CLOCK, DAY, make_world
from emhana.trust.keys.certs import load_certificate
from emhana.trust.lists.revocation import build_revocation_list, with_revocation_list
from emhana.trust.lists.trustlist import load_trust_list
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.hc1 import DscList, verify_hc1
from emhana.trust.seals.verifier import Outcome, Result, verify


def write_cases(out: Path, cases: list[dict[str, Any]], country: str) -> list[Path]:
    """Write cases as OUT/<country>/2DCode/raw/<CASE>.json and return their paths."""
    folder = out / country / "2DCode" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in cases:
        path = folder / f"{case['TESTCTX']['CASE']}.json"
        path.write_text(json.dumps(case, indent=1, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def generate(out: Path) -> list[Path]:
    """Generate the whole corpus (KZMB and HC1) under `out` and return the written files."""
    world = make_world()
    cases = kzmb_cases(world)
    assert isinstance(world.scheme.key, ec.EllipticCurvePrivateKey)
    revocation_list = build_revocation_list(
        world.revocations,
        ca_key=world.scheme.key,
        ca_certificate=world.scheme.certificate,
        sequence=7,
        issued_at=CLOCK - DAY,
    )
    for case in cases:
        case["TESTCTX"]["REVOCATIONLIST"] = revocation_list
    return write_cases(out, cases, "KZMB") + write_cases(out, hc1_cases(), "HC1")


def run_case(doc: dict[str, Any]) -> Result:
    """Verify one corpus case with the trust context it carries (a photo first when it has 2DCODE)."""
    ctx = doc["TESTCTX"]
    at = dt.datetime.fromisoformat(ctx["VALIDATIONCLOCK"])
    text = seal.read_qr(base64.b64decode(doc["2DCODE"])) if "2DCODE" in doc else doc["PREFIX"]
    signer = load_certificate(base64.b64decode(ctx["CERTIFICATE"]))
    if ctx["SCHEMA"] != "kzmb-1":
        return (
            Result(Outcome.MALFORMED, "no_qr_code_in_image", at)
            if text is None
            else verify_hc1(text, DscList.of([signer]), at)
        )
    anchor = load_certificate(base64.b64decode(ctx["ANCHOR"]))
    context = load_trust_list(json.dumps(ctx["TRUSTLIST"]).encode(), anchor)
    if ctx.get("REVOCATIONLIST"):
        context = with_revocation_list(context, json.dumps(ctx["REVOCATIONLIST"]).encode(), anchor)
    if text is None:
        return Result(Outcome.MALFORMED, "no_qr_code_in_image", at)
    return verify(text, context, at)


def main(argv: list[str] | None = None) -> int:
    """Write the corpus into the folder given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m emhana.devtools.corpus.build OUT\n")
        return 2
    paths = generate(Path(args[0]))
    sys.stdout.write(f"{len(paths)} cases written under {args[0]}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
