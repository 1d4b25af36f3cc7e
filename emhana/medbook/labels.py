"""Labels of medical-book values as msgids (kk/ru/en catalogues), shared by the pages and the PDF, and the
kk/ru/en names of catalogue items and groups as message parameters, so no raw code reaches a reader."""

from __future__ import annotations

from collections.abc import Iterable

from emhana.kernel.i18n import LANGUAGES, N_, Localized, gettext_for
from emhana.medbook.catalogue import group_names, item_names
from emhana.medbook.rules import ClearanceStatus, EntryKind

KINDS = {
    EntryKind.SPECIALIST_EXAM.value: N_("Specialist examination"),
    EntryKind.LAB_RESULT.value: N_("Laboratory test"),
    EntryKind.XRAY.value: N_("X-ray / fluorography"),
    EntryKind.VACCINATION.value: N_("Vaccination"),
    EntryKind.PAST_INFECTION.value: N_("Past infectious disease"),
    EntryKind.SPECIALIST_DIAGNOSIS.value: N_("Specialist diagnosis"),
    EntryKind.CLEARANCE.value: N_("Work clearance"),
    EntryKind.REFERRAL.value: N_("Referral"),
}
RESULTS = {
    "negative": N_("negative"),
    "positive": N_("positive"),
    "normal": N_("no pathology"),
    "abnormal": N_("pathology found"),
}
STATUSES = {
    ClearanceStatus.GRANTED.value: N_("Cleared for work"),
    ClearanceStatus.REFUSED.value: N_("Clearance refused"),
    ClearanceStatus.SUSPENDED.value: N_("Clearance suspended"),
    ClearanceStatus.EXPIRED.value: N_("Clearance expired"),
    ClearanceStatus.NONE.value: N_("No clearance yet"),
}
FIELDS = {
    "kind": N_("Kind"),
    "item_code": N_("Item"),
    "performed_on": N_("Date"),
    "result": N_("Result"),
    "result_text": N_("Conclusion"),
    "codes": N_("Diagnosis codes"),
    "clinical_status": N_("Diagnosis status"),
}
PURPOSES = {
    "owner": N_("the owner reads their own book"),
    "examination": N_("medical examination"),
    "employer: clearance status": N_("employer: clearance status"),
    "download": N_("the owner downloads the book as a PDF"),
    "clearance reminders": N_("reminder that the work clearance ends soon"),
    "referral after an infection finding": N_("referral to the clinic after an infection finding"),
    "fhir": N_("the clinic's medical information system received the book"),
    "the organization's books": N_("the clinic's list of its medical books"),
}

NO_ITEMS = "—"


def item_label(code: str) -> Localized:
    """Return a catalogue item's name in every language (the code itself for an item the catalogue lacks)."""
    names = item_names().get(code, {})
    return Localized({lang: names.get(f"name_{lang}") or code for lang in LANGUAGES})


def items_label(codes: Iterable[str]) -> Localized:
    """Return several items' names joined in every language (a dash when there are none)."""
    labels = [item_label(code) for code in codes]
    return Localized({lang: ", ".join(x.in_language(lang) for x in labels) or NO_ITEMS for lang in LANGUAGES})


def kind_label(kind: str) -> Localized:
    """Return an entry kind's label in every language."""
    msgid = KINDS.get(kind)
    return Localized({lang: gettext_for(lang, msgid) if msgid else kind for lang in LANGUAGES})


def group_label(code: str) -> Localized:
    """Return a decreed group's name in every language (the code itself for a group the catalogue lacks)."""
    names = group_names().get(code, {})
    return Localized({lang: names.get(f"name_{lang}") or code for lang in LANGUAGES})
