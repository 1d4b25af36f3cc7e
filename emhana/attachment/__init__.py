"""The attachment campaign: policy, applications, attachments and transfers, capitation (DOMAIN.md §1)."""
