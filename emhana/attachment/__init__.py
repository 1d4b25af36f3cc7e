"""The attachment campaign: policy, applications, attachments and transfers, capitation (DOMAIN.md §1)."""

from emhana.attachment import subscriptions as subscriptions  # subscribes to facilities' exclusions (A-94)
