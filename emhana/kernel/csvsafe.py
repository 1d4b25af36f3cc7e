"""CSV that a spreadsheet opens without running anything: every CSV that emhana writes goes through these
writers (tests/kernel/test_csvsafe.py fails on a csv.writer anywhere else).

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel and
LibreOffice (OWASP, "CSV Injection"): a name such as ``=HYPERLINK("http://…","…")`` in the published list of
healthcare entities would run in the spreadsheet of whoever opens the export. Such a cell is written with a
leading apostrophe, which spreadsheets show as text and do not display. Plain numbers (``-3``, ``+7.5``)
stay as they are: they cannot be formulas. Readers of emhana's own CSV take the apostrophe away again
(:func:`unguard`), so an export imports back unchanged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def cell(value: Any) -> Any:
    """The value as a spreadsheet may read it: a text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.fullmatch(value):
        return GUARD + value
    return value


def unguard(value: str) -> str:
    """The text a guarded cell stood for (reading back emhana's own exports)."""
    if value.startswith(GUARD) and value[1:].startswith(TRIGGERS):
        return value[1:]
    return value


class Writer:
    """``csv.writer`` whose every cell goes through :func:`cell`."""

    def __init__(self, f: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(f, **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class DictWriter(csv.DictWriter):  # type: ignore[type-arg]  # not subscriptable at run time
    """``csv.DictWriter`` whose every cell goes through :func:`cell`."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({k: cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)
