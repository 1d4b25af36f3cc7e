"""Every log record is masked of twelve-digit runs (IINs) before a handler writes it (emhana/kernel/logsafe.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from uvicorn.logging import AccessFormatter

from emhana.kernel import logsafe

IIN = "880315301280"


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """The records of a logger of this test, written through the process's record factory."""
    logsafe.install()
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = logging.getLogger("emhana.test.logsafe")
    handler = Keep()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)


def written(record: logging.LogRecord) -> str:
    return logging.Formatter("%(message)s").format(record)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"/persons/{IIN}", "/persons/************"),
        (f"q=7{IIN}9", "q=**************"),
        ("q=" + "".join(f"%{ord(d):02X}" for d in IIN), "q=************"),
        ("book 12345 of 2026-03-10", "book 12345 of 2026-03-10"),
        ("q=%D0%B0", "q=%D0%B0"),
    ],
)
def test_mask(text: str, expected: str) -> None:
    assert logsafe.mask(text) == expected


def test_every_logger_is_masked_in_message_arguments_exception_and_stack(records: list[logging.LogRecord]) -> None:
    log = logging.getLogger("emhana.test.logsafe")
    log.info("lookup of %s", IIN)
    log.info("lookup of %(iin)s", {"iin": IIN})
    log.info("lookup of %d", int(IIN))
    log.info(f"lookup of {IIN}")
    try:
        raise ValueError(f"no person {IIN}")
    except ValueError:
        log.exception("failed for %s", IIN, stack_info=True)
    lines = [written(r) for r in records]
    assert len(lines) == 5 and not any(IIN in line for line in lines), lines
    assert lines[0] == "lookup of ************" and "ValueError: no person ************" in lines[4]


def test_the_access_log_keeps_its_shape(records: list[logging.LogRecord]) -> None:
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/v1/persons/{IIN}?iin={IIN}", "1.1", 404),
        None,
    )
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '127.0.0.1:5000 - "GET /api/v1/persons/************?iin=************ HTTP/1.1" 404 Not Found'


def test_the_filter_masks_a_record_made_elsewhere() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "iin %s", (IIN,), None)
    assert logsafe.MaskIins().filter(record) and record.getMessage() == "iin ************"
