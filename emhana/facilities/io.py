"""Read and write the published list of healthcare entities as CSV or JSON (pure, no database).

A CSV row is one site with its entity's columns repeated; an entity with no sites has empty site
columns. JSON is a list of entities with their sites nested. Both read into the same records; every
bad row is reported with its line number and reason, and a file with any bad row yields no records.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Container, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from emhana.facilities.rules import (
    FILE_EMPTY,
    FILE_MALFORMED,
    ROW_BIN,
    ROW_CHOICE,
    ROW_CONFLICT,
    ROW_DATE,
    ROW_DISTRICTS,
    ROW_DUPLICATE_SITE,
    ROW_IIN,
    ROW_KATO,
    ROW_NUMBER,
    ROW_OUTSIDE,
    ROW_PERIOD,
    ROW_REQUIRED,
    ROW_SHAPE,
    InclusionStatus,
    LegalForm,
    Ownership,
    Profile,
    SiteKind,
)
from emhana.identity.rules import bin_problem, iin_problem
from emhana.kernel import csvsafe
from emhana.reference.rules import in_kazakhstan

ENTITY_COLUMNS = (
    "bin",
    "name_kk",
    "name_ru",
    "legal_form",
    "ownership",
    "program_gobmp",
    "program_osms",
    "licence_number",
    "licence_issued_on",
    "licence_valid_until",
    "licence_subtypes",
    "sur_registered_on",
    "status",
    "status_from",
    "status_reason",
    "contract_from",
    "contract_to",
)
SITE_COLUMNS = (
    "site_code",
    "site_kind",
    "site_name_kk",
    "site_name_ru",
    "address_kk",
    "address_ru",
    "kato",
    "lat",
    "lon",
    "districts",
)
COLUMNS = ENTITY_COLUMNS + SITE_COLUMNS


@dataclass(frozen=True)
class DistrictRecord:
    profile: str
    number: int
    capacity: int


@dataclass
class SiteRecord:
    code: str
    kind: str
    name_kk: str
    name_ru: str
    address_kk: str
    address_ru: str
    kato: str
    lat: float
    lon: float
    districts: list[DistrictRecord] = field(default_factory=list)


@dataclass
class EntityRecord:
    bin: str
    name_kk: str
    name_ru: str
    legal_form: str
    ownership: str
    program_gobmp: bool
    program_osms: bool
    licence_number: str
    licence_issued_on: dt.date
    licence_valid_until: dt.date | None
    licence_subtypes: str
    status: str
    status_from: dt.date
    status_reason: str
    contract_from: dt.date | None
    contract_to: dt.date | None
    sites: list[SiteRecord] = field(default_factory=list)
    sur_registered_on: dt.date | None = None  # registered in the Resource Management System (СУР, C-04)

    def entity_key(self) -> tuple[Any, ...]:
        """Return the entity fields that must agree across rows of one BIN."""
        return tuple(v for k, v in asdict(self).items() if k != "sites")


ROW_CODES = {
    ROW_BIN: "identity.invalid_bin",
    ROW_IIN: "identity.invalid_iin",
    ROW_KATO: "reference.unknown_kato",
    ROW_OUTSIDE: "geo.outside_kazakhstan",
    FILE_MALFORMED: "facilities.malformed_file",
    FILE_EMPTY: "facilities.malformed_file",
    ROW_SHAPE: "facilities.malformed_file",
}


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    template: str
    params: dict[str, Any]

    def code(self) -> str:
        """Return the stable code of the error (the same codes as single requests use)."""
        return ROW_CODES.get(self.template, "facilities.bad_row")

    def as_problem(self) -> dict[str, Any]:
        """Return the error as an item of a problem+json ``errors`` list (messages filled by the door)."""
        return {
            "code": self.code(),
            "line": self.line,
            "field": self.field,
            "message_template": self.template,
            "params": self.params,
        }


class _Row:
    """Field readers for one row that collect errors instead of raising."""

    def __init__(self, line: int, data: dict[str, Any]) -> None:
        self.line, self.data, self.errors = line, data, list[RowError]()

    def fail(self, name: str, template: str, **params: Any) -> None:
        self.errors.append(RowError(self.line, name, template, params))

    def text(self, name: str, required: bool = True) -> str:
        value = self.data.get(name)
        value = "" if value is None else str(value).strip()
        if required and not value:
            self.fail(name, ROW_REQUIRED, field=name)
        return value

    def choice(self, name: str, choices: Iterable[str]) -> str:
        value = self.text(name)
        allowed = list(choices)
        if value and value not in allowed:
            self.fail(name, ROW_CHOICE, field=name, choices=", ".join(allowed))
        return value

    def date(self, name: str, required: bool = True) -> dt.date | None:
        value = self.text(name, required)
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(name, ROW_DATE, field=name)
            return None

    def number(self, name: str) -> float:
        value = self.text(name)
        if not value:
            return 0.0
        try:
            return float(value)
        except ValueError:
            self.fail(name, ROW_NUMBER, field=name)
            return 0.0

    def flag(self, name: str) -> bool:
        value = self.text(name, required=False).lower()
        if value in ("", "1", "true", "yes"):
            return True
        if value in ("0", "false", "no"):
            return False
        self.fail(name, ROW_CHOICE, field=name, choices="true, false")
        return False


def parse_districts(text: str) -> list[DistrictRecord] | None:
    """Parse ``gp:1:1700;pediatric:2:900`` into district records, or None if malformed."""
    out: list[DistrictRecord] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        pieces = part.split(":")
        if len(pieces) != 3 or pieces[0] not in Profile.__members__.values():
            return None
        try:
            number, capacity = int(pieces[1]), int(pieces[2])
        except ValueError:
            return None
        if number < 1 or capacity < 0:
            return None
        out.append(DistrictRecord(pieces[0], number, capacity))
    if len({d.number for d in out}) != len(out):
        return None
    return out


def format_districts(districts: Iterable[DistrictRecord]) -> str:
    """Format district records as ``gp:1:1700;pediatric:2:900``."""
    return ";".join(f"{d.profile}:{d.number}:{d.capacity}" for d in districts)


def read_row(line: int, data: dict[str, Any], known_kato: Container[str]) -> tuple[EntityRecord | None, list[RowError]]:
    """Check one flat row; return the entity (with at most one site) or the row's errors."""
    r = _Row(line, data)
    bin_ = r.text("bin")
    legal_form = r.choice("legal_form", [f.value for f in LegalForm])
    if bin_:
        # An individual entrepreneur is identified by IIN, every other entity by BIN (docs/domain.md §4.5).
        if legal_form == LegalForm.INDIVIDUAL_ENTREPRENEUR:
            reason = iin_problem(bin_)
            if reason:
                r.fail("bin", ROW_IIN, reason=reason)
        else:
            reason = bin_problem(bin_)
            if reason:
                r.fail("bin", ROW_BIN, reason=reason)
    record = EntityRecord(
        bin=bin_,
        name_kk=r.text("name_kk"),
        name_ru=r.text("name_ru"),
        legal_form=legal_form,
        ownership=r.choice("ownership", [o.value for o in Ownership]),
        program_gobmp=r.flag("program_gobmp"),
        program_osms=r.flag("program_osms"),
        licence_number=r.text("licence_number"),
        licence_issued_on=r.date("licence_issued_on") or dt.date.min,
        licence_valid_until=r.date("licence_valid_until", required=False),
        licence_subtypes=r.text("licence_subtypes", required=False),
        sur_registered_on=r.date("sur_registered_on", required=False),
        status=r.choice("status", [s.value for s in InclusionStatus]),
        status_from=r.date("status_from") or dt.date.min,
        status_reason=r.text("status_reason", required=False),
        contract_from=r.date("contract_from", required=False),
        contract_to=r.date("contract_to", required=False),
    )
    if record.contract_from and record.contract_to and record.contract_to < record.contract_from:
        r.fail("contract_to", ROW_PERIOD, field="contract_to", other="contract_from")
    if (
        record.licence_valid_until
        and record.licence_issued_on != dt.date.min
        and record.licence_valid_until < record.licence_issued_on
    ):
        r.fail("licence_valid_until", ROW_PERIOD, field="licence_valid_until", other="licence_issued_on")
    if any(str(data.get(c) or "").strip() for c in SITE_COLUMNS):
        kato = r.text("kato")
        if kato and kato not in known_kato:
            r.fail("kato", ROW_KATO, kato=kato)
        lat, lon = r.number("lat"), r.number("lon")
        if not r.errors or all(e.field not in ("lat", "lon") for e in r.errors):
            if not in_kazakhstan(lat, lon):
                r.fail("lat", ROW_OUTSIDE, lat=lat, lon=lon)
        districts = parse_districts(r.text("districts", required=False))
        if districts is None:
            r.fail("districts", ROW_DISTRICTS)
        record.sites.append(
            SiteRecord(
                code=r.text("site_code"),
                kind=r.choice("site_kind", [k.value for k in SiteKind]),
                name_kk=r.text("site_name_kk"),
                name_ru=r.text("site_name_ru"),
                address_kk=r.text("address_kk", required=False),
                address_ru=r.text("address_ru"),
                kato=kato,
                lat=lat,
                lon=lon,
                districts=districts or [],
            )
        )
    return (None, r.errors) if r.errors else (record, [])


