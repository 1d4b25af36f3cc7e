"""Catalogues and language negotiation: every extracted message is translated in kk, ru and en."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from emhana.identity.rules import REASON_PURPOSE_MISSING
from emhana.kernel.errors import PurposeRequired
from emhana.kernel.i18n import LANGUAGES, gettext_for, negotiate, parse_accept_language, po_path, translate

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
# {name} for str.format in Python messages, %(name)s for Jinja2's newstyle gettext in templates.
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|%\([A-Za-z_][A-Za-z0-9_]*\)[sd]")
KAZAKH_LETTERS = set("әғқңөұүһі")


@lru_cache(maxsize=1)
def extracted() -> dict[str, list[str]]:
    """Return every msgid that Babel extracts with babel.cfg, and the files it comes from."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)  # type: ignore[no-untyped-call]
    found: dict[str, list[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, []).append(filename)
    return found


@cache
def catalogue(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_extraction_finds_messages_of_python_and_templates() -> None:
    files = {f for where in extracted().values() for f in where}
    assert any(f.endswith(".py") for f in files)
    assert any(f.endswith(".html") for f in files)
    assert "Not found." in extracted() and "Log in" in extracted()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_without_fuzzy_entries(lang: str) -> None:
    cat = catalogue(lang)
    problems = []
    for msgid, where in extracted().items():
        entry = cat.get(msgid)
        if entry is None or not entry.string:
            problems.append(f"missing: {msgid!r} ({where[0]})")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif placeholders(str(entry.string)) != placeholders(msgid):
            problems.append(f"placeholders differ: {msgid!r} -> {entry.string!r}")
    assert not problems, f"{lang}: run pybabel extract -k N_ and fill the catalogue:\n" + "\n".join(problems)


def test_kazakh_and_russian_are_really_translated() -> None:
    kk, ru = catalogue("kk"), catalogue("ru")
    assert kk.get("BIN").string == "БСН" and ru.get("BIN").string == "БИН"  # type: ignore[union-attr]
    assert kk.get("GVFMC").string == "ТМККК" and ru.get("GVFMC").string == "ГОБМП"  # type: ignore[union-attr]
    assert kk.get("CSHI").string == "МӘМС" and ru.get("CSHI").string == "ОСМС"  # type: ignore[union-attr]
    kazakh = [m.string for m in kk if m.id and isinstance(m.string, str)]
    assert sum(1 for s in kazakh if KAZAKH_LETTERS & set(s.lower())) > len(kazakh) // 3
    same = [m.id for m in ru if m.id and m.string == m.id and re.search("[a-z]{4}", str(m.id))]
    assert not same, f"Russian entries left in English: {same}"


def test_translate_fills_parameters_in_each_language() -> None:
    template = "The coordinates {lat}, {lon} are outside Kazakhstan."
    assert translate("en", template, {"lat": 10, "lon": 71}) == "The coordinates 10, 71 are outside Kazakhstan."
    assert "10, 71" in translate("kk", template, {"lat": 10, "lon": 71})
    assert "за пределами Казахстана" in translate("ru", template, {"lat": 10, "lon": 71})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("kk", "kk"),
        ("kk-KZ", "kk"),
        ("RU-ru", "ru"),
        ("en-US,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,ru;q=0.8,kk;q=0.7", "ru"),
        ("ru;q=0.5,kk;q=0.9", "kk"),
        ("en;q=0.8,kk;q=0.8", "en"),  # equal q: the earlier one wins
        ("kk;q=0,ru;q=0.1", "ru"),  # q=0 means "not acceptable"
        ("kk;q=abc,ru;q=0.2", "ru"),  # a malformed q counts as 0
        ("fr, de, zh-CN", None),
        ("*", None),
    ],
)
def test_parse_accept_language(header: str | None, expected: str | None) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        ("kk", "ru", "en", "kk"),  # ?lang= beats the cookie
        (None, "en", "kk", "en"),  # the cookie beats Accept-Language
        (None, None, "kk,ru;q=0.5", "kk"),
        ("KK", None, None, "kk"),  # case-insensitive
        ("fr", "xx", "de", "ru"),  # nothing supported: the default
        ("fr", "en", None, "en"),  # an unsupported ?lang= falls through to the cookie
        (None, "tr", "en;q=0.3", "en"),
        (None, None, None, "ru"),
    ],
)
def test_negotiate_order(query: str | None, cookie: str | None, accept: str | None, expected: str) -> None:
    assert negotiate(query, cookie, accept) == expected


def test_negotiate_default_is_configurable() -> None:
    assert negotiate(None, None, None, default="kk") == "kk"


def test_problem_json_is_kazakh_for_a_kazakh_reader(client: TestClient) -> None:
    url = "/api/v1/facilities/near?lat=10&lon=71"
    kk = client.get(url, headers={"Accept-Language": "kk"})
    en = client.get(url, headers={"Accept-Language": "en"})
    assert kk.status_code == en.status_code == 422
    assert kk.headers["content-type"] == "application/problem+json"
    assert kk.json()["code"] == en.json()["code"] == "geo.outside_kazakhstan"
    assert kk.json()["detail"] != en.json()["detail"]
    assert "Қазақстан" in kk.json()["detail"] and "Kazakhstan" in en.json()["detail"]
    assert kk.headers["content-language"] == "kk"
    assert kk.json()["messages"]["ru"] == en.json()["messages"]["ru"]


def test_a_reason_parameter_is_translated_with_its_message() -> None:
    """A page renders a refusal with translate(); its ``reason``, a catalogue message, must not stay English."""
    exc = PurposeRequired(reason=REASON_PURPOSE_MISSING)
    for lang in ("kk", "ru"):
        text = translate(lang, exc.template(), exc.params)
        assert REASON_PURPOSE_MISSING not in text
        assert gettext_for(lang, REASON_PURPOSE_MISSING) in text
