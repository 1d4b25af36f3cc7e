"""The attachment campaign: policy, applications, attachments and transfers, capitation (docs/domain.md §1)."""

from emhana.attachment import notice as notice  # registers the notice templates and the notice as signable
from emhana.attachment import subscriptions as subscriptions  # subscribes to facilities' exclusions (A-94)
