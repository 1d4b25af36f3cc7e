"""Identifier and code system URIs of the FHIR door (documented in README.md, section "FHIR R4")."""

from __future__ import annotations

BASE = "https://fhir.emhana.kz"
IIN = f"{BASE}/sid/iin"  # a person's or practitioner's IIN (ЖСН / ИИН), 12 digits
BIN = f"{BASE}/sid/bin"  # an organization's BIN (БСН / БИН), 12 digits
SITE = f"{BASE}/sid/site-code"  # a site code within its entity: "<BIN>/<code>"
BOOK = f"{BASE}/sid/medical-book"  # a personal medical book id
ENTRY = f"{BASE}/sid/journal-entry"  # a journal entry id
KATO = f"{BASE}/sid/kato"  # KATO code of an address or site
ITEM = f"{BASE}/CodeSystem/medbook-item"  # local item codes of the decreed-group catalogue (therapist, ...)
KIND = f"{BASE}/CodeSystem/medbook-entry-kind"  # journal entry kinds (lab_result, xray, ...)
CLEARANCE = f"{BASE}/CodeSystem/work-clearance"  # granted / refused / suspended
SPECIALTY = f"{BASE}/CodeSystem/specialty"  # practitioner specialties as the entity database records them
ISSUE_CODE = f"{BASE}/CodeSystem/issue"  # stable emhana problem codes inside OperationOutcome.issue.details

LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
CVX = "http://hl7.org/fhir/sid/cvx"
SNOMED = "http://snomed.info/sct"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"  # Signature.type: 1.2.840.10065.1.12.1.1 = author's signature
AUTHOR_SIGNATURE = "1.2.840.10065.1.12.1.1"
