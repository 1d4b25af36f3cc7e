"""Labels of medical-book values as msgids (kk/ru/en catalogues), shared by the pages and the PDF."""

from __future__ import annotations

from emhana.kernel.i18n import N_
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
}
PURPOSES = {
    "owner": N_("the owner reads their own book"),
    "examination": N_("medical examination"),
    "employer: clearance status": N_("employer: clearance status"),
    "download": N_("the owner downloads the book as a PDF"),
    "clearance reminders": N_("reminder that the work clearance ends soon"),
    "referral after an infection finding": N_("referral to the clinic after an infection finding"),
    "fhir": N_("the clinic's medical information system received the book"),
}
