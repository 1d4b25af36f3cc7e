"""The personal medical book as a PDF (fpdf2) in the owner's language, Kazakh or Russian (C-10, C-03).

It reproduces the book: owner data (C-11), the clearance mark with its validity (C-20, C-21), the journal with
superseded entries marked and corrections explained (C-41), each entry's signature state, and the facility's
QR seal when the clearance is current. The DejaVu Sans font is the one emhana.notify ships (never a copy).
"""

from __future__ import annotations

import datetime as dt
import io

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from emhana.kernel.clock import KZ_TIME
from emhana.kernel.i18n import N_, gettext_for
from emhana.medbook.labels import FIELDS, KINDS, RESULTS, STATUSES, item_label
from emhana.medbook.schemas import BookOut, EntryOut
from emhana.notify.pdf import FONT, new_document
from emhana.trust.seals.kzmb1 import qr_png

SEAL_CAPTION = N_("Seal of the medical organization: scan the QR code to check the clearance for work.")
NO_SEAL = N_("No seal: the book has no clearance for work in force.")
PENDING_GRANT = N_("A new clearance of %(day)s is recorded: it takes effect once its clinician signs it.")
AWAITING_SIGNATURE = N_("No seal yet: the clearance for work awaits its clinician's signature.")  # C-06
PRINTED_AT = N_("Printed on %(day)s")
CLINICAL_STATUSES = {"active": N_("Active diagnosis"), "resolved": N_("Resolved diagnosis")}
# A referral's state, in the words of the book's page (_book.html).
REFERRAL_STATES = {
    "no_target": N_("No receiving organization yet: the worker's address of residence is not known"),
    "sent": N_("Sent to %(organization)s"),
    "acknowledged": N_("Received by %(organization)s on %(day)s"),
}
SEAL_SIZE_MM = 45  # docs/credentials.md §6.2: 35–60 mm printed
SUPERSEDED = FontFace(color=(110, 110, 110))


def _t(lang: str, msgid: str, **params: object) -> str:
    text = gettext_for(lang, msgid)
    return text % params if params else text


