"""The attachment campaign: policy, applications, attachments and transfers, capitation (docs/domain.md §1)."""

from emhana.attachment import notice as notice  # registers the notice templates and the notice as signable
from emhana.attachment import population as population  # tells identity who is an organization's population
from emhana.attachment import representation as representation  # tells both people of a new representation
from emhana.attachment import subscriptions as subscriptions  # subscribes to facilities' exclusions (A-94)
from emhana.attachment.application import signing as signing  # a portal application as signable
