"""The `emhana pki` and `emhana verify` commands; verify works with no network at all (§6.6)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from emhana.kernel import clock
from emhana.kernel.errors import RegistryError
from emhana.trust.seals.kzmb1 import read_qr
from emhana.trust.seals.verifier import Outcome, Result

pki_app = typer.Typer(help="Demo PKI for record signatures and QR seals (demo only, not NCA RK).", no_args_is_help=True)

ANCHOR_ENV = "EMHANA_TRUST_ANCHOR"  # Settings.trust_anchor, named in messages
MAX_INPUT_FILE = 20 * 1024 * 1024
VERIFIED_AT = "verified offline at {time}"
WITH_TRUST_LIST = "with trust list no. {number} of {time}"
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")


@pki_app.command("demo")
def pki_demo(
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.", file_okay=False)],
    password: Annotated[str, typer.Option(help="Password of every PKCS#12 file.")] = "demo-pki",
    algorithm: Annotated[str, typer.Option(help="Key algorithm of the NCA-like hierarchy: rsa or ec.")] = "rsa",
) -> None:
    """Write a demo CA hierarchy, PKCS#12 files, a CRL, the seal scheme, signed lists and sample seals."""
    from emhana.devtools.pki_demo import write_demo

    if algorithm not in ("rsa", "ec"):
        raise typer.BadParameter("rsa or ec", param_hint="--algorithm")
    manifest = write_demo(out, now=clock.now(), password=password, algorithm=algorithm)
    for filename, what in manifest["files"].items():
        typer.echo(f"{out / filename}\t{what}")
    typer.echo(f"{out / 'manifest.json'}\tthe list of files, people and the password (demo only)")


@pki_app.command("corpus")
def pki_corpus(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the corpus into.", file_okay=False)],
) -> None:
    """Generate the seal test corpus (dgc-testdata layout), verify every case and print case, outcome and verdict."""
    from emhana.devtools.corpus.build import generate, run_case

    failures = 0
    for path in generate(out):
        doc = json.loads(path.read_text(encoding="utf-8"))
        expected = doc["EXPECTEDRESULTS"]
        result = run_case(doc)
        ok = result.outcome.value == expected["EXPECTEDOUTCOME"] and result.reason == expected["EXPECTEDREASON"]
        failures += not ok
        typer.echo(
            f"{path.parent.parent.parent.name}/{path.stem}\t{result.outcome.value}\t{result.reason or ''}"
            f"\t{'ok' if ok else 'MISMATCH, expected ' + expected['EXPECTEDOUTCOME']}"
        )
    raise typer.Exit(1 if failures else 0)


