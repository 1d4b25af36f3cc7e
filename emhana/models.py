"""Import every domain's tables so that the metadata is complete (Alembic, tests, the app and the CLI).

Importing the tables also registers the chained histories with ``emhana.trust.chain`` and installs its
session events, so every process that writes rows links them."""

from emhana.accounts import challenges as accounts_challenges
from emhana.accounts import models as accounts_models
from emhana.attachment import models as attachment_models
from emhana.attachment.notice import models as attachment_notice_models
from emhana.audit import models as audit_models
from emhana.facilities import models as facilities_models
from emhana.facilities import publication as facilities_publication
from emhana.fhir import bulk_models as fhir_bulk_models
from emhana.fhir import models as fhir_models
from emhana.fhir import versions as fhir_versions
from emhana.identity import models as identity_models
from emhana.jobs import models as jobs_models
from emhana.kernel.db import Base
from emhana.medbook import models as medbook_models
from emhana.notify import models as notify_models
from emhana.notify import seen as notify_seen
from emhana.reference import models as reference_models
from emhana.trust import models as trust_models
from emhana.trust.chain import links as chain_links
from emhana.trust.signatures import models as signatures_models

__all__ = [
    "Base",
    "accounts_challenges",
    "accounts_models",
    "attachment_models",
    "attachment_notice_models",
    "audit_models",
    "chain_links",
    "facilities_models",
    "facilities_publication",
    "fhir_bulk_models",
    "fhir_models",
    "fhir_versions",
    "identity_models",
    "jobs_models",
    "medbook_models",
    "notify_models",
    "notify_seen",
    "reference_models",
    "signatures_models",
    "trust_models",
]
