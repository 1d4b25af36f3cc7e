"""The attachment campaign: policy, applications, attachments and transfers, capitation (docs/domain.md §1)."""

from emhana.attachment import notice_signable as notice_signable  # registers the notice as signable
from emhana.attachment import subscriptions as subscriptions  # subscribes to facilities' exclusions (A-94)
