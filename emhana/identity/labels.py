"""Words shown for identity codes: relations, basis documents and purposes of reading (kk/ru/en catalogues)."""

from __future__ import annotations

from emhana.identity.rules import BasisDocument, ReadPurpose, RepresentationBasis
from emhana.kernel.i18n import N_

BASES = {
    RepresentationBasis.PARENT: N_("parent"),
    RepresentationBasis.GUARDIAN: N_("guardian"),
    RepresentationBasis.TRUSTEE: N_("trustee"),
    RepresentationBasis.FOSTER_CARER: N_("foster carer"),
    RepresentationBasis.POWER_OF_ATTORNEY: N_("representative by power of attorney"),
}
DOCUMENTS = {
    BasisDocument.BIRTH_CERTIFICATE: N_("birth certificate"),
    BasisDocument.ADOPTION_DECISION: N_("court decision on adoption"),
    BasisDocument.GUARDIANSHIP_DECISION: N_("decision to set up guardianship"),
    BasisDocument.TRUSTEESHIP_DECISION: N_("decision to set up trusteeship"),
}
PURPOSES = {
    ReadPurpose.CARE: N_("medical care of the person"),
    ReadPurpose.ATTACHMENT: N_("attachment application or transfer"),
    ReadPurpose.MEDBOOK: N_("examination for a personal medical book"),
    ReadPurpose.REFERRAL: N_("referral between organizations"),
    ReadPurpose.REPRESENTATION: N_("recording a legal representation"),
    ReadPurpose.OVERSIGHT: N_("control by the Fund"),
    ReadPurpose.REQUEST: N_("request of the person or of an entitled authority"),
    ReadPurpose.OTHER: N_("another purpose, described in words"),
}