def merge(rows: Iterable[tuple[int, EntityRecord]]) -> tuple[list[EntityRecord], list[RowError]]:
    """Group rows by BIN; rows of one BIN must agree on the entity and not repeat a site code."""
    by_bin: dict[str, EntityRecord] = {}
    codes: dict[str, set[str]] = {}
    errors: list[RowError] = []
    for line, rec in rows:
        current = by_bin.get(rec.bin)
        if current is None:
            by_bin[rec.bin] = current = EntityRecord(**{**asdict(rec), "sites": []})
            current.sites = []
            codes[rec.bin] = set()
        elif current.entity_key() != rec.entity_key():
            errors.append(RowError(line, "bin", ROW_CONFLICT, {}))
            continue
        for site in rec.sites:
            if site.code in codes[rec.bin]:
                errors.append(RowError(line, "site_code", ROW_DUPLICATE_SITE, {"code": site.code}))
                continue
            codes[rec.bin].add(site.code)
            current.sites.append(site)
    return list(by_bin.values()), errors


def _check(
    rows: Iterable[tuple[int, dict[str, Any]]], known_kato: Container[str]
) -> tuple[list[EntityRecord], list[RowError]]:
    good: list[tuple[int, EntityRecord]] = []
    errors: list[RowError] = []
    seen = False
    for line, data in rows:
        seen = True
        record, row_errors = read_row(line, data, known_kato)
        errors += row_errors
        if record is not None:
            good.append((line, record))
    if not seen:
        return [], [RowError(0, "", FILE_EMPTY, {})]
    records, merge_errors = merge(good)
    errors += merge_errors
    return ([], sorted(errors, key=lambda e: e.line)) if errors else (records, [])


