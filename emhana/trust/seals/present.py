"""What a verdict's claims look like to a person (§6.6 step 7): Kazakhstan's dates and kk/ru/en labels, no raw codes.

A seal's times are instants (``exp`` of a medical-book seal is the start of the book's "valid until" day in
Kazakhstan), so a date shown in UTC can be the day before the one the book prints. Here every date is the day in
Kazakhstan's time (emhana.kernel.clock.KZ_TIME), written dd.mm.yyyy for pages and ISO for the JSON API; the
clearance and the notice kind are named by catalogue msgids, and the decreed groups by the names the caller
passes (the medical-book catalogue sits above trust). Pure: plain values in, plain values out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from emhana.kernel.clock import KZ_TIME
from emhana.kernel.i18n import N_, translate

# The same msgids as the medical book's statuses (emhana.medbook.labels.STATUSES), so the verifier and the book
# say the same words.
CLEARANCES = {
    "fit": N_("Cleared for work"),
    "not_fit": N_("Clearance refused"),
    "temporarily_not_fit": N_("Temporarily not cleared for work"),
}
NOTICE_KINDS = {
    "attachment": N_("Notification of attachment to a primary health care organization"),
    "refusal": N_("Reasoned refusal of attachment to a primary health care organization"),
}
# Claims shown for a medical-book seal and for an attachment notice, with their labels (never an IIN: none is
# in a seal). Labels are catalogue msgids.
CLEARANCE_ROWS = (
    ("name", N_("Name")),
    ("birth_date", N_("Birth date")),
    ("clearance", N_("Clearance")),
    ("categories", N_("Work categories")),
    ("valid_until", N_("Valid until")),
    ("facility_name", N_("Issued by")),
    ("issued_at", N_("Issued at")),
)
NOTICE_ROWS = (
    ("notice_number", N_("Notice number")),
    ("notice_kind", N_("Notice")),
    ("site", N_("Site")),
    ("begin_date", N_("Attached from")),
    ("facility_name", N_("Issued by")),
    ("issued_at", N_("Issued at")),
    ("valid_until", N_("Valid until")),
)
INSTANTS = ("issued_at", "valid_until")
DAYS = ("birth_date", "begin_date")
ZONE = "Asia/Almaty"  # the IANA name of Kazakhstan's single time (UTC+5 since 1 March 2024)


def kz_day(value: Any) -> dt.date | None:
    """Return Kazakhstan's date of an instant (aware datetime or ISO text ending in Z or an offset); a plain
    date, or ISO date text, is returned as it is; None for anything else."""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(KZ_TIME).date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return kz_day(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def day_text(value: Any) -> str:
    """Return a date as pages write it (dd.mm.yyyy, Kazakhstan's day), or the value itself when it is no date."""
    day = kz_day(value)
    return day.strftime("%d.%m.%Y") if day is not None else str(value)


def moment_text(moment: dt.datetime) -> str:
    """Return an instant as pages write it: dd.mm.yyyy HH:MM in Kazakhstan's time, with its offset."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(KZ_TIME).strftime("%d.%m.%Y %H:%M") + " (UTC+5)"


def _group(code: str, lang: str, groups: Mapping[str, Mapping[str, str]]) -> str:
    names = groups.get(code) or {}
    return names.get(f"name_{lang}") or names.get("name_ru") or code  # a group no catalogue knows keeps its code


def rows(
    shown: Mapping[str, Any] | None, lang: str, *, groups: Mapping[str, Mapping[str, str]]
) -> list[tuple[str, str]]:
    """Return the claims a page shows, as (label msgid, value in ``lang``): dates dd.mm.yyyy in Kazakhstan's
    time, the clearance, the notice kind and the decreed groups by their names; empty claims left out."""
    if not shown:
        return []
    out = []
    for key, label in NOTICE_ROWS if "notice_number" in shown else CLEARANCE_ROWS:
        value = shown.get(key)
        if value in (None, "", []):
            continue
        if key in INSTANTS or key in DAYS:
            text = day_text(value)
        elif key == "clearance":
            text = translate(lang, CLEARANCES[value]) if value in CLEARANCES else str(value)
        elif key == "notice_kind":
            text = translate(lang, NOTICE_KINDS[value]) if value in NOTICE_KINDS else str(value)
        elif key == "categories":
            text = "; ".join(_group(str(c), lang, groups) for c in value)
        else:
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        out.append((label, text))
    return out


def local_dates(shown: Mapping[str, Any] | None) -> dict[str, str]:
    """Return the Kazakhstan dates of a verdict's instants for the JSON API (``valid_until_local`` ...: ISO
    dates), beside the ISO instants it keeps; the zone is named by ``timezone``."""
    if not shown:
        return {}
    out = {f"{key}_local": day.isoformat() for key in INSTANTS if (day := kz_day(shown.get(key))) is not None}
    return {**out, "timezone": ZONE} if out else {}
