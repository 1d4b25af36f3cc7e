"""Notifications: a generic outbox, its delivery channels (log, SMTP) and the registry of message templates.

Messages are queued in the transaction of the decision that causes them, with the recipients' contacts and
languages (``outbox``); the delivery job (``service``) sends them through the channels wired from Settings;
``pdf`` starts every PDF with the bundled font; ``templates`` is where the processes above register their
message texts and enclosures. Notify imports no process: the attachment campaign (emhana.attachment.notice)
and the medical book (emhana.medbook.remind) register with it.
"""
