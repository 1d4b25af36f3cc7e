"""The kk and ru catalogues use the terms of docs/glossary.md: no forbidden variant, no English code inside a sentence.

The catalogues are read at test time (other work keeps adding messages), so a new message that says окно for the
campaign period, or puts ``attachment.already_attached`` inside a Kazakh sentence, fails here with its msgid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from emhana.kernel.i18n import po_path

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "docs" / "glossary.md"


@dataclass(frozen=True)
class Forbidden:
    """A variant the glossary forbids in one language; ``scope`` limits it to messages whose msgid matches, and
    ``unless`` allows a fixed phrase that contains it."""

    lang: str
    pattern: str
    use: str
    scope: str | None = None
    unless: str | None = None

    def hits(self, msgid: str, msgstr: str) -> bool:
        if self.scope and not re.search(self.scope, msgid, re.IGNORECASE):
            return False
        text = re.sub(self.unless, " ", msgstr, flags=re.IGNORECASE) if self.unless else msgstr
        return re.search(self.pattern, text, re.IGNORECASE) is not None


# One line per forbidden variant of docs/glossary.md (word starts are matched, so inflected forms are caught).
B = r"(?<![\w-])"
FORBIDDEN = (
    # attachment: бекіту, never бекіну or тіркелу for the act
    Forbidden("kk", B + r"бекін(?!ің)", "бекіту / бекітілген"),
    Forbidden("kk", B + r"тіркелу", "бекіту", scope=r"attach"),
    # campaign period: период прикрепления / бекіту кезеңі
    Forbidden("ru", B + r"(окн(о|а|е|ом|у)|окон)(?!\w)", "период прикрепления"),
    Forbidden("ru", B + r"срок(и|а|ов)? кампании", "период прикрепления"),
    Forbidden("kk", B + r"терезе", "бекіту кезеңі"),
    Forbidden("kk", B + r"науқан мерзім", "бекіту кезеңі"),
    # campaign rules: правила / қағидалар
    Forbidden("ru", B + r"политик", "правила", unless=r"политик\w* конфиденциальности"),
    Forbidden("kk", B + r"саясат", "қағидалар", unless=r"құпиялылық саясат\w*"),
    Forbidden("kk", B + r"ереже", "қағида / қағидалар"),
    # desk: рабочее место / жұмыс кабинеті
    Forbidden("kk", B + r"үстел", "жұмыс кабинеті"),
    # request body: тело запроса / сұрау мазмұны
    Forbidden("kk", B + r"дене(?!\w)|" + B + r"денес", "сұрау мазмұны", scope=r"request body|\bthe body\b"),
    # capitation snapshot: фиксация численности прикреплённого населения / бекітілген халық санын тіркеу
    Forbidden("ru", B + r"срез", "фиксация численности прикреплённого населения"),
    Forbidden("kk", B + r"кесінді", "бекітілген халық санын тіркеу"),
    # registration address vs residence
    Forbidden(
        "ru",
        r"постоянн\w+ мест\w* жительства",
        "адрес регистрации",
        unless=r"постоянное место жительства за рубеж",
    ),
    Forbidden("ru", r"мест\w* (постоянной |временной )?регистрации", "адрес регистрации / место временного проживания"),
    Forbidden("ru", r"временн\w+ мест\w* жительства", "место временного проживания"),
    Forbidden("ru", r"мест\w* фактического проживания|фактическ\w+ мест\w* проживания", "фактическое место жительства"),
    Forbidden("kk", r"тұрақты тіркелген|тұрақты тұратын жер", "тіркелген мекенжайы"),
    Forbidden("kk", r"уақытша тіркелген", "уақытша тұратын жері"),
)

# What is not a sentence: placeholders, API paths and URLs, e-mail-like and file names are cut before looking for
# codes. A CLI command ("emhana capitation snapshot") has no dot or underscore and so passes on its own.
NOT_PROSE = re.compile(r"\{[^}]*\}|%\([^)]*\)[sd]|\S*/\S*|\S+@\S+|\b\w+\.(po|json|csv|pdf|p12|pem|md)\b")
DOTTED_CODE = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*)+(?![\w.])")
SNAKE_CASE = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.])")  # an UPPER_CASE setting name passes


def english_codes(msgstr: str) -> list[str]:
    """Return the English codes and identifiers inside a message (nothing for a clean message)."""
    text = NOT_PROSE.sub(" ", msgstr)
    return DOTTED_CODE.findall(text) + SNAKE_CASE.findall(text)


def violations(lang: str, messages: dict[str, str]) -> list[str]:
    """Return one line per glossary violation in a language's messages (msgid -> msgstr)."""
    found = []
    for msgid, msgstr in messages.items():
        for rule in FORBIDDEN:
            if rule.lang == lang and rule.hits(msgid, msgstr):
                found.append(f"{lang}: {msgid!r}: {msgstr!r} matches {rule.pattern!r}; use «{rule.use}»")
        found.extend(f"{lang}: {msgid!r}: English code {code!r} in {msgstr!r}" for code in english_codes(msgstr))
    return found