def read_csv(data: bytes, known_kato: Container[str]) -> tuple[list[EntityRecord], list[RowError]]:
    """Read a CSV file (UTF-8, header row); return the records, or every bad row with its line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [RowError(0, "", FILE_MALFORMED, {"reason": f"not UTF-8 ({exc.reason})"})]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in ("bin", "name_ru", "status") if c not in header]
    if missing:
        return [], [RowError(1, missing[0], ROW_REQUIRED, {"field": missing[0]})]

    def rows() -> Iterable[tuple[int, dict[str, Any]]]:
        for row in reader:
            if None in row:
                yield reader.line_num, {"__shape__": True}
                continue
            if not any((v or "").strip() for v in row.values()):
                continue
            yield reader.line_num, {k: csvsafe.unguard(v) if isinstance(v, str) else v for k, v in row.items()}

    try:
        collected = list(rows())
    except csv.Error as exc:
        return [], [RowError(reader.line_num, "", FILE_MALFORMED, {"reason": str(exc)})]
    shaped = [RowError(line, "", ROW_SHAPE, {}) for line, row in collected if "__shape__" in row]
    if shaped:
        return [], shaped
    return _check(collected, known_kato)


def _json_elements(text: str) -> list[tuple[int, Any]]:
    """Return the elements of a top-level JSON array with the line each begins on."""
    decoder = json.JSONDecoder()
    i = _skip(text, 0)
    if i >= len(text) or text[i] != "[":
        raise ValueError("the top level must be a JSON array")
    i = _skip(text, i + 1)
    out: list[tuple[int, Any]] = []
    if i < len(text) and text[i] == "]":
        return out
    while True:
        value, end = decoder.raw_decode(text, i)
        out.append((text.count("\n", 0, i) + 1, value))
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < len(text) and text[i] == "]":
            if _skip(text, i + 1) != len(text):
                raise ValueError("extra data after the array")
            return out
        raise ValueError(f"expected , or ] at line {text.count(chr(10), 0, i) + 1}")


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def read_json(data: bytes, known_kato: Container[str]) -> tuple[list[EntityRecord], list[RowError]]:
    """Read a JSON array of entities with nested sites; errors name the line of the entity."""
    try:
        elements = _json_elements(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        return [], [RowError(0, "", FILE_MALFORMED, {"reason": str(exc)})]
    flat: list[tuple[int, dict[str, Any]]] = []
    for line, element in elements:
        if not isinstance(element, dict) or not isinstance(element.get("sites", []), list):
            flat.append((line, {"__shape__": True}))
            continue
        base = {k: _scalar(v) for k, v in element.items() if k != "sites" and k in ENTITY_COLUMNS}
        sites = element.get("sites") or []
        if not sites:
            flat.append((line, base))
        for site in sites:
            if not isinstance(site, dict):
                flat.append((line, {"__shape__": True}))
                continue
            row = dict(base)
            for k, v in site.items():
                key = k if k in SITE_COLUMNS else f"site_{k}" if f"site_{k}" in SITE_COLUMNS else None
                if key == "districts" and isinstance(v, list):
                    row[key] = ";".join(
                        f"{d.get('profile')}:{d.get('number')}:{d.get('capacity')}" for d in v if isinstance(d, dict)
                    )
                elif key is not None:
                    row[key] = _scalar(v)
            flat.append((line, row))
    shaped = [RowError(line, "", ROW_SHAPE, {}) for line, row in flat if "__shape__" in row]
    if shaped:
        return [], shaped
    return _check(flat, known_kato)


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def write_csv(records: Iterable[EntityRecord]) -> str:
    """Write records as CSV, one row per site (an entity without sites gets one row); a text that would start a
    spreadsheet formula is written guarded (emhana/kernel/csvsafe.py)."""
    buf = io.StringIO()
    writer = csvsafe.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        base = {k: _cell(v) for k, v in asdict(rec).items() if k in ENTITY_COLUMNS}
        if not rec.sites:
            writer.writerow(base)
        for s in rec.sites:
            writer.writerow(
                {
                    **base,
                    "site_code": s.code,
                    "site_kind": s.kind,
                    "site_name_kk": s.name_kk,
                    "site_name_ru": s.name_ru,
                    "address_kk": s.address_kk,
                    "address_ru": s.address_ru,
                    "kato": s.kato,
                    "lat": f"{s.lat:.6f}",
                    "lon": f"{s.lon:.6f}",
                    "districts": format_districts(s.districts),
                }
            )
    return buf.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def to_json_obj(
    records: Iterable[EntityRecord], extra: Callable[[EntityRecord], dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Return records as JSON-ready dicts (dates as ISO strings), the format read_json accepts."""
    out = []
    for rec in records:
        item = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(rec).items() if k != "sites"}
        item["sites"] = [
            {
                "code": s.code,
                "kind": s.kind,
                "name_kk": s.name_kk,
                "name_ru": s.name_ru,
                "address_kk": s.address_kk,
                "address_ru": s.address_ru,
                "kato": s.kato,
                "lat": s.lat,
                "lon": s.lon,
                "districts": [asdict(d) for d in s.districts],
            }
            for s in rec.sites
        ]
        if extra is not None:
            item.update(extra(rec))
        out.append(item)
    return out
