"""`emhana pki demo` and `emhana verify`, driven through typer's CliRunner on the trust apps themselves."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from emhana.cli.verify import pki_app, verify_command
from emhana.kernel.config import get_settings
from emhana.trust.keys.certs import load_certificate

runner = CliRunner()
verify_app = typer.Typer()
verify_app.command("verify")(verify_command)
verify_app.command("noop")(lambda: None)  # two commands keep "verify" as a sub-command name, as in emhana.cli.main


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(verify_app, ["verify", *args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "demo"
    result = runner.invoke(pki_app, ["demo", "--out", str(out), "--algorithm", "ec"])
    assert result.exit_code == 0, result.output
    assert "trust-list.json" in result.output and "manifest.json" in result.output
    return out


def test_verify_text_file_image_and_literal(demo: Path) -> None:
    trust = str(demo / "trust-list.json")
    for subject in (str(demo / "seal.txt"), str(demo / "seal.png"), (demo / "seal.txt").read_text().strip()):
        code, out = run("--trust-list", trust, subject)
        assert code == 0 and out.split()[0] == "VALID", out


def test_superseded_and_json(demo: Path) -> None:
    code, out = run("--trust-list", str(demo / "trust-list.json"), "--json", str(demo / "seal-v1-superseded.txt"))
    result = json.loads(out)
    assert code == 1 and result["outcome"] == "SUPERSEDED" and result["claims"]["record_version"] == 1
    assert result["revocation_list"]["sequence"] == 1


def test_at_moves_the_clock(demo: Path) -> None:
    trust = str(demo / "trust-list.json")
    code, out = run("--trust-list", trust, "--at", "2000-01-01", str(demo / "seal.txt"))
    assert code == 1 and out.startswith("NOT_YET_VALID")
    code, out = run("--trust-list", trust, "--at", "2099-01-01T00:00:00+05:00", str(demo / "seal.txt"))
    assert code == 1 and out.startswith("UNKNOWN_ISSUER (trust_list_stale)")
    code, out = run("--trust-list", trust, "--at", "yesterday", str(demo / "seal.txt"))
    assert code == 2


def test_dsc_pem_file_or_base64_der(demo: Path) -> None:
    pem = next(demo.glob("dsc-080540012015.pem"))
    der = load_certificate(pem.read_bytes()).public_bytes(serialization.Encoding.DER)
    for value in (str(pem), base64.b64encode(der).decode()):
        code, out = run("--dsc", value, str(demo / "seal.txt"))
        assert code == 0 and out.startswith("VALID"), out
    other = next(demo.glob("dsc-150940033078.pem"))
    code, out = run("--dsc", str(other), str(demo / "seal.txt"))
    assert code == 1 and out.startswith("UNKNOWN_ISSUER")


def test_hostile_subjects(demo: Path, tmp_path: Path) -> None:
    trust = str(demo / "trust-list.json")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (tmp_path / "latin1.txt").write_bytes(b"KZMB1:\xff")
    for subject, reason in (
        (str(tmp_path / "broken.png"), "no_qr_code_in_image"),
        (str(tmp_path / "latin1.txt"), "not_utf8_text"),
        ("KZMB1:%%%", "bad_base45"),
        ("KZMB1:000", "zlib_error"),
        ("x" * 5000, "too_long"),
    ):
        code, out = run("--trust-list", trust, "--json", subject)
        assert code == 1 and json.loads(out)["outcome"] == "MALFORMED" and json.loads(out)["reason"] == reason


def test_usage_and_configuration_errors(demo: Path, tmp_path: Path) -> None:
    seal_txt = str(demo / "seal.txt")
    assert run(seal_txt)[0] == 2
    assert run("--trust-list", str(demo / "trust-list.json"), "--dsc", "x", seal_txt)[0] == 2
    lonely = tmp_path / "trust-list.json"
    shutil.copy(demo / "trust-list.json", lonely)
    code, out = run("--trust-list", str(lonely), seal_txt)
    assert code == 2 and "trust.certificate_invalid" in out
    code, out = run("--trust-list", str(lonely), "--anchor", str(demo / "root-ca.pem"), seal_txt)
    assert code == 2 and "trust.list_invalid" in out
    code, _ = run("--trust-list", str(lonely), "--anchor", str(demo / "scheme-ca.pem"), seal_txt)
    assert code == 0
    assert run("--dsc", "not a certificate", seal_txt)[0] == 2


def test_anchor_from_environment(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lonely = tmp_path / "list.json"
    shutil.copy(demo / "trust-list.json", lonely)
    monkeypatch.setenv("EMHANA_TRUST_ANCHOR", str(demo / "scheme-ca.pem"))
    get_settings.cache_clear()  # the command reads it through Settings, as a fresh process would
    try:
        assert run("--trust-list", str(lonely), str(demo / "seal.txt"))[0] == 0
    finally:
        get_settings.cache_clear()


def test_hc1_mode(tmp_path: Path) -> None:
    from emhana.devtools.corpus.hc1 import claims, dcc, dsc, sign, text_of

    signer = dsc("EC-Me")
    text = text_of(sign(signer, claims(dcc("v"))))
    pem = tmp_path / "dsc.pem"
    pem.write_bytes(signer.pem())
    code, out = run("--hc1", "--dsc", str(pem), "--at", "2026-03-01T09:00:00Z", text)
    assert code == 0 and out.startswith("VALID") and "Aida Testova" in out
    dsc_list = tmp_path / "dscs.json"
    dsc_list.write_text(
        json.dumps([base64.b64encode(signer.certificate.public_bytes(serialization.Encoding.DER)).decode()])
    )
    code, out = run("--hc1", "--trust-list", str(dsc_list), "--at", "2026-03-01T09:00:00Z", "--json", text)
    assert code == 0 and json.loads(out)["claims"]["certificate_type"] == "vaccination"
    code, out = run("--hc1", "--trust-list", str(dsc_list), "KZMB1:ABC")
    assert code == 1 and out.startswith("MALFORMED (bad_prefix)")


def test_hc1_mode_shows_the_signature_verdict_and_reads_float_dates(tmp_path: Path) -> None:
    import cbor2

    from emhana.devtools.corpus.hc1 import CLOCK, DAY, dcc, dsc, sign, text_of

    signer = dsc("EC-Me")
    pem = tmp_path / "dsc.pem"
    pem.write_bytes(signer.pem())
    at = ("--at", "2026-03-01T09:00:00Z")
    floats = {1: "XX", 4: (CLOCK + 9 * DAY).timestamp() + 0.5, 6: (CLOCK - DAY).timestamp() + 0.5, -260: {1: dcc("t")}}
    code, out = run("--hc1", "--dsc", str(pem), *at, "--json", text_of(sign(signer, cbor2.dumps(floats))))
    assert code == 0 and json.loads(out)["outcome"] == "VALID" and json.loads(out)["signature"] == "valid"
    broken = {**floats, -260: {1: dcc("t", "r")}}
    code, out = run("--hc1", "--dsc", str(pem), *at, text_of(sign(signer, cbor2.dumps(broken))))
    assert code == 1 and out.startswith("MALFORMED (not_exactly_one_entry)") and "signature valid" in out
    code, out = run("--hc1", "--dsc", str(pem), *at, text_of(sign(signer, cbor2.dumps(broken), flip=True)))
    assert code == 1 and out.startswith("TAMPERED (bad_signature)") and "signature invalid" in out


def test_pki_corpus_command(tmp_path: Path) -> None:
    result = runner.invoke(pki_app, ["corpus", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "KZMB/V1\tVALID" in result.output and "MISMATCH" not in result.output


def test_pki_demo_refuses_unknown_algorithm(tmp_path: Path) -> None:
    assert runner.invoke(pki_app, ["demo", "--out", str(tmp_path), "--algorithm", "gost"]).exit_code == 2