def catalogue(lang: str) -> dict[str, str]:
    """Read a language's catalogue as msgid -> msgstr (plural forms joined)."""
    with po_path(lang).open("rb") as fh:
        cat = read_po(fh, locale=lang)
    out = {}
    for message in cat:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        msgstr = message.string if isinstance(message.string, str) else " ".join(message.string or ())
        if msgstr:
            out[msgid] = msgstr
    return out


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_catalogue_follows_the_glossary(lang: str) -> None:
    found = violations(lang, catalogue(lang))
    assert not found, "docs/glossary.md is not followed:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("lang", "msgid", "msgstr"),
    [
        ("ru", "The window opens", "Окно открывается"),
        ("ru", "Campaign window", "Сроки кампании"),
        ("kk", "The window closes", "Терезе жабылады"),
        ("kk", "as the policy says", "саясат бойынша"),
        ("kk", "Campaign policies", "Науқан ережелері"),
        ("kk", "Medical book desk", "Медициналық кітапшалар үстелі"),
        ("kk", "The body is larger than {limit} bytes.", "Дене {limit} байттан үлкен."),
        ("kk", "Capitation snapshots", "Жан басына шаққандағы кесінділер"),
        ("ru", "Capitation snapshots", "Срезы для подушевого норматива"),
        ("kk", "Attachment by the place of work", "Жұмыс орны бойынша бекіну"),
        ("kk", "Check an attachment notice", "Тіркелу туралы хабарламаны тексеріңіз"),
        ("ru", "permanent residence", "место постоянной регистрации"),
        ("ru", "Permanent residence", "Постоянное место жительства"),
        ("ru", "Temporary residence", "Временное место жительства"),
        ("ru", "actual residence", "место фактического проживания"),
        ("kk", "permanent residence", "тұрақты тіркелген жері"),
        ("ru", "Refusals", "Отказы по причине attachment.already_attached"),
        ("kk", "Basis", "Негіз: place_basis"),
    ],
)
def test_a_forbidden_variant_or_a_code_is_caught(lang: str, msgid: str, msgstr: str) -> None:
    assert violations(lang, {msgid: msgstr})


@pytest.mark.parametrize(
    ("lang", "msgid", "msgstr"),
    [
        ("ru", "departure for permanent residence abroad", "выезд на постоянное место жительства за рубеж"),
        ("ru", "Change of residence", "Смена места жительства"),
        ("kk", "A person with this IIN is already registered.", "Осындай ЖСН бар адам бұрын тіркелген."),
        ("kk", "Body temperature", "Дене қызуы"),
        ("ru", "The Fund uses the API: POST /api/v1/attachment/policies.", "Фонд: POST /api/v1/attachment/policies."),
        ("ru", "Run emhana capitation snapshot.", "Выполните команду emhana capitation snapshot."),
        ("kk", "Hello {person_name}.", "Сәлем, {person_name}."),
        ("ru", "Bands", "Границы: %(code)s"),
    ],
)
def test_an_allowed_phrase_passes(lang: str, msgid: str, msgstr: str) -> None:
    assert violations(lang, {msgid: msgstr}) == []


def test_the_glossary_names_every_forbidden_term() -> None:
    text = GLOSSARY.read_text(encoding="utf-8")
    for word in ("окно", "терезе", "политика", "саясат", "үстел", "дене", "срез", "кесінді", "бекіну", "тіркелу"):
        assert word in text.lower(), word
