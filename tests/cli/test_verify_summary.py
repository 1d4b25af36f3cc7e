"""`emhana verify` prints its verdict as the verifier page does: the outcome word first, then the claims by their
labels and names (the clearance, the decreed groups), dates dd.mm.yyyy and times in Kazakhstan's time with its zone,
never UTC instants or codes."""

from __future__ import annotations

import datetime as dt

from emhana.cli.verify import summary
from emhana.trust.seals.verifier import Outcome, Result

SHOWN = {
    "name": "СЕЙТҚАЛИ ДАНА",
    "birth_date": "1995-04-12",
    "clearance": "fit",
    "categories": ["catering"],
    "issued_at": "2026-03-10T05:00:00Z",
    "valid_until": "2027-03-01T19:00:00Z",  # the start of 2 March 2027 in Kazakhstan
    "facility_name": "Городская поликлиника № 1",
    "facility_bin": "150340001236",
}


def test_the_summary_speaks_kazakhstan_time_and_labels() -> None:
    at = dt.datetime(2026, 12, 6, 6, 21, tzinfo=dt.UTC)
    line = summary(Result(Outcome.VALID, None, at, shown=SHOWN))
    assert line.split()[0] == "VALID"
    assert "Clearance: Cleared for work" in line and "Valid until: 02.03.2027" in line
    assert "Birth date: 12.04.1995" in line and "verified offline at 06.12.2026 11:21 (UTC+5)" in line
    assert "Work categories: Public catering" in line and "fit" not in line.split()
    assert "Z" not in line and "2027-03-01" not in line and "150340001236" not in line


def test_a_refusal_keeps_its_reason_word() -> None:
    at = dt.datetime(2026, 12, 6, 6, 21, tzinfo=dt.UTC)
    assert summary(Result(Outcome.MALFORMED, "bad_prefix", at)).startswith("MALFORMED (bad_prefix) — verified")
