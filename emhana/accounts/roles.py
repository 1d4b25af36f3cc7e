"""The roles of emhana users and the one matrix of what each role may do."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


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


class Can(StrEnum):
    """What a role may do, named for what it admits. Routes, pages and services ask ``roles_of`` and never
    list roles themselves; the services still check whose record it is (the citizen's own, the registrar's
    entity, the issuing organization)."""

    # accounts
    USE_ACCOUNT = "use_account"  # who am I, sign out
    ADMINISTER_FUND_ACCOUNTS = "administer_fund_accounts"  # the Fund appoints organizations' administrators
    ADMINISTER_ENTITY_STAFF = "administer_entity_staff"  # an organization's administrator: its own staff only
    REGISTER_CLIENT_APPS = "register_client_apps"  # MIS client applications: the Fund any, an administrator its own
    # a citizen's own records and requests
    SEE_OWN_RECORDS = "see_own_records"  # my person, my attachment, my medical book, who read my data
    SET_OWN_PREFERENCES = "set_own_preferences"  # the book's language, notification contacts
    APPLY_ON_PORTAL = "apply_on_portal"  # choose a clinic and apply on the portal (eGov channel)
    # identity
    READ_ANY_PERSON = "read_any_person"  # staff: read any person's identity data, find a person by IIN
    READ_PERSON = "read_person"  # a person and their representations (a citizen: their own or a child's)
    OVERSEE_READS = "oversee_reads"  # the Fund: accounts flagged for unusual read volume (issue 14)
    REGISTER_PERSON = "register_person"  # register a person, record a legal representation
    # attachment
    APPLY_FOR_ATTACHMENT = "apply_for_attachment"  # file an application (portal or in person)
    RECORD_WRITTEN_APPLICATION = "record_written_application"  # a registrar records a paper application
    DECIDE_APPLICATION = "decide_application"  # the queue of the registrar's entity and its decisions
    READ_APPLICATION = "read_application"
    READ_APPLICATION_DOCUMENTS = "read_application_documents"  # the scans of a written application
    READ_NOTICE = "read_notice"  # the signed notice of a decision
    READ_PERSON_ATTACHMENTS = "read_person_attachments"
    SEE_ENTITY_POPULATION = "see_entity_population"  # the people attached to the registrar's entity
    SET_CAMPAIGN_POLICY = "set_campaign_policy"
    ADMINISTER_ATTACHMENTS = "administer_attachments"  # detach, redistribute an entity's people, daily job
    COUNT_CAPITATION = "count_capitation"  # take, list and export capitation snapshots
    SEE_CAMPAIGN_FIGURES = "see_campaign_figures"  # the Fund's campaign dashboard
    # notifications
    OPERATE_OUTBOX = "operate_outbox"  # read the outbox and deliver it
    OVERSEE_JOBS = "oversee_jobs"  # the scheduled jobs' last runs, failures and the outbox's backlog (issue 16)
    # facilities
    KEEP_FACILITY_REGISTER = "keep_facility_register"  # register and import healthcare entities
    DECIDE_INCLUSION = "decide_inclusion"  # include an entity in the Fund's database or exclude it
    ADD_PRACTITIONER = "add_practitioner"
    KEEP_OWN_SITES = "keep_own_sites"  # an organization's administrator: its sites, districts, capacity, posts
    # medical books
    SET_DECREED_GROUPS = "set_decreed_groups"
    APPOINT_RESPONSIBLE_THERAPIST = "appoint_responsible_therapist"
    READ_APPOINTMENTS = "read_appointments"
    LINK_EMPLOYER = "link_employer"
    ISSUE_MEDBOOK = "issue_medbook"
    EXAMINE_FOR_MEDBOOK = "examine_for_medbook"  # the examination desk: find, read and fill in a book
    READ_MEDBOOK = "read_medbook"
    WRITE_MEDBOOK_ENTRY = "write_medbook_entry"  # by hand or from an MIS
    CORRECT_MEDBOOK_ENTRY = "correct_medbook_entry"
    GRANT_CLEARANCE = "grant_clearance"
    SEE_WORKERS_CLEARANCE = "see_workers_clearance"  # an employer: its workers' clearance status and dates
    SEE_MEDBOOK_REMINDERS = "see_medbook_reminders"
    RECEIVE_REFERRALS = "receive_referrals"
    # FHIR and the interoperability desk
    READ_FHIR_DIRECTORY = "read_fhir_directory"  # Organization, Location, Practitioner, PractitionerRole
    READ_FHIR_PATIENT = "read_fhir_patient"
    READ_FHIR_MEDBOOK = "read_fhir_medbook"  # Patient/$medbook
    SUBMIT_FHIR_BUNDLE = "submit_fhir_bundle"
    WATCH_INTEROP = "watch_interop"  # dead letters, sync status, the code map
    REPLAY_DEAD_LETTER = "replay_dead_letter"  # replay or discard a rejected bundle
    MAP_CODES = "map_codes"
    # trust: seals and record signatures
    MANAGE_SEALS = "manage_seals"  # revoke or supersede a QR seal of the actor's entity
    SIGN_MEDBOOK_ENTRY = "sign_medbook_entry"
    SIGN_NOTICE = "sign_notice"


MATRIX: Mapping[Can, frozenset[Role]] = MappingProxyType(
    {
        Can.USE_ACCOUNT: ALL_ROLES,
        Can.ADMINISTER_FUND_ACCOUNTS: frozenset({Role.FUND_ADMIN}),
        Can.ADMINISTER_ENTITY_STAFF: frozenset({Role.ENTITY_ADMIN}),
        Can.REGISTER_CLIENT_APPS: frozenset({Role.FUND_ADMIN, Role.ENTITY_ADMIN}),
        Can.SEE_OWN_RECORDS: frozenset({Role.CITIZEN}),
        Can.SET_OWN_PREFERENCES: frozenset({Role.CITIZEN}),
        Can.APPLY_ON_PORTAL: frozenset({Role.CITIZEN}),
        Can.READ_ANY_PERSON: frozenset({Role.REGISTRAR, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.FUND_ADMIN}),
        Can.READ_PERSON: frozenset(
            {Role.CITIZEN, Role.REGISTRAR, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.FUND_ADMIN}
        ),
        Can.REGISTER_PERSON: frozenset({Role.REGISTRAR, Role.FUND_ADMIN}),
        Can.OVERSEE_READS: frozenset({Role.FUND_ADMIN}),
        Can.APPLY_FOR_ATTACHMENT: frozenset({Role.CITIZEN, Role.REGISTRAR}),
        Can.RECORD_WRITTEN_APPLICATION: frozenset({Role.REGISTRAR}),
        Can.DECIDE_APPLICATION: frozenset({Role.REGISTRAR}),
        Can.READ_APPLICATION: frozenset({Role.CITIZEN, Role.REGISTRAR, Role.FUND_ADMIN}),
        Can.READ_APPLICATION_DOCUMENTS: frozenset({Role.REGISTRAR, Role.FUND_ADMIN}),
        Can.READ_NOTICE: frozenset({Role.CITIZEN, Role.REGISTRAR}),
        Can.READ_PERSON_ATTACHMENTS: frozenset(
            {Role.CITIZEN, Role.REGISTRAR, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.FUND_ADMIN}
        ),
        Can.SEE_ENTITY_POPULATION: frozenset({Role.REGISTRAR}),
        Can.SET_CAMPAIGN_POLICY: frozenset({Role.FUND_ADMIN}),
        Can.ADMINISTER_ATTACHMENTS: frozenset({Role.FUND_ADMIN}),
        Can.COUNT_CAPITATION: frozenset({Role.FUND_ADMIN}),
        Can.SEE_CAMPAIGN_FIGURES: frozenset({Role.FUND_ADMIN}),
        Can.OPERATE_OUTBOX: frozenset({Role.FUND_ADMIN}),
        Can.OVERSEE_JOBS: frozenset({Role.FUND_ADMIN}),
        Can.KEEP_FACILITY_REGISTER: frozenset({Role.FUND_ADMIN}),
        Can.DECIDE_INCLUSION: frozenset({Role.FUND_ADMIN}),
        Can.ADD_PRACTITIONER: frozenset({Role.FUND_ADMIN, Role.ENTITY_ADMIN}),
        Can.KEEP_OWN_SITES: frozenset({Role.ENTITY_ADMIN}),
        Can.SET_DECREED_GROUPS: frozenset({Role.FUND_ADMIN}),
        Can.APPOINT_RESPONSIBLE_THERAPIST: frozenset({Role.FUND_ADMIN, Role.ENTITY_ADMIN}),
        Can.READ_APPOINTMENTS: frozenset(
            {Role.FUND_ADMIN, Role.ENTITY_ADMIN, Role.RESPONSIBLE_THERAPIST, Role.CLINICIAN}
        ),
        Can.LINK_EMPLOYER: frozenset({Role.FUND_ADMIN}),
        Can.ISSUE_MEDBOOK: frozenset({Role.RESPONSIBLE_THERAPIST}),
        Can.EXAMINE_FOR_MEDBOOK: frozenset({Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST}),
        Can.READ_MEDBOOK: frozenset({Role.CITIZEN, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST}),
        Can.WRITE_MEDBOOK_ENTRY: frozenset({Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.MIS_CLIENT}),
        Can.CORRECT_MEDBOOK_ENTRY: frozenset({Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST}),
        Can.GRANT_CLEARANCE: frozenset({Role.RESPONSIBLE_THERAPIST}),
        Can.SEE_WORKERS_CLEARANCE: frozenset({Role.EMPLOYER}),
        Can.SEE_MEDBOOK_REMINDERS: frozenset({Role.FUND_ADMIN, Role.RESPONSIBLE_THERAPIST, Role.EMPLOYER}),
        Can.RECEIVE_REFERRALS: frozenset({Role.REGISTRAR, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST}),
        Can.READ_FHIR_DIRECTORY: frozenset(
            {
                Role.MIS_CLIENT,
                Role.CLINICIAN,
                Role.RESPONSIBLE_THERAPIST,
                Role.REGISTRAR,
                Role.ENTITY_ADMIN,
                Role.FUND_ADMIN,
            }
        ),
        Can.READ_FHIR_PATIENT: frozenset(
            {Role.MIS_CLIENT, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.REGISTRAR, Role.FUND_ADMIN}
        ),
        Can.READ_FHIR_MEDBOOK: frozenset({Role.MIS_CLIENT, Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST}),
        Can.SUBMIT_FHIR_BUNDLE: frozenset({Role.MIS_CLIENT}),
        Can.WATCH_INTEROP: frozenset({Role.FUND_ADMIN, Role.ENTITY_ADMIN, Role.MIS_CLIENT}),
        Can.REPLAY_DEAD_LETTER: frozenset({Role.FUND_ADMIN, Role.ENTITY_ADMIN}),
        Can.MAP_CODES: frozenset({Role.FUND_ADMIN}),
        Can.MANAGE_SEALS: frozenset({Role.ENTITY_ADMIN, Role.RESPONSIBLE_THERAPIST, Role.FUND_ADMIN}),
        Can.SIGN_MEDBOOK_ENTRY: frozenset({Role.CLINICIAN, Role.RESPONSIBLE_THERAPIST, Role.MIS_CLIENT}),
        Can.SIGN_NOTICE: frozenset({Role.ENTITY_ADMIN, Role.REGISTRAR}),
    }
)


def roles_of(*capabilities: Can) -> frozenset[Role]:
    """Return the roles that hold any of the capabilities."""
    return frozenset().union(*(MATRIX[c] for c in capabilities))


def may(role: Role, capability: Can) -> bool:
    """Tell whether a role holds a capability."""
    return role in MATRIX[capability]
