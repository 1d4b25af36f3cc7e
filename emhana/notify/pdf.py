"""The start of every PDF the registry issues (fpdf2): A4, its metadata and the bundled DejaVu Sans font.

The font files ship in ``emhana/notify/fonts`` (licence beside them): DejaVu Sans covers the Kazakh
letters ә ғ қ ң ө ұ ү һ і. System fonts are never read. The attachment notice (emhana.attachment.notice.pdf)
and the medical book (emhana.medbook.pdf) both start here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fpdf import FPDF

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVu"


def new_document(*, title: str, author: str, lang: str, created: dt.datetime, margin: float) -> FPDF:
    """Return an A4 document with its metadata, the bundled DejaVu fonts (they cover the Kazakh letters) and a
    first page; the notice and the medical book both start this way."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(created)
    pdf.set_lang(lang)
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creator("emhana")
    pdf.set_producer("emhana")
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(margin, margin, margin)
    pdf.add_page()
    return pdf
