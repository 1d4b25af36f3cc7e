"""HL7 FHIR R4 door of emhana: read and search of the registry (Patient, Organization, Location,
Practitioner, PractitionerRole), inbound sync of MIS results into medical books with a dead-letter queue,
and a worker's medical book as a FHIR document Bundle.

Resources are validated with ``fhir.resources`` R4B models (R4B shares R4's shape for every resource used
here; the package ships no R4 4.0.1 models). Modules: ``systems`` (identifier and code system URIs),
``outcome`` (OperationOutcome errors), ``resources`` (registry rows as FHIR JSON), ``search`` (search
parameters and searchset Bundles), ``mapping`` (pure code-to-journal mapping rules), ``canonical`` (the
signed bytes), ``signature`` (the Provenance signature check), ``inbound`` (transaction ingest),
``deadletter`` (the queue, replay and sync status), ``outbound`` (the medical book document), ``api``.
"""
