"""Reading and writing the published list: every bad row with its line, nothing on any error."""

from __future__ import annotations

import csv
import json
from io import StringIO

from emhana.facilities import io
from emhana.facilities.rules import ROW_BIN, ROW_DISTRICTS, ROW_KATO, ROW_OUTSIDE, ROW_REQUIRED
from tests.builders.facilities import entity_record, site_record

KNOWN = {"710000000", "750000000"}


def csv_of(*records: io.EntityRecord) -> str:
    return io.write_csv(records)


def test_csv_round_trip() -> None:
    rec = entity_record()
    records, errors = io.read_csv(csv_of(rec).encode(), KNOWN)
    assert errors == []
    assert records == [rec]


def test_json_round_trip() -> None:
    rec = entity_record()
    data = json.dumps(io.to_json_obj([rec]), ensure_ascii=False, indent=2).encode()
    records, errors = io.read_json(data, KNOWN)
    assert errors == [] and records == [rec]


def test_entity_without_sites_round_trips() -> None:
    rec = entity_record(sites=[])
    assert io.read_csv(csv_of(rec).encode(), KNOWN) == ([rec], [])


def test_every_bad_row_is_reported_with_its_line() -> None:
    good = entity_record()
    text = csv_of(good).splitlines()
    header, row1, row2 = text[0], text[1], text[2]
    bad_bin = row1.replace("150340001236", "150340001237", 1)
    bad_kato = row2.replace(",710000000,", ",719999999,")
    lines = [header, row1, bad_bin, bad_kato]
    records, errors = io.read_csv("\n".join(lines).encode(), KNOWN)
    assert records == []
    found = {(e.line, e.template) for e in errors}
    assert (3, ROW_BIN) in found
    assert (4, ROW_KATO) in found


def test_outside_kazakhstan_and_bad_districts() -> None:
    rec = entity_record(sites=[site_record("S1", lat=10.0, lon=10.0)])
    text = csv_of(rec).replace("gp:1:1700;pediatric:2:900", "gp:x:1")
    _, errors = io.read_csv(text.encode(), KNOWN)
    assert {e.template for e in errors} == {ROW_OUTSIDE, ROW_DISTRICTS}
    assert all(e.line == 2 for e in errors)


def with_field(text: str, row: int, name: str, value: str) -> str:
    rows = list(csv.DictReader(StringIO(text)))
    rows[row][name] = value
    out = StringIO()
    writer = csv.DictWriter(out, fieldnames=io.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_missing_required_field() -> None:
    text = with_field(csv_of(entity_record()), 1, "name_ru", "")
    _, errors = io.read_csv(text.encode(), KNOWN)
    assert {(e.line, e.field, e.template) for e in errors} >= {(3, "name_ru", ROW_REQUIRED)}


def test_conflicting_rows_of_one_bin_and_duplicate_site_codes() -> None:
    rec = entity_record(sites=[site_record("S1"), site_record("S1")])
    _, errors = io.read_csv(csv_of(rec).encode(), KNOWN)
    assert [e.line for e in errors] == [3]
    text = csv_of(entity_record())
    lines = text.splitlines()
    lines[2] = lines[2].replace(",state,", ",private,", 1)
    _, errors = io.read_csv("\n".join(lines).encode(), KNOWN)
    assert [e.line for e in errors] == [3]


def test_json_errors_name_the_line_of_the_entity() -> None:
    good = io.to_json_obj([entity_record()])[0]
    bad = dict(good, bin="123")
    data = json.dumps([good, bad], indent=2, ensure_ascii=False)
    _, errors = io.read_json(data.encode(), KNOWN)
    second_line = data.splitlines().index("  {", 2) + 1
    assert {e.line for e in errors} == {second_line}


def test_malformed_files() -> None:
    assert io.read_json(b"{not json", KNOWN)[1][0].line == 0
    assert io.read_json(b'{"a": 1}', KNOWN)[1]
    assert io.read_json(b"[1, 2]", KNOWN)[1]
    assert io.read_csv(b"\xff\xfe\x00", KNOWN)[1]
    assert io.read_csv(b"a,b\n1,2\n", KNOWN)[1]
    assert io.read_csv(b"", KNOWN)[1]
    header = ",".join(io.COLUMNS)
    assert io.read_csv((header + "\n").encode(), KNOWN)[1]
    too_many = csv_of(entity_record()).splitlines()
    too_many[1] += ",extra"
    assert io.read_csv("\n".join(too_many).encode(), KNOWN)[1][0].line == 2


def test_individual_entrepreneur_uses_an_iin() -> None:
    rec = entity_record("880315301280", legal_form="individual_entrepreneur", ownership="private")
    assert io.read_csv(csv_of(rec).encode(), KNOWN)[1] == []
    rec = entity_record("880315301280")
    assert io.read_csv(csv_of(rec).encode(), KNOWN)[1]  # not a valid BIN structure
