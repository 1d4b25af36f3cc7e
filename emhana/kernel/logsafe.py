"""No IIN in any log line, whatever a client puts in a URL: every run of twelve digits (the shape of an IIN, and
of a BIN) (or more) is masked in log records before any handler or formatter sees them.

emhana keeps IINs out of its own URLs and log calls, but a client may put one in a path or a query string,
which uvicorn's access log prints as it came; an exception's text may carry one too. :func:`install` (called
by the app factory and the command line, so wherever the server is configured: ``emhana serve``, the demo,
``uvicorn --factory``) wraps the process's log-record factory, so that every record of every logger is masked
when it is made, whichever handler, formatter or log configuration then writes it; :class:`MaskIins` does the
same as a filter for a handler or a logger of a configuration of one's own. tests/hardening/test_no_iin_in_logs.py
searches everything a full run logged for every IIN of its database.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote

IIN_RUN = re.compile(r"\d{12,}")  # twelve digits, or an IIN hidden in a longer run
_FACTORY_MARK = "_emhana_masks_iins"
_FORMATTER = logging.Formatter()


def mask(text: str) -> str:
    """The text with every run of twelve or more digits masked (a percent-encoded one too, once decoded)."""
    if "%" in text:
        decoded = unquote(text)
        if IIN_RUN.search(decoded):
            text = decoded
    return IIN_RUN.sub(lambda m: "*" * len(m.group()), text)


def _masked_arg(value: Any) -> Any:
    return mask(value) if isinstance(value, str) else value


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a record in place: its message and arguments, the text of its exception and its stack."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: logging reports it when the record is written
        return record
    if mask(message) != message:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _masked_arg(v) for k, v in record.args.items()}
        try:
            leaks = mask(record.getMessage()) != record.getMessage()
        except Exception:
            leaks = True
        if leaks:  # carried by an argument that is not a string: write the masked message as it is
            record.msg, record.args = mask(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = mask(_FORMATTER.formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


class MaskIins(logging.Filter):
    """A logging filter that masks IINs in the records it passes (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def install() -> None:
    """Mask IINs in every log record the process makes from now on (idempotent), uvicorn's access log included."""
    current = logging.getLogRecordFactory()
    if not getattr(current, _FACTORY_MARK, False):

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return mask_record(current(*args, **kwargs))

        setattr(factory, _FACTORY_MARK, True)
        logging.setLogRecordFactory(factory)
    access = logging.getLogger("uvicorn.access")  # also when a record reaches it made by another factory
    if not any(isinstance(f, MaskIins) for f in access.filters):
        access.addFilter(MaskIins())
