"""The roles of emhana users."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    REGISTRAR = "registrar"
    CLINICIAN = "clinician"
    RESPONSIBLE_THERAPIST = "responsible_therapist"
    ENTITY_ADMIN = "entity_admin"
    FUND_ADMIN = "fund_admin"
    VERIFIER = "verifier"
    MIS_CLIENT = "mis_client"
    EMPLOYER = "employer"  # sees its workers' clearance status and dates only (medbook)


ALL_ROLES = frozenset(Role)
STAFF_ROLES = frozenset({Role.REGISTRAR, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.ENTITY_ADMIN})
