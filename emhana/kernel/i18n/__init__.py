"""kk / ru / en catalogues (Babel .po files read at start-up) and language negotiation."""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("kk", "ru", "en")
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
CATALOGUE_DIR = Path(__file__).parent


def N_(message: str) -> str:
    """Mark a string for extraction into the catalogues (keyword ``N_`` of ``pybabel extract``) without
    translating it here."""
    return message


def po_path(lang: str) -> Path:
    """Return the path of a language's catalogue."""
    return CATALOGUE_DIR / lang / "LC_MESSAGES" / "messages.po"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """Return the compiled translations of a language (compiled in memory from the .po file)."""
    if lang not in LANGUAGES or not po_path(lang).exists():
        return gettext.NullTranslations()
    with po_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain="messages")


def gettext_for(lang: str, message: str) -> str:
    """Translate one message into a language."""
    return translations(lang).gettext(message)


class Localized(str):
    """A message parameter known in every language (a catalogue item's kk/ru/en name): the plain string is the
    English text; ``translate`` puts in the text of the language it renders."""

    texts: dict[str, str]

    def __new__(cls, texts: dict[str, str]) -> Localized:
        obj = super().__new__(cls, texts.get("en", ""))
        obj.texts = dict(texts)
        return obj

    def in_language(self, lang: str) -> str:
        """Return the text in a language (English when it has none)."""
        return self.texts.get(lang) or str(self)


def translate(lang: str, template: str, params: dict[str, Any] | None = None) -> str:
    """Translate a message template and fill in its parameters (``Localized`` ones in the same language, and a
    ``reason``, itself a catalogue message, translated too: pages and problem+json say the same)."""
    text = gettext_for(lang, template)
    if not params:
        return text
    params = {
        k: v.in_language(lang) if isinstance(v, Localized) else gettext_for(lang, v) if k == "reason" and v else v
        for k, v in params.items()
    }
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def all_languages(template: str, params: dict[str, Any] | None = None) -> dict[str, str]:
    """Return a message in every language."""
    return {lang: translate(lang, template, params) for lang in LANGUAGES}


def parse_accept_language(header: str | None) -> str | None:
    """Pick the best supported language of an Accept-Language header, or None."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        q = 1.0
        for p in pieces[1:]:
            p = p.strip()
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        primary = tag.split("-")[0]
        if primary in LANGUAGES and q > 0:
            choices.append((-q, index, primary))
    if not choices:
        return None
    return sorted(choices)[0][2]


def negotiate(query: str | None, cookie: str | None, accept: str | None, default: str = "ru") -> str:
    """Choose the language: ?lang= first, then the cookie, then Accept-Language, then the default."""
    for candidate in (query, cookie):
        if candidate and candidate.lower() in LANGUAGES:
            return candidate.lower()
    return parse_accept_language(accept) or default
