"""Personal medical books (жеке медициналық кітапша / личная медицинская книжка): decreed groups, the
journal, clearance and seals (docs/domain.md §3)."""

from emhana.medbook import population as population  # tells identity whose books the organization issued
from emhana.medbook import referrals as referrals  # registers the acknowledgement texts with emhana.notify.templates
from emhana.medbook import remind as remind  # registers the reminder texts with emhana.notify.templates
from emhana.medbook import signable as signable  # registers the journal entry as a signable record
from emhana.medbook import suspension as suspension  # registers the suspension texts with emhana.notify.templates
