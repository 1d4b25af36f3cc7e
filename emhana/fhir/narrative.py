"""The human-readable part of the medical-book document (``$medbook``): FHIR narratives in the book's language.

Every entry resource and every Composition section carries a ``text`` with ``status`` ``generated`` and an XHTML
``div`` that a generic FHIR viewer shows as the book: date, the item in words (the catalogue's kk/ru names), the
result, a clearance with its validity, a correction's reason, the author. The language is the book's (kk or ru,
C-10; ``MedicalBook.language`` is required, so the request's language is never needed).

The XHTML follows FHIR's narrative rules (R4 §2.4 Narrative, invariants txt-1 and txt-2): one ``div`` in the
XHTML namespace, only the basic elements used here (div, p, b, table, thead, tbody, tr, th, td, ul, li, br), no
attributes but ``xmlns``, every text escaped, never empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from emhana.kernel.i18n import N_, gettext_for
from emhana.medbook.labels import KINDS, RESULTS, STATUSES, item_label

XHTML = "http://www.w3.org/1999/xhtml"
# The elements and attributes the narratives use: a subset of what FHIR allows in Narrative.div (txt-1).
ELEMENTS = frozenset({"div", "p", "b", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "br"})
ENTRY_NO = N_("Entry No. %(number)s")
DIAGNOSIS_STATUSES = {"active": N_("Active diagnosis"), "resolved": N_("Resolved diagnosis")}
NO_ENTRIES = "—"


def _t(lang: str, msgid: str, **params: object) -> str:
    text = gettext_for(lang, msgid)
    return text % params if params else text


def day(value: dt.date | None) -> str:
    """Return a day as the book writes it (dd.mm.yyyy), a dash for none."""
    return value.strftime("%d.%m.%Y") if value else "—"


@dataclass(frozen=True)
class Line:
    """One journal entry in words, in the book's language."""

    number: int
    kind: str
    day: str
    item: str
    result: str
    notes: tuple[str, ...]
    author: str


def line(
    lang: str,
    *,
    number: int,
    kind: str,
    item_code: str,
    performed_on: dt.date,
    result: str | None,
    result_text: str,
    clearance: str | None,
    valid_until: dt.date | None,
    diagnosis_status: str | None,
    diagnoses: Sequence[str],
    referral_to: str | None,
    supersedes: int | None,
    reason: str | None,
    author: str,
    retracted_by: int | None = None,
    retraction_reason: str | None = None,
) -> Line:
    """Return a journal entry's line: its item in words, and its result with a clearance's validity."""
    parts: list[str] = []
    if clearance:
        parts.append(_t(lang, STATUSES.get(clearance, clearance)))
        if valid_until:
            parts.append(_t(lang, "valid until %(day)s", day=day(valid_until)))
    elif result:
        parts.append(_t(lang, RESULTS.get(result, result)))
    if diagnosis_status in DIAGNOSIS_STATUSES:
        parts.append(f"{_t(lang, DIAGNOSIS_STATUSES[diagnosis_status])}: {'; '.join(diagnoses) or NO_ENTRIES}")
    if referral_to:
        parts.append(_t(lang, "Sent to %(organization)s", organization=referral_to))
    if result_text:
        parts.append(result_text)
    notes: list[str] = []
    if supersedes is not None:
        notes.append(
            _t(lang, "Corrects entry No. %(number)s. Reason: %(reason)s", number=supersedes, reason=reason or "")
        )
    if retracted_by is not None:  # entered in error (issue 17): the resource says entered-in-error
        notes.append(_t(lang, "Retracted as entered in error by entry No. %(number)s", number=retracted_by))
        notes.append(
            _t(
                lang,
                "Retracts entry No. %(number)s, entered in error. Reason: %(reason)s",
                number=number,
                reason=retraction_reason or "",
            )
        )
    item = item_label(item_code).in_language(lang) if item_code else ""
    return Line(
        number=number,
        kind=_t(lang, KINDS[kind]) if kind in KINDS else kind,
        day=day(performed_on),
        item=item,
        result="; ".join(parts) or NO_ENTRIES,
        notes=tuple(notes),
        author=author,
    )


def _div(body: str) -> dict[str, Any]:
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def entry_text(lang: str, entry: Line) -> dict[str, Any]:
    """Return the Narrative of one entry resource."""
    rows = [
        f"<p><b>{escape(entry.kind)}</b>: {escape(entry.item or NO_ENTRIES)}</p>",
        f"<p>{escape(_t(lang, ENTRY_NO, number=entry.number))}</p>",
        f"<p><b>{escape(_t(lang, 'Date'))}</b>: {escape(entry.day)}</p>",
        f"<p><b>{escape(_t(lang, 'Result'))}</b>: {escape(entry.result)}</p>",
        *(f"<p>{escape(note)}</p>" for note in entry.notes),
        f"<p><b>{escape(_t(lang, 'Author'))}</b>: {escape(entry.author or NO_ENTRIES)}</p>",
    ]
    return _div("".join(rows))


def section_text(lang: str, kind: str, entries: Iterable[Line]) -> dict[str, Any]:
    """Return the Narrative of a Composition section: a table of its entries (date, item, result or clearance)."""
    head = "Clearance" if kind == "clearance" else "Result"
    cells = (escape(_t(lang, "Date")), escape(_t(lang, "Item")), escape(_t(lang, head)))
    rows = []
    for e in entries:
        result = "<br/>".join(escape(x) for x in (e.result, *e.notes))
        rows.append(f"<tr><td>{escape(e.day)}</td><td>{escape(e.item or NO_ENTRIES)}</td><td>{result}</td></tr>")
    header = "".join(f"<th>{c}</th>" for c in cells)
    return _div(f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def book_text(
    lang: str, *, number: int, owner: str, organization: str, issued_on: dt.date, sections: Iterable[tuple[str, int]]
) -> dict[str, Any]:
    """Return the Composition's Narrative: the book, its owner and issuer, and the sections with their counts."""
    title = _t(lang, "Personal medical book No. %(number)s", number=number)
    listed = "".join(f"<li>{escape(name)}: {count}</li>" for name, count in sections)
    return _div(
        f"<p><b>{escape(title)}</b></p>"
        f"<p><b>{escape(_t(lang, 'Full name'))}</b>: {escape(owner or NO_ENTRIES)}</p>"
        f"<p><b>{escape(_t(lang, 'Issued by'))}</b>: {escape(organization or NO_ENTRIES)}, {escape(day(issued_on))}</p>"
        + (f"<ul>{listed}</ul>" if listed else "")
    )


def title(lang: str, number: int) -> str:
    """Return the book's title in its language."""
    return _t(lang, "Personal medical book No. %(number)s", number=number)


def kind_title(lang: str, kind: str) -> str:
    """Return a section's title: the entry kind in the book's language."""
    return _t(lang, KINDS[kind]) if kind in KINDS else kind
