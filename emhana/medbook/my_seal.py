"""The worker's seal on her own page: the QR code of the seal her book's PDF carries (``seal.seal_for``), as an
inline SVG big enough to scan from a phone, with the date it is valid until; when there is no seal, the reason
in words (awaiting the signature, suspended, expired, no clearance) instead of a code (C-20, C-21, C-30).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from emhana.kernel.i18n import N_
from emhana.medbook.models import MedicalBook
from emhana.medbook.rules import ClearanceStatus, status_on
from emhana.medbook.seal import SealIssuer, seal_for
from emhana.medbook.service import current_entries, latest_clearance, local_day, pending_grant
from emhana.trust.seals.kzmb1 import qr_code

QR_PIXELS = 320  # about 4 px a module for a seal's QR code: a phone reads it from the screen
NO_CLEARANCE = N_("No seal: the book has no clearance for work in force.")
AWAITING_SIGNATURE = N_(
    "No seal yet: the clearance for work awaits the responsible therapist's signature. The seal appears once it "
    "is signed."
)
SUSPENDED = N_("No seal: the clearance for work is suspended until the controls are negative.")
EXPIRED = N_("No seal: the clearance for work has expired.")
REFUSED = N_("No seal: clearance for work was refused.")
UNAVAILABLE = N_("The seal cannot be made at the moment: the organization has no signing key in force.")


@dataclass(frozen=True)
class SealView:
    """The seal to show (its SVG and its last day) or the reason there is none (a catalogue msgid)."""

    svg: str | None
    valid_until: dt.date | None
    reason: str | None


def svg_of(text: str, *, label: str = "") -> str:
    """Return an inline SVG of a seal's QR code, QR_PIXELS wide, with a white quiet zone."""
    svg = qr_code(text).svg_inline(
        scale=1, border=4, omitsize=True, dark="#000", light="#fff", svgclass="seal-qr-code", title=label or None
    )
    return svg.replace("<svg ", f'<svg width="{QR_PIXELS}" height="{QR_PIXELS}" role="img" ', 1)


def seal_view(
    session: Session, book: MedicalBook, *, now: dt.datetime, label: str = "", signers: SealIssuer | None = None
) -> SealView:
    """Return the worker's seal as her page shows it, or why there is none."""
    mark = latest_clearance(current_entries(session=session, book_id=book.id))
    text = seal_for(session, book, mark, now=now, signers=signers)
    if mark is not None and text is not None:
        return SealView(svg=svg_of(text, label=label), valid_until=mark.valid_until, reason=None)
    status = status_on(mark.clearance, mark.valid_until, local_day(now)) if mark is not None else ClearanceStatus.NONE
    if pending_grant(current_entries(session=session, book_id=book.id)) is not None:
        return SealView(None, None, AWAITING_SIGNATURE)  # a grant recorded, not yet signed: no seal says it
    if mark is None or status is ClearanceStatus.NONE:
        return SealView(None, None, NO_CLEARANCE)
    reason = {
        ClearanceStatus.SUSPENDED: SUSPENDED,
        ClearanceStatus.EXPIRED: EXPIRED,
        ClearanceStatus.REFUSED: REFUSED,
    }.get(status)
    if reason is None:  # granted and in force, yet no seal
        reason = AWAITING_SIGNATURE if mark.signature_state != "signed" else UNAVAILABLE
    return SealView(None, mark.valid_until, reason)
