"""Notices of the attachment campaign: the messages of its decisions and the attachment notice (A-54, A-100).

What each decision tells whom through the notify outbox (``events``, and ``approval_rows`` on the approval's
hot path), their texts (``templates``), and the attachment notice itself, an e-document issued, sealed and
signed once per decided application (``issue``, ``pdf``, ``signer``, ``models``, ``signable``).

Importing this package registers the attachment templates with emhana.notify.templates: their renderer and,
for the message of a decision, the notice PDF as its enclosure, and registers the notice as a signable record
with emhana.trust.signatures.records. Notify itself knows no attachment.
"""

from emhana.attachment.notice import signable as signable  # registers the notice as a signable record
from emhana.attachment.notice.issue import enclosure
from emhana.attachment.notice.templates import NOTICE_TEMPLATES, Template, render
from emhana.notify.templates import register

for _template in Template:
    register(_template.value, render, enclose=enclosure if _template in NOTICE_TEMPLATES else None)