def _day(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


def _moment(value: dt.datetime) -> str:
    """Return an instant in Kazakhstan's time with its zone, as the pages write it."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(KZ_TIME).strftime("%d.%m.%Y %H:%M") + " (UTC+5)"


def _row(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font(FONT, "B", 9)
    pdf.cell(55, 6, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, 6, value or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _result(lang: str, e: EntryOut) -> str:
    parts = []
    if e.clearance:
        parts.append(_t(lang, STATUSES.get(e.clearance, e.clearance)))
        if e.valid_until:
            parts.append(_t(lang, "valid until %(day)s", day=_day(e.valid_until)))
    elif e.result:
        parts.append(_t(lang, RESULTS.get(e.result.value, e.result.value)))
    if e.referral_state in REFERRAL_STATES:
        parts.append(
            _t(
                lang,
                REFERRAL_STATES[e.referral_state],
                organization=e.referral_entity_name or "",
                day=_day(e.referral_acknowledged_on),
            )
        )
    if e.result_text:
        parts.append(e.result_text)
    if e.clinical_status in CLINICAL_STATUSES:  # a diagnosis: its status and its codes by name, as the page shows
        parts.append(f"{_t(lang, CLINICAL_STATUSES[e.clinical_status])}: {'; '.join(e.diagnoses or e.codes)}")
    elif e.codes:
        parts.append(", ".join(e.codes))
    if e.retracted_by_id:  # issue 17: withdrawn by the MIS as entered in error
        parts.append(_t(lang, "Retracted as entered in error by entry No. %(number)s", number=e.retracted_by_id))
    elif not e.current:
        parts.append(_t(lang, "Superseded by entry No. %(number)s", number=e.superseded_by_id))
    if e.retracted:
        retracts = "Retracts entry No. %(number)s, entered in error. Reason: %(reason)s"
        parts.append(_t(lang, retracts, number=e.supersedes_id, reason=e.reason or ""))
    elif e.supersedes_id:
        parts.append(
            _t(lang, "Corrects entry No. %(number)s. Reason: %(reason)s", number=e.supersedes_id, reason=e.reason or "")
        )
        parts.extend(
            f"{_t(lang, FIELDS.get(c.field, c.field))}: {_value(lang, c.field, c.old)} → {_value(lang, c.field, c.new)}"
            for c in e.changes
        )
    return "\n".join(parts)


def _value(lang: str, field: str, value: object) -> str:
    """Return a changed field's value as the book shows it (C-41: the difference of a correction)."""
    if value is None or value == "" or value == []:
        return "—"
    if field == "result" and isinstance(value, str) and value in RESULTS:
        return _t(lang, RESULTS[value])
    if field == "kind" and isinstance(value, str) and value in KINDS:
        return _t(lang, KINDS[value])
    if field == "item_code" and isinstance(value, str):
        return item_label(value).in_language(lang)
    if field == "performed_on" and isinstance(value, str):
        return _day(dt.date.fromisoformat(value))
    return ", ".join(value) if isinstance(value, list) else str(value)


def render(book: BookOut, *, seal_text: str | None, printed_at: dt.datetime) -> bytes:
    """Return the PDF bytes of a book rendered in its language, with the seal's QR code if one is given."""
    lang = book.language.value
    title = _t(lang, "Personal medical book No. %(number)s", number=book.id)
    pdf = new_document(title=title, author=book.entity_name, lang=lang, created=printed_at, margin=15)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(0, 5, book.entity_name, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(0, 8, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    o = book.owner
    _row(pdf, _t(lang, "Full name"), " ".join(p for p in (o.surname, o.given_name, o.patronymic) if p))
    _row(pdf, _t(lang, "IIN"), o.iin)
    _row(pdf, _t(lang, "Date of birth"), _day(o.birth_date))
    if o.address:
        _row(pdf, _t(lang, "Address"), o.address)
    _row(pdf, _t(lang, "Profession"), book.profession)
    _row(pdf, _t(lang, "Position"), book.position)
    _row(pdf, _t(lang, "Workplace"), book.workplace)
    entrepreneur = book.employer_kind == "entrepreneur"  # an individual entrepreneur is named by IIN, not BIN
    _row(
        pdf,
        _t(lang, "Employer's IIN (individual entrepreneur)" if entrepreneur else "Employer's BIN (legal entity)"),
        book.employer_bin,
    )
    group = book.group_name + ("" if book.group_verified else f" ({_t(lang, 'unverified list')})")
    _row(pdf, _t(lang, "Decreed group"), group)
    _row(pdf, _t(lang, "Issued by"), f"{book.entity_name}, {_day(book.issued_on)}")
    pdf.ln(3)
    _clearance(pdf, book, lang, seal_text)
    pdf.ln(3)
    _journal(pdf, book, lang)
    pdf.ln(4)
    pdf.set_font(FONT, "", 7)
    pdf.multi_cell(0, 4, _t(lang, PRINTED_AT, day=_moment(printed_at)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _clearance(pdf: FPDF, book: BookOut, lang: str, seal_text: str | None) -> None:
    c = book.clearance
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 7, _t(lang, "Clearance for work"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    lines = [_t(lang, STATUSES[c.status.value])]
    if c.decided_on:
        lines.append(_t(lang, "decided on %(day)s", day=_day(c.decided_on)))
    if c.valid_until:
        lines.append(_t(lang, "valid until %(day)s", day=_day(c.valid_until)))
    marks = [
        e
        for e in book.entries
        if e.current and e.clearance and (e.clearance != "granted" or e.signature_state == "signed")
    ]  # the decision in force: a grant counts once signed (service.counts)
    mark = max(marks, key=lambda e: (e.performed_on, e.id)) if marks else None
    if mark is not None:
        lines.append(mark.signature_label)
    if c.pending_grant_on:
        lines.append(_t(lang, PENDING_GRANT, day=_day(c.pending_grant_on)))
    top = pdf.get_y()
    pdf.multi_cell(110, 6, "\n".join(lines), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if seal_text is None:
        pdf.set_font(FONT, "", 8)
        granted = c.pending_grant_on is not None
        pdf.multi_cell(
            110, 5, _t(lang, AWAITING_SIGNATURE if granted else NO_SEAL), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        return
    x = pdf.w - pdf.r_margin - SEAL_SIZE_MM
    pdf.image(io.BytesIO(qr_png(seal_text, scale=4)), x=x, y=top, w=SEAL_SIZE_MM, h=SEAL_SIZE_MM)
    pdf.set_font(FONT, "", 8)
    pdf.set_xy(pdf.l_margin, max(pdf.get_y(), top) + 2)
    pdf.multi_cell(105, 4, _t(lang, SEAL_CAPTION), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + SEAL_SIZE_MM + 2))


def _journal(pdf: FPDF, book: BookOut, lang: str) -> None:
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 7, _t(lang, "Journal"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 8)
    if not book.entries:
        pdf.multi_cell(0, 5, _t(lang, "The journal has no entries yet."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    heads = (
        "№",
        _t(lang, "Date"),
        _t(lang, "Kind"),
        _t(lang, "Item"),
        _t(lang, "Result"),
        _t(lang, "Author"),
        _t(lang, "Signature"),
    )
    with pdf.table(col_widths=(8, 20, 26, 32, 48, 26, 20), text_align="LEFT", line_height=4) as table:
        row = table.row()
        for head in heads:
            row.cell(head)
        for e in book.entries:
            # C-41: a superseded entry stays in the book, greyed and marked with the entry that replaced it.
            row = table.row(style=None if e.current else SUPERSEDED)
            for value in (
                str(e.id),
                _day(e.performed_on),
                _t(lang, KINDS[e.kind.value]),
                e.item_name,
                _result(lang, e),
                e.author_name,
                e.signature_label,
            ):
                row.cell(value)