def parse_at(value: str | None) -> dt.datetime:
    """Return the verification clock: an ISO 8601 time (UTC when it has no offset), or now."""
    if value is None:
        return clock.now()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("an ISO 8601 time such as 2026-05-01T12:00:00+05:00", param_hint="--at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def read_subject(value: str) -> tuple[str | None, str | None]:
    """Return (text, problem) for the argument: a seal text, a text file, or an image file with a QR code."""
    try:
        path = Path(value)
        is_file = len(value) < 4096 and path.is_file()
    except (OSError, ValueError):
        is_file = False
    if not is_file:
        return value, None
    if path.stat().st_size > MAX_INPUT_FILE:
        return None, "file_too_large"
    data = path.read_bytes()
    if data.startswith(IMAGE_MAGIC):
        text = read_qr(data)
        return (text, None) if text is not None else (None, "no_qr_code_in_image")
    try:
        return data.decode("utf-8").rstrip("\r\n"), None
    except UnicodeDecodeError:
        return None, "not_utf8_text"


def _beside(trust_list: Path, filename: str) -> Path | None:
    candidate = trust_list.parent / filename
    return candidate if candidate.is_file() else None


def verify_command(
    subject: Annotated[
        str,
        typer.Argument(
            metavar="TEXT_OR_IMAGE_FILE", help="A seal text, a file holding one, or a PNG/JPG photo of the QR."
        ),
    ],
    trust_list: Annotated[
        Path | None,
        typer.Option(
            "--trust-list", dir_okay=False, exists=True, help="Signed trust list (or, with --hc1, a JSON DSC list)."
        ),
    ] = None,
    dsc: Annotated[
        str | None,
        typer.Option("--dsc", help="One signer certificate instead of a trust list: a PEM/DER file, or base64 DER."),
    ] = None,
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor",
            dir_okay=False,
            exists=True,
            help=f"Scheme CA certificate that signs the lists; default "
            f"${ANCHOR_ENV}, else scheme-ca.pem beside the trust list.",
        ),
    ] = None,
    revocation_list: Annotated[
        Path | None,
        typer.Option(
            "--revocation-list",
            dir_okay=False,
            exists=True,
            help="Signed revocation list; default revocation-list.json beside the trust list.",
        ),
    ] = None,
    hc1: Annotated[bool, typer.Option("--hc1", help="Verify an EU Digital COVID Certificate (HC1:).")] = False,
    at: Annotated[str | None, typer.Option("--at", help="Verification clock, ISO 8601 (default: now).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
) -> None:
    """Verify a QR seal offline; print the outcome as the first word; exit 0 only for VALID."""
    if (trust_list is None) == (dsc is None):
        raise typer.BadParameter("give exactly one of --trust-list and --dsc", param_hint="--trust-list/--dsc")
    moment = parse_at(at)
    try:
        result = _verify(
            subject, trust_list=trust_list, dsc=dsc, anchor=anchor, revocation_list=revocation_list, hc1=hc1, at=moment
        )
    except RegistryError as exc:
        sys.stderr.write(f"error {exc.code}: {exc.english()}\n")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        typer.echo(result.summary() if hc1 else summary(result))
    raise typer.Exit(0 if result.outcome is Outcome.VALID else 1)


def summary(result: Result, lang: str = "en") -> str:
    """Return one line starting with the outcome word, as the verifier page says it: the claims by their labels
    and names (clearance, notice, decreed groups), dates dd.mm.yyyy and times in Kazakhstan's time with its zone."""
    from emhana.kernel.i18n import translate
    from emhana.medbook.catalogue import group_names
    from emhana.trust.seals import present

    words = [result.outcome.value]
    if result.reason:
        words.append(f"({result.reason})")
    words.extend(
        f"— {translate(lang, label)}: {value}"
        for label, value in present.rows(result.shown, lang, groups=group_names())
    )
    words.append(f"— {translate(lang, VERIFIED_AT, {'time': present.moment_text(result.verified_at)})}")
    if result.trust_list:
        when = present.moment_text(result.trust_list.issued_at)
        words.append(translate(lang, WITH_TRUST_LIST, {"number": result.trust_list.sequence, "time": when}))
    return " ".join(words)


def _load_dsc(value: str) -> bytes:
    try:
        path = Path(value)
        if len(value) < 4096 and path.is_file():
            return path.read_bytes()
    except (OSError, ValueError):
        pass
    return value.encode("ascii", "replace")


def _verify(
    subject: str,
    *,
    trust_list: Path | None,
    dsc: str | None,
    anchor: Path | None,
    revocation_list: Path | None,
    hc1: bool,
    at: dt.datetime,
) -> Result:
    from emhana.kernel.config import get_settings
    from emhana.kernel.errors import CertificateInvalid
    from emhana.trust.keys.certs import load_certificate
    from emhana.trust.lists.revocation import with_revocation_list
    from emhana.trust.lists.trustlist import TrustContext, load_trust_list
    from emhana.trust.seals import hc1 as hc1_mod
    from emhana.trust.seals.verifier import verify

    text, problem = read_subject(subject)
    if hc1:
        dscs = (
            hc1_mod.DscList.of([load_certificate(_load_dsc(dsc))])
            if dsc is not None
            else hc1_mod.load_dsc_list(trust_list.read_bytes())
            if trust_list
            else hc1_mod.DscList({})
        )
        return Result(Outcome.MALFORMED, problem, at) if text is None else hc1_mod.verify_hc1(text, dscs, at)
    if dsc is not None:
        context = TrustContext.single(load_certificate(_load_dsc(dsc)))
    else:
        assert trust_list is not None
        configured = get_settings().trust_anchor
        anchor_path = anchor or (Path(configured) if configured else None) or _beside(trust_list, "scheme-ca.pem")
        if anchor_path is None or not anchor_path.is_file():
            raise CertificateInvalid(reason=f"no scheme CA certificate: give --anchor or set {ANCHOR_ENV}")
        anchor_cert = load_certificate(anchor_path.read_bytes())
        context = load_trust_list(trust_list.read_bytes(), anchor_cert)
        revocations = revocation_list or _beside(trust_list, "revocation-list.json")
        if revocations is not None:
            context = with_revocation_list(context, revocations.read_bytes(), anchor_cert)
    if text is None:
        return Result(
            Outcome.MALFORMED, problem, at, trust_list=context.trust_list, revocation_list=context.revocation_list
        )
    return verify(text, context, at)
