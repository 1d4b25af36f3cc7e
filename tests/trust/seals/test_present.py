"""The claims of a verdict as people read them: Kazakhstan's day (not the UTC one), dd.mm.yyyy, and every code by
its kk/ru/en name (clearance, notice kind, decreed group), for a medical-book seal and an attachment notice."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from emhana.medbook.catalogue import group_names
from emhana.trust.seals import present

BOOK = {
    "name": "СЕЙТҚАЛИ ДАНА",
    "birth_date": "1995-04-12",
    "clearance": "fit",
    "categories": ["decreed_2015", "catering"],
    "issued_at": "2025-12-02T20:30:00Z",  # 3 December 01:30 in Kazakhstan
    "valid_until": "2027-12-02T19:00:00Z",  # the start of 3 December 2027 in Kazakhstan
    "facility_name": "Емхана №3",
}
NOTICE = {
    "notice_number": "2025-00000042",
    "notice_kind": "refusal",
    "site": "Учаскелік емхана",
    "begin_date": "2026-01-01",
    "issued_at": "2025-09-10T05:00:00Z",
    "valid_until": "2026-09-10T05:00:00Z",
}


@pytest.mark.parametrize(
    ("lang", "cleared", "groups"),
    [
        ("kk", "Жұмысқа жіберілді", "Халықтың декреттелген тобы (2015 жылғы тексеру көлемі); Қоғамдық тамақтану"),
        ("ru", "Допущен к работе", "Декретированная группа населения (объём обследования 2015 года); Общественное"),
        ("en", "Cleared for work", "Decreed population group (2015 examination scope); Public catering"),
    ],
)
def test_a_book_seal_reads_in_kazakhstans_days_and_names(lang: str, cleared: str, groups: str) -> None:
    rows = dict(present.rows(BOOK, lang, groups=group_names()))
    assert rows["Valid until"] == "03.12.2027" and rows["Issued at"] == "03.12.2025"
    assert rows["Birth date"] == "12.04.1995" and rows["Clearance"] == cleared
    assert rows["Work categories"].startswith(groups)
    shown = " ".join(rows.values()).replace("Public catering", "")
    assert not re.search(r"\b(fit|decreed_2015|catering)\b|\d{4}-\d\d-\d\d", shown)


def test_a_notice_reads_its_kind_by_name_and_its_days_as_dd_mm_yyyy() -> None:
    rows = dict(present.rows(NOTICE, "ru", groups={}))
    assert rows["Notice"] == "Мотивированный отказ в прикреплении к организации первичной медико-санитарной помощи"
    assert rows["Attached from"] == "01.01.2026" and rows["Valid until"] == "10.09.2026"
    assert "refusal" not in " ".join(rows.values())


def test_other_statuses_unknown_codes_and_the_apis_local_dates() -> None:
    en = dict(present.rows(BOOK | {"clearance": "temporarily_not_fit", "categories": ["x9"]}, "en", groups={}))
    assert en["Clearance"] == "Temporarily not cleared for work" and en["Work categories"] == "x9"
    kk = dict(present.rows(BOOK | {"clearance": "temporarily_not_fit"}, "kk", groups={}))
    assert kk["Clearance"] == "Жұмысқа уақытша рұқсат етілмеген"
    assert present.local_dates(BOOK) == {
        "issued_at_local": "2025-12-03",
        "valid_until_local": "2027-12-03",
        "timezone": "Asia/Almaty",
    }
    assert present.rows(None, "en", groups={}) == [] and present.local_dates({"name": "x"}) == {}
    moment = dt.datetime(2025, 12, 2, 20, 30, tzinfo=dt.UTC)
    assert present.moment_text(moment) == "03.12.2025 01:30 (UTC+5)"
