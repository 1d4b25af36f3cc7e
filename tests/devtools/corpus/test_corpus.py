"""The generated corpus (dgc-testdata layout, §6.7): every case verifies to its expected outcome and reason."""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections import Counter
from pathlib import Path

import pytest

from emhana.devtools.corpus import build as corpus
from emhana.devtools.corpus import kit
from emhana.trust.seals import base45
from emhana.trust.seals.verifier import Outcome

FIELDS = {"JSON", "PREFIX", "TESTCTX", "EXPECTEDRESULTS"}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    out = tmp_path_factory.mktemp("corpus")
    paths = corpus.generate(out)
    assert all(p.parent == out / p.parts[-4] / "2DCode" / "raw" for p in paths)
    return {f"{p.parts[-4]}/{p.stem}": json.loads(p.read_text(encoding="utf-8")) for p in paths}


def test_every_case_gives_its_expected_outcome(cases: dict[str, dict[str, object]]) -> None:
    wrong = []
    for name, doc in cases.items():
        expected = doc["EXPECTEDRESULTS"]
        assert isinstance(expected, dict)
        result = corpus.run_case(doc)
        if (result.outcome.value, result.reason) != (expected["EXPECTEDOUTCOME"], expected["EXPECTEDREASON"]):
            wrong.append(
                f"{name}: {result.outcome.value} ({result.reason}), expected "
                f"{expected['EXPECTEDOUTCOME']} ({expected['EXPECTEDREASON']})"
            )
    assert not wrong, "\n".join(wrong)


def test_corpus_covers_every_outcome_and_pitfall(cases: dict[str, dict[str, object]]) -> None:
    kzmb = Counter(
        str(d["EXPECTEDRESULTS"]["EXPECTEDOUTCOME"])  # type: ignore[index]
        for n, d in cases.items()
        if n.startswith("KZMB/")
    )
    assert set(kzmb) == {o.value for o in Outcome}
    reasons = {d["EXPECTEDRESULTS"]["EXPECTEDREASON"] for d in cases.values()}  # type: ignore[index]
    for pitfall in (
        "signature_not_raw_64_bytes",
        "inflated_too_large",
        "too_long",
        "zlib_truncated",
        "bad_base45",
        "unknown_kid",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "revoked",
        "superseded",
        "iss_not_signer_bin",
        "record_type_not_allowed",
        "trust_list_stale",
        "exp_not_seconds",
        "cbor_error",
        "dsc_not_issued_by_scheme_ca",
    ):
        assert pitfall in reasons, pitfall
    hc1 = {n.split("/")[1] for n in cases if n.startswith("HC1/")}
    assert {
        "CO1",
        "CO3",
        "CO5",
        "CO6",
        "CO12",
        "CO15",
        "CO16",
        "CO17",
        "CO19",
        "CO21",
        "CO22",
        "CO23",
        "CO28",
        "H1",
        "H2",
        "H3",
        "B1",
        "Z1",
        "Z2",
        "CBO1",
        "CBO2",
        "DGC2",
    } <= hc1


def test_layout_and_layers_are_consistent(cases: dict[str, dict[str, object]]) -> None:
    for name, doc in cases.items():
        assert FIELDS <= set(doc), name
        ctx, expected = doc["TESTCTX"], doc["EXPECTEDRESULTS"]
        assert isinstance(ctx, dict) and isinstance(expected, dict)
        assert {"VERSION", "SCHEMA", "CERTIFICATE", "VALIDATIONCLOCK", "DESCRIPTION"} <= set(ctx)
        if expected["EXPECTEDOUTCOME"] == "VALID":
            assert expected["EXPECTEDVERIFY"] and expected["EXPECTEDDECODE"] and expected["EXPECTEDB45DECODE"]
            compressed = base45.decode(str(doc["BASE45"]))
            assert compressed.hex() == doc["COMPRESSED"]
            assert zlib.decompress(compressed).hex() == doc["COSE"]
            assert str(doc["CBOR"]) in str(doc["COSE"])
        if "2DCODE" in doc:
            assert base64.b64decode(str(doc["2DCODE"]))[:4] in (b"\x89PNG",)


def test_no_kzmb_case_carries_an_iin(cases: dict[str, dict[str, object]]) -> None:
    for name, doc in cases.items():
        if name.startswith("KZMB/") and doc.get("CBOR"):
            text = bytes.fromhex(str(doc["CBOR"])).decode("utf-8", "replace")
            found = set(re.findall(r"\d{12}", text))
            assert found <= {kit.BIN_A, kit.BIN_B}, (name, found)


def test_main_writes_the_corpus(tmp_path: Path) -> None:
    assert corpus.main([str(tmp_path)]) == 0
    assert (tmp_path / "KZMB" / "2DCode" / "raw" / "V1.json").is_file()
    assert corpus.main([]) == 2
