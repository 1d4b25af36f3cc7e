"""The attachment notice as a PDF (fpdf2) in Kazakh or Russian, started by notify's document with its bundled font.

The same content gives the same bytes: the creation date is the issue time, and nothing random goes in.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from emhana.attachment.notice.templates import (
    LABELS,
    SEAL_CAPTION,
    SIGNATURE_PENDING,
    SIGNATURE_SIGNED,
    TITLE_ATTACHMENT,
    TITLE_REFUSAL,
)
from emhana.kernel.i18n import N_, translate
from emhana.notify.pdf import FONT, new_document

# the home-visit agreement of a person outside the service zone, one line of the notice.
CARE_AT_HOME_LABEL = N_("Home visits outside the service zone")
CARE_AT_HOME_VALUES = {True: N_("agreed"), False: N_("not agreed")}


@dataclass(frozen=True)
class NoticeContent:
    """What a notice says: facts at the time of the decision, in the recipient's language (no full IIN)."""

    number: str
    kind: str  # "attachment" or "refusal"
    language: str  # "kk" or "ru"
    issued_at: dt.datetime  # aware, Kazakhstan time
    entity: str
    site: str
    address: str
    district: str
    doctor: str
    person: str
    birth_date: dt.date
    iin_masked: str
    basis: str
    begin: dt.date | None
    reason_code: str | None
    reason: str | None
    note: str | None
    care_at_home: str | None = None  # A-26, in the notice's language; None inside the service zone


@dataclass(frozen=True)
class SignedBy:
    """The organization's accepted CMS signature of a notice (emhana.trust.signatures), as its signed copy states it."""

    signed_at: dt.datetime
    bin: str
    sha256: str  # of the notice PDF as issued: the bytes the signature's canonical form names


def _row(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font(FONT, "B", 10)
    pdf.cell(62, 7, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(0, 7, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _seal(pdf: FPDF, text: str, caption: str) -> None:
    """Print the QR seal (level Q, 40 mm: docs/credentials.md §6.2 asks 35-60 mm) with its caption beside it."""
    from emhana.trust.seals.kzmb1 import qr_png

    if pdf.get_y() + 44 > pdf.h - pdf.b_margin:
        pdf.add_page()
    top = pdf.get_y()
    pdf.image(io.BytesIO(qr_png(text, scale=4, mask=0)), x=pdf.l_margin, y=top, w=40, h=40)
    pdf.set_xy(pdf.l_margin + 44, top + 4)
    pdf.set_font(FONT, "", 8)
    pdf.multi_cell(0, 4.5, caption, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(top + 44)


def render(content: NoticeContent, *, seal: str | None = None, signed: SignedBy | None = None) -> bytes:
    """Return the PDF bytes of a notice; with `seal`, the organization's QR seal is printed at the end (A-54);
    with `signed`, the statement of the organization's signature replaces the pending one."""
    lang = content.language

    def t(msgid: str) -> str:
        return translate(lang, msgid)

    title = t(TITLE_ATTACHMENT if content.kind == "attachment" else TITLE_REFUSAL)
    pdf = new_document(title=title, author=content.entity, lang=lang, created=content.issued_at, margin=18)
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(0, 6, content.entity, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(0, 8, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    _row(pdf, t(LABELS["number"]), content.number)
    _row(pdf, t(LABELS["issued_at"]), content.issued_at.strftime("%d.%m.%Y %H:%M"))
    pdf.ln(2)
    _row(pdf, t(LABELS["person"]), content.person)
    _row(pdf, t(LABELS["birth_date"]), content.birth_date.strftime("%d.%m.%Y"))
    _row(pdf, t(LABELS["iin"]), content.iin_masked)
    pdf.ln(2)
    _row(pdf, t(LABELS["entity"]), content.entity)
    _row(pdf, t(LABELS["address"]), f"{content.site}, {content.address}" if content.address else content.site)
    _row(pdf, t(LABELS["district"]), content.district)
    _row(pdf, t(LABELS["doctor"]), content.doctor)
    _row(pdf, t(LABELS["basis"]), content.basis)
    if content.kind == "attachment" and content.begin is not None:
        _row(pdf, t(LABELS["begin"]), content.begin.strftime("%d.%m.%Y"))
    if content.kind == "attachment" and content.care_at_home is not None:
        _row(pdf, t(CARE_AT_HOME_LABEL), content.care_at_home)
    if content.kind == "refusal":
        pdf.ln(2)
        _row(pdf, t(LABELS["reason_code"]), content.reason_code or "")
        _row(pdf, t(LABELS["reason"]), content.reason or "")
    if content.note:
        _row(pdf, t(LABELS["note"]), content.note)
    pdf.ln(8)
    if seal is not None:
        _seal(pdf, seal, t(SEAL_CAPTION))
    pdf.set_font(FONT, "", 8)
    statement = (
        t(SIGNATURE_PENDING)
        if signed is None
        else translate(
            lang,
            SIGNATURE_SIGNED,
            {
                "day": signed.signed_at.astimezone(content.issued_at.tzinfo).strftime("%d.%m.%Y %H:%M"),
                "bin": signed.bin,
                "sha256": signed.sha256,
            },
        )
    )
    pdf.multi_cell(0, 5, statement, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
