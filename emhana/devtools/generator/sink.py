"""Bulk writers of person rows (PostgreSQL COPY, SQLite executemany) and id reservation.

Every batch carries the hash-chain links of its rows: each person and each first attachment opens its own
chain (``emhana.trust.chain.bulk``), hashed while the batch is formatted and written with the rows in the
same transaction, so a generated register verifies clean without `emhana audit seal`. On PostgreSQL the links
are formatted straight into COPY text with one :class:`~emhana.trust.chain.bulk.Opener` per kind (the field
values each row hashes are laid out once, in the canonical order), the same hashes as ``chain_rows``; a batch
that other processes formatted is hashed from its COPY text (``chain_text``), the same links again.

A bulk load (``open_sink(..., bulk=True)``, PostgreSQL) writes every batch in one transaction on one connection
with the secondary indexes, unique constraints and foreign keys of the loaded tables set aside
(``emhana.devtools.generator.deferred``) and built again before the commit: all or nothing, and the schema
the migrations made is back when it commits (or, on any failure, never left it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import queue
import sys
import threading
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, text

from emhana.attachment.models import ATTACHMENT_CHAIN
from emhana.devtools.generator.attach import ATTACHMENT_COLUMNS, FIRST, RESIDENCE, AttachmentRow
from emhana.devtools.generator.deferred import LOADED_TABLES, defer, fixed_defaults, restore
from emhana.devtools.generator.people import (
    BULK_ADDRESS_COLUMNS,
    BULK_FIXED,
    BULK_PHONE_COLUMNS,
    AddressRow,
    PersonRow,
    PhoneRow,
)
from emhana.kernel import clock
from emhana.kernel.db import is_postgres
from emhana.trust.chain.bulk import HEAD_COLUMNS, LINK_COLUMNS, FreshChains, Opener, encode
from emhana.trust.chain.kinds import GENESIS, OPEN, PERSON

PERSON_COLUMNS = ("id", "iin", "surname", "given_name", "patronymic", "birth_date", "sex", "category")
ADDRESS_COLUMNS = (
    "id",
    "person_id",
    "kind",
    "text_kk",
    "text_ru",
    "kato_code",
    "kato_version",
    "lat",
    "lon",
    "valid_from",
    "valid_to",
)
PHONE_COLUMNS = ("id", "person_id", "number", "kind")
TABLES = (("person", PERSON_COLUMNS), ("person_address", ADDRESS_COLUMNS), ("person_phone", PHONE_COLUMNS))
ATTACHMENT_TABLE = ("attachment", (*ATTACHMENT_COLUMNS, "created_at"))
# The person's sex and birth date on each attachment row (migration 0037), written by the PostgreSQL sinks when
# the table has them (the database's trigger sets the same values; a bulk load switches it off).
PERSON_FIELDS = ("person_sex", "person_birth_date")
CHAIN_TABLES = (("chain_link", LINK_COLUMNS), ("chain_head", HEAD_COLUMNS))
NULL = "\\N"
Batch = tuple[bytes, ...]
# The bulk load's COPY layouts: every column whose value all the generated rows share is left out of the text
# and set as the column's default for the load's transaction (``bulk_fixed``; ``deferred.fixed_defaults`` puts
# the migrations' defaults back before it commits). Less text to format, send and parse, the same rows stored.
BULK_ATTACHMENT_COLUMNS = (
    "id",
    "person_id",
    "entity_id",
    "site_id",
    "district_id",
    "doctor_id",
    "begin_date",
    "insured_until",
    "decided_on",
)
BULK_LINK_COLUMNS = ("kind", "chain_key", "record_id", "record_hash", "link_hash")
BULK_HEAD_COLUMNS = ("kind", "chain_key", "head_hash")
# The open links of the generated rows: a person hashes all its identity fields (death_date NULL), a first
# attachment its opening fields (care_at_home NULL, so not hashed). chain_lines fills them in this order.
PERSON_OPENER = Opener(PERSON)
ATTACHMENT_OPENER = Opener(ATTACHMENT_CHAIN)
PERSON_ORDER = ("birth_date", "category", "death_date", "given_name", "iin", "patronymic", "sex", "surname")
ATTACHMENT_ORDER = (
    "application_id",
    "begin_date",
    "cause",
    "created_at",
    "created_by",
    "decided_on",
    "district_id",
    "doctor_id",
    "entity_id",
    "insured_until",
    "person_id",
    "place_basis",
    "site_id",
)
if PERSON_OPENER.order != PERSON_ORDER or ATTACHMENT_OPENER.order != ATTACHMENT_ORDER:
    raise RuntimeError("the hashed fields of person or attachment changed: update sink.chain_lines")


class PersonSink(Protocol):
    def write(
        self,
        persons: list[PersonRow],
        addresses: list[AddressRow],
        phones: list[PhoneRow],
        attachments: list[AttachmentRow] | None = None,
    ) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


def person_lines(rows: list[PersonRow]) -> str:
    """Format person rows in COPY text format (values carry no tab, newline or backslash)."""
    return "".join(
        f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{NULL if r[4] is None else r[4]}\t{r[5]}\t{r[6]}\t{r[7]}\n" for r in rows
    )


def address_lines(rows: list[AddressRow]) -> str:
    return "".join(
        f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[6]}\t{r[7]}\t{r[8]}\t{r[9]}\t{NULL}\n" for r in rows
    )


def phone_lines(rows: list[PhoneRow]) -> str:
    return "".join(f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\n" for r in rows)


def attachment_lines(rows: list[AttachmentRow], created_at: dt.datetime, persons: list[PersonRow] | None = None) -> str:
    """Open first attachments (end date, end reason, application and author always NULL), made at one moment.

    With ``persons`` (the batch's persons, whom the rows attach), each line ends with its person's sex and birth
    date (the columns of ``PERSON_FIELDS``, which a bulk load writes itself; see ``deferred.SET_BASED``)."""
    n, at = NULL, created_at.isoformat()
    if persons is None:
        return "".join(
            f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{n if r[5] is None else r[5]}\t{r[6]}\t{r[7]}\t{r[8]}"
            f"\t{n}\t{n}\t{n if r[11] is None else r[11]}\t{n}\t{r[13]}\t{n}\t{at}\n"
            for r in rows
        )
    person = _persons_by_id(persons)
    return "".join(
        f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{n if r[5] is None else r[5]}\t{r[6]}\t{r[7]}\t{r[8]}"
        f"\t{n}\t{n}\t{n if r[11] is None else r[11]}\t{n}\t{r[13]}\t{n}\t{at}\t{p[6]}\t{p[5]}\n"
        for r in rows
        for p in (person(r[1]),)
    )


def _persons_by_id(persons: list[PersonRow]) -> Callable[[int], PersonRow]:
    """Find a person of the batch by id: by position when the ids are consecutive (the generator's batches)."""
    first = persons[0][0] if persons else 0
    if persons and persons[-1][0] - first == len(persons) - 1:
        return lambda pid: persons[pid - first]
    return {p[0]: p for p in persons}.__getitem__


def bulk_fixed(at: dt.datetime) -> dict[str, dict[str, str | None]]:
    """The values every row of a bulk load shares, by table and column (None: NULL); the rows' columns that
    ``attachment_lines`` and ``chain_lines`` write and the bulk layouts leave out."""
    stamp = at.isoformat()
    return {
        **BULK_FIXED,
        "attachment": {
            "place_basis": RESIDENCE,
            "cause": FIRST,
            "end_date": None,
            "end_reason": None,
            "application_id": None,
            "created_at": stamp,
            "created_by": None,
        },
        "chain_link": {"seq": "1", "event": OPEN, "prev_hash": GENESIS, "linked_at": stamp},
        "chain_head": {"seq": "1"},
    }


def bulk_statements(person_fields: bool) -> list[str]:
    """The COPY statements of a bulk load's batch, in the order of its texts (``bulk_texts``, ``chain_text``)."""
    attachment: tuple[str, ...] = (*BULK_ATTACHMENT_COLUMNS, *(PERSON_FIELDS if person_fields else ()))
    tables = (
        ("person", PERSON_COLUMNS),
        ("person_address", BULK_ADDRESS_COLUMNS),
        ("person_phone", BULK_PHONE_COLUMNS),
        ("attachment", attachment),
        ("chain_link", BULK_LINK_COLUMNS),
        ("chain_head", BULK_HEAD_COLUMNS),
    )
    return [f"COPY {name} ({', '.join(cols)}) FROM STDIN" for name, cols in tables]


def bulk_attachment_lines(rows: list[AttachmentRow], persons: Callable[[int], tuple[str, str]] | None = None) -> str:
    """Attachments in the bulk layout (``BULK_ATTACHMENT_COLUMNS``; with ``persons``, a person id's sex and birth
    date, the columns of ``PERSON_FIELDS`` follow). The rows' other values are ``bulk_fixed``'s: a row that
    differs is refused."""
    n = NULL
    for r in rows:
        if (r[6], r[7], r[9], r[10], r[12], r[14]) != _FIXED_ATTACHMENT:
            raise ValueError(f"attachment {r[0]} is not an open first attachment on the permanent residence")
    if persons is None:
        return "".join(
            f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{n if r[5] is None else r[5]}\t{r[8]}"
            f"\t{n if r[11] is None else r[11]}\t{r[13]}\n"
            for r in rows
        )
    return "".join(
        f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{n if r[5] is None else r[5]}\t{r[8]}"
        f"\t{n if r[11] is None else r[11]}\t{r[13]}\t{p[0]}\t{p[1]}\n"
        for r in rows
        for p in (persons(r[1]),)
    )


_FIXED_ATTACHMENT = (RESIDENCE, FIRST, None, None, None, None)


def bulk_texts(
    persons: list[PersonRow],
    addresses: list[AddressRow],
    phones: list[PhoneRow],
    attachments: list[AttachmentRow],
    person_fields: bool,
) -> Batch:
    """A batch of rows in the bulk layouts: persons, addresses, phones, attachments (``PersonFactory.fill_lines``
    writes the first three straight away). Rows whose values differ from ``bulk_fixed``'s are refused."""
    for a in addresses:
        if (a[2], a[6], a[10]) != _FIXED_ADDRESS:
            raise ValueError(f"address {a[0]} is not a current permanent address of this KATO version")
    if any(t[3] != "mobile" for t in phones):
        raise ValueError("a phone of the batch is not a mobile")
    by_id = _persons_by_id(persons)
    return (
        person_lines(persons).encode(),
        "".join(f"{r[0]}\t{r[1]}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[7]}\t{r[8]}\t{r[9]}\n" for r in addresses).encode(),
        "".join(f"{r[0]}\t{r[1]}\t{r[2]}\n" for r in phones).encode(),
        bulk_attachment_lines(attachments, _sex_and_birth(by_id) if person_fields else None).encode(),
    )


def _sex_and_birth(by_id: Callable[[int], PersonRow]) -> Callable[[int], tuple[str, str]]:
    def of(pid: int) -> tuple[str, str]:
        p = by_id(pid)
        return p[6], p[5]

    return of


_FIXED_ADDRESS = tuple(BULK_FIXED["person_address"][c] for c in ("kind", "kato_version", "valid_to"))


def chain_rows(persons: list[PersonRow], attachments: list[AttachmentRow], at: dt.datetime) -> FreshChains:
    """The first link and head of every generated person's identity chain and attachment history."""
    chains = FreshChains(at)
    for p in persons:
        row = {
            "id": p[0],
            "iin": p[1],
            "surname": p[2],
            "given_name": p[3],
            "patronymic": p[4],
            "birth_date": p[5],
            "sex": p[6],
            "category": p[7],
            "death_date": None,
        }
        chains.open(PERSON, p[0], row)
    for a in attachments:
        row = dict(zip(ATTACHMENT_COLUMNS, a, strict=True))
        row["created_at"] = at
        row["care_at_home"] = None
        chains.open(ATTACHMENT_CHAIN, a[0], row)
    return chains


def chain_lines(persons: list[PersonRow], attachments: list[AttachmentRow], at: dt.datetime) -> tuple[str, str]:
    """The COPY text of ``chain_rows(persons, attachments, at)``: its links and its heads, in the same order."""
    enc, null = encode_basestring, "null"
    stamp, created = at.isoformat(), encode(at)
    pk, ak = PERSON.name, ATTACHMENT_CHAIN.name
    links: list[str] = []
    heads: list[str] = []
    link, head = links.append, heads.append
    hashes = PERSON_OPENER.hashes
    for p in persons:
        pid = p[0]
        patronymic = null if p[4] is None else enc(p[4])
        rec, lh = hashes(pid, pid, (enc(p[5]), enc(p[7]), null, enc(p[3]), enc(p[1]), patronymic, enc(p[6]), enc(p[2])))
        link(f"{pk}\t{pid}\t1\t{pid}\t{OPEN}\t{rec}\t{GENESIS}\t{lh}\t{stamp}\n")
        head(f"{pk}\t{pid}\t1\t{lh}\n")
    hashes = ATTACHMENT_OPENER.hashes
    for a in attachments:
        aid, person = a[0], a[1]
        opening = (
            null if a[12] is None else a[12],
            enc(a[8]),
            enc(a[7]),
            created,
            null if a[14] is None else a[14],
            enc(a[13]),
            a[4],
            null if a[5] is None else a[5],
            a[2],
            null if a[11] is None else enc(a[11]),
            person,
            enc(a[6]),
            a[3],
        )
        rec, lh = hashes(aid, person, opening)
        link(f"{ak}\t{person}\t1\t{aid}\t{OPEN}\t{rec}\t{GENESIS}\t{lh}\t{stamp}\n")
        head(f"{ak}\t{person}\t1\t{lh}\n")
    return "".join(links), "".join(heads)


# The bytes JSON escapes in a string but for the backslash (a quote, control characters): ``translate(None,
# _PLAIN)`` keeps only them. A backslash is found line by line: only NULLs may hold one.
_PLAIN = bytes(b for b in range(256) if (b >= 0x20 and b != ord('"')) or b in b"\t\n")


class _NotBare(Exception):
    """A line holds a value that JSON escapes (or COPY reads as an escape)."""


def _value(field: str) -> str | None:
    return None if field == NULL else field


def _number(field: str) -> int | None:
    return None if field == NULL else int(field)


def parse_persons(text: str) -> list[PersonRow]:
    """The rows of ``person_lines`` text (whose values hold no COPY escape)."""
    rows: list[PersonRow] = []
    for line in text.split("\n")[:-1]:
        f = line.split("\t")
        rows.append((int(f[0]), f[1], f[2], f[3], _value(f[4]), f[5], f[6], f[7]))
    return rows


def parse_attachments(text: str) -> list[AttachmentRow]:
    """The rows of ``bulk_attachment_lines`` text (whose values hold no COPY escape), ``bulk_fixed``'s values in
    the columns the layout leaves out."""
    rows: list[AttachmentRow] = []
    for line in text.split("\n")[:-1]:
        f = line.split("\t")
        if len(f) not in (9, 11):
            raise ValueError(f"an attachment line of {len(f)} fields")
        rows.append(
            (
                int(f[0]), int(f[1]), int(f[2]), int(f[3]), int(f[4]), _number(f[5]), RESIDENCE, FIRST, f[6], None,
                None, _value(f[7]), None, f[8], None,
            )
        )  # fmt: skip
    return rows


def chain_text(persons: bytes, attachments: bytes, at: dt.datetime) -> tuple[bytes, bytes]:
    """The COPY text (bulk layouts: ``BULK_LINK_COLUMNS``, ``BULK_HEAD_COLUMNS``) of the chain links and heads of a
    batch given as COPY text (``person_lines`` and ``bulk_attachment_lines``, as another process formatted them):
    ``chain_lines`` of its rows, in the bulk layouts (tests/devtools/generator/test_bulk_load.py compares them).

    The canonical record text is laid out here with the values taken from the lines as they are (a string is
    its characters between quotes, an int its digits, ``\\N`` null): one split, two f-strings and two SHA-256
    per person or attachment. A batch holding a character that JSON would escape goes through ``chain_lines``
    on its parsed rows."""
    if not (persons.translate(None, _PLAIN) or attachments.translate(None, _PLAIN)):
        try:
            return _bare_chain_text(persons.decode(), attachments.decode(), at)
        except _NotBare:
            pass
    links, heads = chain_lines(parse_persons(persons.decode()), parse_attachments(attachments.decode()), at)
    return bulk_links(links).encode(), bulk_heads(heads).encode()


def bulk_links(links: str) -> str:
    """``link_lines`` text in the bulk layout (``BULK_LINK_COLUMNS``)."""
    out = []
    for line in links.split("\n")[:-1]:
        f = line.split("\t")
        out.append(f"{f[0]}\t{f[1]}\t{f[3]}\t{f[5]}\t{f[7]}\n")
    return "".join(out)


def bulk_heads(heads: str) -> str:
    """``head_lines`` text in the bulk layout (``BULK_HEAD_COLUMNS``)."""
    out = []
    for line in heads.split("\n")[:-1]:
        f = line.split("\t")
        out.append(f"{f[0]}\t{f[1]}\t{f[3]}\n")
    return "".join(out)


def _bare_chain_text(persons: str, attachments: str, at: dt.datetime) -> tuple[bytes, bytes]:
    """``chain_text`` of lines whose values hold no quote nor control character; raises ``_NotBare`` at a line
    holding a backslash anywhere but in a NULL (``\\N``) of a field that may be NULL."""
    sha, n = hashlib.sha256, NULL
    g, opened = GENESIS, OPEN
    pk, ak = PERSON.name, ATTACHMENT_CHAIN.name
    links: list[str] = []
    heads: list[str] = []
    link, head = links.append, heads.append
    for line in persons.split("\n")[:-1]:
        pid, iin, surname, given, patronymic, birth, sex, category = line.split("\t")
        if line.count("\\") != (patronymic == n):
            raise _NotBare
        patronymic = "null" if patronymic == n else f'"{patronymic}"'
        rec = sha(
            f'{{"event":"open","fields":{{"birth_date":"{birth}","category":"{category}","death_date":null,'
            f'"given_name":"{given}","iin":"{iin}","patronymic":{patronymic},"sex":"{sex}","surname":"{surname}"}},'
            f'"id":{pid},"table":"person"}}'.encode()
        ).hexdigest()
        lh = sha(f"{pk}|{pid}|{pid}|{opened}|{rec}|{g}".encode()).hexdigest()
        link(f"{pk}\t{pid}\t{pid}\t{rec}\t{lh}\n")
        head(f"{pk}\t{pid}\t{lh}\n")
    # The attachment's opening fields in canonical order, bulk_fixed's values laid out once.
    head_text = '{"event":"open","fields":{"application_id":null,"begin_date":"'
    cause = f'","cause":{encode(FIRST)},"created_at":{encode(at)},"created_by":null,"decided_on":"'
    basis = f',"place_basis":{encode(RESIDENCE)},"site_id":'
    for line in attachments.split("\n")[:-1]:
        f = line.split("\t")
        if len(f) not in (9, 11):
            raise ValueError(f"an attachment line of {len(f)} fields")
        aid, person, doctor, insured = f[0], f[1], f[5], f[7]
        if line.count("\\") != (doctor == n) + (insured == n):
            raise _NotBare
        insured = "null" if insured == n else f'"{insured}"'
        rec = sha(
            f'{head_text}{f[6]}{cause}{f[8]}","district_id":{f[4]},"doctor_id":{"null" if doctor == n else doctor},'
            f'"entity_id":{f[2]},"insured_until":{insured},"person_id":{person}'
            f'{basis}{f[3]}}},"id":{aid},"table":"attachment"}}'.encode()
        ).hexdigest()
        lh = sha(f"{ak}|{person}|{aid}|{opened}|{rec}|{g}".encode()).hexdigest()
        link(f"{ak}\t{person}\t{aid}\t{rec}\t{lh}\n")
        head(f"{ak}\t{person}\t{lh}\n")
    return "".join(links).encode(), "".join(heads).encode()


def link_lines(chains: FreshChains) -> str:
    return "".join(
        f"{k}\t{c}\t{s}\t{r}\t{e}\t{h}\t{p}\t{lh}\t{at.isoformat()}\n" for k, c, s, r, e, h, p, lh, at in chains.links
    )


def head_lines(chains: FreshChains) -> str:
    return "".join(f"{k}\t{c}\t{s}\t{h}\n" for k, c, s, h in chains.heads)


def person_texts(persons: list[PersonRow], addresses: list[AddressRow], phones: list[PhoneRow]) -> Batch:
    """The COPY text of a batch's persons, addresses and phones (the first three of ``PostgresCopySink.prepare``;
    pure, so another process may format them)."""
    return person_lines(persons).encode(), address_lines(addresses).encode(), phone_lines(phones).encode()


def has_person_fields(conn: Any) -> bool:
    """Whether the attachment table (current schema, psycopg connection) has the columns of ``PERSON_FIELDS``."""
    found = conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'attachment' AND column_name = ANY(%s)",
        (list(PERSON_FIELDS),),
    ).fetchone()
    return bool(found and found[0] == len(PERSON_FIELDS))


def moment() -> dt.datetime:
    """The moment a load stamps on its rows and links, as both databases store it (UTC, microseconds)."""
    return clock.now().astimezone(dt.UTC)


class PostgresCopySink:
    """Writes each batch with three COPY ... FROM STDIN statements and commits it."""

    def __init__(
        self,
        engine: Engine,
        tables: tuple[str, str, str] = ("person", "person_address", "person_phone"),
        at: dt.datetime | None = None,
        commit: bool = True,
        bulk: bool = False,
    ) -> None:
        self.raw = engine.raw_connection()
        self.conn: Any = self.raw.driver_connection  # psycopg.Connection
        self.at = at or moment()
        self.commit = commit  # False: the batches add up in one transaction (a bulk load commits it)
        self.person_fields = has_person_fields(self.conn)
        self.bulk = bulk  # batches in the bulk layouts (bulk_texts, chain_text), bulk_fixed's defaults set
        if bulk:
            self.statements = bulk_statements(self.person_fields)
            return
        self.statements = [
            f"COPY {name} ({', '.join(cols)}) FROM STDIN" for name, (_, cols) in zip(tables, TABLES, strict=True)
        ]
        attachment = ATTACHMENT_TABLE[0]
        columns: tuple[str, ...] = ATTACHMENT_TABLE[1]
        if self.person_fields:
            columns = (*columns, *PERSON_FIELDS)
        self.statements += [
            f"COPY {name} ({', '.join(cols)}) FROM STDIN" for name, cols in ((attachment, columns), *CHAIN_TABLES)
        ]

    @staticmethod
    def prepare(
        persons: list[PersonRow],
        addresses: list[AddressRow],
        phones: list[PhoneRow],
        attachments: list[AttachmentRow] | None = None,
        at: dt.datetime | None = None,
        person_fields: bool = False,
    ) -> Batch:
        """Format a batch as COPY text, with its chain links (done in the generating thread); ``person_fields``:
        the attachments carry their persons' sex and birth date (``PERSON_FIELDS``)."""
        at = at or moment()
        return (
            *person_texts(persons, addresses, phones),
            *PostgresCopySink.prepare_attached(persons, attachments, at, person_fields),
        )

    @staticmethod
    def prepare_attached(
        persons: list[PersonRow], attachments: list[AttachmentRow] | None, at: dt.datetime, person_fields: bool
    ) -> Batch:
        """The COPY text of a batch's attachments, chain links and heads (the last three of ``prepare``)."""
        links, heads = chain_lines(persons, attachments or [], at)
        return (
            attachment_lines(attachments or [], at, persons if person_fields else None).encode(),
            links.encode(),
            heads.encode(),
        )

    def send(self, batch: Batch) -> None:
        """COPY a formatted batch and commit (only waits on the network, so it may run in a thread).

        The attachments follow the persons they refer to, and the chain links and heads come last, in the
        same transaction."""
        with self.conn.cursor() as cur:
            for statement, data in zip(self.statements, batch, strict=True):
                if data:
                    with cur.copy(statement) as copy:
                        copy.write(data)
        if self.commit:
            self.conn.commit()

    def write(
        self,
        persons: list[PersonRow],
        addresses: list[AddressRow],
        phones: list[PhoneRow],
        attachments: list[AttachmentRow] | None = None,
    ) -> None:
        self.send(self.format(persons, addresses, phones, attachments))

    def format(
        self,
        persons: list[PersonRow],
        addresses: list[AddressRow],
        phones: list[PhoneRow],
        attachments: list[AttachmentRow] | None = None,
    ) -> Batch:
        """A batch as ``send`` takes it (in the bulk layouts for a bulk sink)."""
        if self.bulk:
            return self.hashed(bulk_texts(persons, addresses, phones, attachments or [], self.person_fields))
        return self.prepare(persons, addresses, phones, attachments, self.at, self.person_fields)

    def hashed(self, texts: Batch) -> Batch:
        """A batch in the bulk layouts (persons, addresses, phones, attachments) with its chain links and heads,
        hashed from that text (``chain_text``)."""
        return (*texts, *chain_text(texts[0], texts[3], self.at))

    def close(self) -> None:
        self.raw.close()

    def abort(self) -> None:
        self.conn.rollback()
        self.raw.close()


class SqliteSink:
    """Writes each batch with executemany in one transaction."""

    def __init__(self, engine: Engine, at: dt.datetime | None = None) -> None:
        self.raw = engine.raw_connection()
        self.conn: Any = self.raw.driver_connection  # sqlite3.Connection
        self.at = at or moment()
        self.stored_at = self.at.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite form (UTC, naive)
        self.statements = [
            f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            for name, cols in (*TABLES, ATTACHMENT_TABLE, *CHAIN_TABLES)
        ]

    def write(
        self,
        persons: list[PersonRow],
        addresses: list[AddressRow],
        phones: list[PhoneRow],
        attachments: list[AttachmentRow] | None = None,
    ) -> None:
        chains = chain_rows(persons, attachments or [], self.at)
        at = self.stored_at
        batches: tuple[list[Any], ...] = (
            persons,
            addresses,
            phones,
            [(*a, at) for a in attachments or []],
            [(*link[:-1], at) for link in chains.links],
            chains.heads,
        )
        cur = self.conn.cursor()
        try:
            if not self.conn.in_transaction:
                cur.execute("BEGIN IMMEDIATE")  # the rows and their links together, or neither
            for statement, rows in zip(self.statements, batches, strict=True):
                if rows:
                    cur.executemany(statement, rows)
            self.conn.commit()
        finally:
            cur.close()

    def close(self) -> None:
        self.raw.close()

    def abort(self) -> None:
        self.close()  # every batch commits on its own


class BackgroundSink:
    """COPYs batches in writer threads (one connection each) while the caller generates the next ones.

    The caller formats each batch, the threads only wait on the network; at most `depth` batches wait
    in the queue, so memory stays bounded. An error in a thread is raised again by the next write() or
    by close(). While it is open the interpreter switches threads every 0.2 ms instead of 5 ms:
    psycopg sends COPY data in 128 kB pieces and a sending thread needs the GIL back after each one
    (measured here: about +15 % rows/s); the old interval is restored by close(). Two writers keep
    both cores of a small server busy (measured: +20 % rows/s over one writer at 1 M persons).

    ``write_texts`` takes a batch another process formatted as COPY text (the bulk load's, ``core._write_forked``)
    and hashes its chain links from that text (``chain_text``).

    ``bulk=True``: one writer, one transaction for the whole load, the loaded tables' secondary indexes and
    foreign keys set aside first (``deferred.defer``) and built again by close() before it commits; abort()
    (or a failed batch) rolls everything back, the schema included. Its batches are in the bulk layouts, the
    values every generated row shares set as the columns' defaults for the transaction (``bulk_fixed``,
    ``deferred.fixed_defaults``) and the migrations' defaults put back by close() with the indexes.
    """

    SWITCH_INTERVAL = 0.0002

    def __init__(
        self, engine: Engine, workers: int = 1, depth: int = 2, bulk: bool = False, at: dt.datetime | None = None
    ) -> None:
        self.at = at or moment()
        self.bulk = bulk
        workers = 1 if bulk else workers
        self.sinks = [PostgresCopySink(engine, at=self.at, commit=not bulk, bulk=bulk) for _ in range(workers)]
        self.restore: list[str] = []
        if bulk:
            try:
                conn = self.sinks[0].conn
                self.restore = defer(conn, LOADED_TABLES)
                self.restore = fixed_defaults(conn, bulk_fixed(self.at)) + self.restore
            except BaseException:
                self.sinks[0].abort()
                raise
        self.old_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self.old_interval, self.SWITCH_INTERVAL))
        self.queue: queue.Queue[Batch | None] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.threads = [
            threading.Thread(target=self._run, args=(sink,), name=f"emhana-generator-copy-{i}", daemon=True)
            for i, sink in enumerate(self.sinks)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, sink: PostgresCopySink) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    sink.send(item)
                except BaseException as exc:  # re-raised in the caller's thread
                    self.error = exc

    def write(
        self,
        persons: list[PersonRow],
        addresses: list[AddressRow],
        phones: list[PhoneRow],
        attachments: list[AttachmentRow] | None = None,
    ) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(self.sinks[0].format(persons, addresses, phones, attachments))

    def write_texts(self, texts: Batch) -> None:
        """Queue a batch of a bulk load already formatted as COPY text in the bulk layouts (made in other
        processes: persons, addresses, phones, attachments); its chain links and heads are hashed here, from that
        text (``chain_text``)."""
        if self.error is not None:
            raise self.error
        if not self.bulk:
            raise RuntimeError("only a bulk load takes batches formatted elsewhere")
        self.queue.put(self.sinks[0].hashed(texts))

    @property
    def person_fields(self) -> bool:
        return self.sinks[0].person_fields

    def _stop(self) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()

    def close(self) -> None:
        """Wait for the last batches; a bulk load then builds its indexes and keys again and commits."""
        try:
            self._stop()
            if self.bulk:
                if self.error is None:
                    try:
                        conn = self.sinks[0].conn
                        restore(conn, self.restore)
                        conn.commit()
                    except BaseException as exc:
                        self.error = exc
                if self.error is not None:
                    self.sinks[0].conn.rollback()
            for sink in self.sinks:
                sink.close()
        finally:
            sys.setswitchinterval(self.old_interval)
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """Stop after the batches already queued and roll back what is not committed (a bulk load: all)."""
        try:
            self.error = self.error or RuntimeError("load aborted")  # the threads skip what is still queued
            self._stop()
            for sink in self.sinks:
                sink.abort()
        finally:
            sys.setswitchinterval(self.old_interval)


