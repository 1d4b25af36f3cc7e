"""Only the kernel clock reads the wall clock: no module of emhana calls ``datetime.now``, ``datetime.utcnow``,
``date.today`` (or passes them as callables) on its own. Durations (``time.monotonic``, ``time.perf_counter``,
``time.time``) are not wall-clock dates and stay free."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "emhana"
READS = {"now", "utcnow", "today"}
CLASSES = {"datetime", "date"}
ALLOWED = {
    "emhana/kernel/clock.py": "the clock itself",
}


def _is_date_class(node: ast.expr) -> bool:
    """`datetime`, `date`, `dt.datetime`, `datetime.date`, ... (the module or the class, however imported)."""
    if isinstance(node, ast.Name):
        return node.id in CLASSES
    return isinstance(node, ast.Attribute) and node.attr in CLASSES


def wall_clock_reads(source: str) -> list[int]:
    """Return the lines of a module's source that read (or hand on) the wall clock's date or time."""
    tree = ast.parse(source)
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in READS and _is_date_class(node.value)
    )


def scan() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = wall_clock_reads(path.read_text(encoding="utf-8"))
        if lines:
            found[path.relative_to(ROOT).as_posix()] = lines
    return found


def test_only_the_kernel_clock_reads_the_wall_clock() -> None:
    found = scan()
    offending = [f"{name}:{line}" for name, lines in found.items() if name not in ALLOWED for line in lines]
    assert not offending, "read the time from emhana.kernel.clock (now(), today()) instead:\n" + "\n".join(offending)


def test_the_allow_list_holds_only_modules_that_still_need_it() -> None:
    found = scan()
    stale = sorted(name for name in ALLOWED if name not in found)
    assert not stale, f"no wall-clock read left in {stale}: take them off ALLOWED"


def test_the_scan_sees_every_spelling() -> None:
    source = (
        "import datetime as dt\nfrom datetime import date, datetime\nimport datetime as d2\n"
        "a = dt.datetime.now(dt.UTC)\nb = dt.date.today()\nc = datetime.utcnow()\nd = date.today()\n"
        "e = d2.datetime.now\nf = dt.datetime.fromisoformat('2025-01-01')\n"
    )
    assert wall_clock_reads(source) == [4, 5, 6, 7, 8]
