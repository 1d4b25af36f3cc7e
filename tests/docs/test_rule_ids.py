"""Every rule ID the code cites is defined in the project's docs (docs/*.md).

The rules come from the domain research (docs/domain.md): A attachment, B database of healthcare entities,
C personal medical books, D identifiers. docs/credentials.md and docs/scale.md define no rule IDs of their own.
The package is walked at test time, so files may move without this test changing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "emhana"
DOCS = ROOT / "docs"
SCANNED_SUFFIXES = frozenset({".py", ".html", ".po"})

# The only prefixes the docs use for rules. An ID is one of these letters, a hyphen, 1-3 digits and an optional
# lower-case suffix, standing alone: no letter, digit or hyphen right before it, no letter or digit right after it
# and no "-<digit>" continuing it. So SHA-256, P-256, ICD-10, UTF-8, COVID-19, AES-GCM, GPL-3 and dates are not
# IDs, while malformed citations such as D-3 or A-52a are still caught (and reported, as the docs define neither).
RULE_PREFIXES = "ABCD"
RULE_ID = re.compile(rf"(?<![\w-])[{RULE_PREFIXES}]-\d{{1,3}}[a-z]?(?!\w|-\d)")

# A definition: the ID opens a table row, a list item (bulleted or numbered) or a heading, optionally in emphasis.
DEFINITION = re.compile(
    rf"^\s*(?:\|\s*|[-*+]\s+|\d+[.)]\s+|#{{1,6}}\s+)[*_`]*(?P<id>[{RULE_PREFIXES}]-\d{{1,3}}[a-z]?)(?![\w-])"
)


def defined_ids(markdown: str) -> set[str]:
    """Return the rule IDs a markdown text defines (at the start of a table row, list item or heading)."""
    return {match["id"] for line in markdown.splitlines() if (match := DEFINITION.match(line))}


def cited_ids(text: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, ID) for every rule ID cited in a text, in order."""
    for number, line in enumerate(text.splitlines(), start=1):
        for match in RULE_ID.finditer(line):
            yield number, match.group()


def undefined_citations(sources: Iterable[tuple[str, str]], defined: set[str]) -> list[str]:
    """Return "name:line: ID" for each citation in (name, text) sources whose ID is not in defined."""
    return [
        f"{name}:{number}: {rule_id}"
        for name, text in sources
        for number, rule_id in cited_ids(text)
        if rule_id not in defined
    ]


def docs_ids(docs: Path = DOCS) -> set[str]:
    """Return every rule ID defined in docs/*.md."""
    return set().union(*(defined_ids(path.read_text(encoding="utf-8")) for path in sorted(docs.glob("*.md"))))


def package_sources(package: Path = PACKAGE) -> Iterator[tuple[str, str]]:
    """Yield (path relative to the repository, text) of every scanned file under the package."""
    for path in sorted(package.rglob("*")):
        if path.suffix not in SCANNED_SUFFIXES or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError):  # moved or removed while the tree is being walked
            continue
        yield path.relative_to(ROOT).as_posix(), text


def test_docs_define_every_rule_prefix() -> None:
    defined = docs_ids()
    assert {rule_id[0] for rule_id in defined} == set(RULE_PREFIXES), sorted(defined)


def test_every_cited_rule_id_is_defined_in_docs() -> None:
    sources = list(package_sources())
    assert sources, f"no {sorted(SCANNED_SUFFIXES)} files under {PACKAGE}"
    assert any(True for _, text in sources for _ in cited_ids(text)), "no rule ID cited at all: is RULE_ID broken?"
    missing = undefined_citations(sources, docs_ids())
    assert not missing, "rule IDs cited but not defined in docs/*.md:\n" + "\n".join(missing)


def test_an_undefined_citation_is_reported() -> None:
    text = (
        '"""Refuse after hours (A-52, A-54)."""\n'
        "# Hash with SHA-256 over UTF-8; ICD-10 codes; P-256 keys; AES-GCM; GPL-3; COVID-19; ORG-100030215.\n"
        "x = 1  # see A-999, which no document defines\n"
        "# A-10..A-15 and D-22/D-23 are fine; D-3 is a misspelt citation\n"
    )
    defined = defined_ids("| A-52 | one working day | S33 | H |\n- **A-54** signed result\n")
    defined |= {"A-10", "A-15", "D-22", "D-23"}
    assert undefined_citations([("emhana/example.py", text)], defined) == [
        "emhana/example.py:3: A-999",
        "emhana/example.py:4: D-3",
    ]


@pytest.mark.parametrize(
    "text",
    ["SHA-256", "P-256", "ICD-10", "UTF-8", "UTF-16", "AES-256", "AES-GCM", "GPL-3", "COVID-19", "X-A-12", "A-12-3"],
)
def test_lookalikes_are_not_rule_ids(text: str) -> None:
    assert list(cited_ids(f"# {text} here")) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(A-52)", "A-52"),
        ("A-120/A-121", "A-120"),
        ("rules D-01..D-03", "D-01"),
        ("«C-06»", "C-06"),
        ("B-04:", "B-04"),
        ("A-52a", "A-52a"),
    ],
)
def test_citations_are_found(text: str, expected: str) -> None:
    assert [rule_id for _, rule_id in cited_ids(text)][0] == expected


def test_only_rows_items_and_headings_define() -> None:
    markdown = "\n".join(
        [
            "| A-01 | one organization | S20 | H |",
            "|A-02|by IIN|S5|H|",
            "- **A-03** principles",
            "* A-04 only listed entities",
            "1. C-10 language",
            "### D-20 KATO",
            "Running text that mentions B-05 does not define it.",
            "| Topic | see A-06 |",
            "- SHA-256 is not a rule",
        ]
    )
    assert defined_ids(markdown) == {"A-01", "A-02", "A-03", "A-04", "C-10", "D-20"}


OUTSIDE_DOCUMENT = re.compile(
    r"(?<![\w/])(?:DOMAIN|CREDENTIALS|SCALE|STACK|STYLE|PEERS|JOURNEYS)\.md|\.\./shared|/work/shared"
)


def outside_references(sources: Iterable[tuple[str, str]]) -> list[str]:
    """Return file:line of every reference to a document that is not in the repository."""
    return [
        f"{name}:{number}: {match.group(0)}"
        for name, text in sources
        for number, line in enumerate(text.splitlines(), start=1)
        for match in OUTSIDE_DOCUMENT.finditer(line)
    ]


def test_the_code_cites_only_documents_in_the_repository() -> None:
    assert outside_references(package_sources()) == []


def test_an_outside_reference_is_reported() -> None:
    found = outside_references([("emhana/x.py", "ok: docs/domain.md\nbad: DOMAIN.md §1\nbad: ../shared/data")])
    assert found == ["emhana/x.py:2: DOMAIN.md", "emhana/x.py:3: ../shared"]