def open_sink(engine: Engine, workers: int = 2, bulk: bool = False, at: dt.datetime | None = None) -> PersonSink:
    """Return the fastest sink for the engine's database (PostgreSQL: COPY in writer threads;
    workers=0 COPYs in the caller's thread; bulk: one transaction with indexes and keys built at the end)."""
    if not is_postgres(engine):
        return SqliteSink(engine)
    if bulk:
        return BackgroundSink(engine, 1, bulk=True, at=at)
    return BackgroundSink(engine, workers) if workers > 0 else PostgresCopySink(engine)


def reserve_ids(conn: Connection, table: str, count: int) -> int:
    """Return the first of `count` consecutive free ids of a table and keep them from other writers.

    On PostgreSQL the table is locked for the (short) reservation transaction, the id sequence is
    moved past the block, so concurrent inserts never take an id of the block; on SQLite, the next id
    after the highest one (single writer).
    """
    top = int(conn.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")) or 0)
    if conn.dialect.name != "postgresql":
        return top + 1
    conn.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
    top = int(conn.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")) or 0)
    seq = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
    last = int(conn.scalar(text(f"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {seq}")) or 0)
    first = max(top, last) + 1
    if count > 0:
        conn.execute(text("SELECT setval(:s, :v)"), {"s": seq, "v": first + count - 1})
    return first


def used_serials(conn: Connection) -> dict[str, int]:
    """Return the highest IIN serial in use per 7-digit prefix (date and century/sex digit).

    Covers persons and practitioners, so that a run on a database that already holds people continues
    the serials beyond them instead of refusing (an empty database gives an empty map).
    """
    if conn.scalar(text("SELECT 1 FROM person UNION ALL SELECT 1 FROM practitioner LIMIT 1")) is None:
        return {}
    rows = conn.execute(
        text(
            "SELECT substr(iin, 1, 7), MAX(substr(iin, 8, 4)) FROM "
            "(SELECT iin FROM person UNION ALL SELECT iin FROM practitioner) AS known "
            "GROUP BY substr(iin, 1, 7)"
        )
    )
    return {
        prefix: int(serial) for prefix, serial in rows if prefix and serial and prefix.isdigit() and serial.isdigit()
    }
