"""Medical books and their journal entries in bulk (COPY), in the national proportion to the population.

Workers are adults taken at an even stride through the person table; each book is issued by the entity the
worker is attached to and holds one clearance mark (granted for a year) plus, for the share that brings the
entries to the national ~1.9 per book, one laboratory result. The rows carry the canonical bytes the service
would store (a JSON document), so the real API reads them like any other book. Streaming: a server-side
cursor feeds batches of 10,000 books; each batch is two COPYs and a commit.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import psycopg
from sqlalchemy import Engine, text

from emhana.accounts.roles import Role
from emhana.devtools.bench.dataset import raw_url
from emhana.devtools.generator.sink import reserve_ids
from emhana.medbook.models import Employment, JournalEntry, MedicalBook
from emhana.medbook.rules import canonical_bytes
from emhana.trust.signatures import canonical

ISSUED_ON = dt.date(2025, 11, 1)
BATCH = 10_000
NULL = "\\N"
# The COPY lines below are written in the tables' own column order (a column added to a table makes the COPY fail
# loudly rather than load a wrong shape); the FHIR part's baseline copies journal entries by the same names.
BOOK_COLUMNS = tuple(MedicalBook.__table__.columns.keys())
# every column the lines below write, in the table's order; a retraction (``retracted``) is never loaded
ENTRY_COLUMNS = tuple(c for c in JournalEntry.__table__.columns.keys() if c != "retracted")
JOB_COLUMNS = tuple(c for c in Employment.__table__.columns.keys() if c != "id")
PROFESSIONS = (
    ("food", "Повар"),
    ("catering", "Официант"),
    ("water", "Оператор водоочистки"),
    ("children", "Воспитатель"),
)


@dataclass(frozen=True)
class Books:
    books: int
    entries: int
    seconds: float
    issuer_account: int


def _issuer(engine: Engine) -> int:
    with engine.begin() as conn:
        return int(
            conn.scalar(
                text(
                    "INSERT INTO account (username, password_hash, role, display_name, active, created_at) "
                    "VALUES ('bench-issuer', NULL, :r, 'Bench issuer', TRUE, now()) RETURNING id"
                ),
                {"r": Role.RESPONSIBLE_THERAPIST.value},
            )
        )


def _canonical(document: dict[str, object]) -> str:
    """COPY text of the canonical bytes the service stores (a bytea value: the \\x hex form, its backslash
    escaped)."""
    return "\\\\x" + canonical_bytes(document).hex()


def load_books(engine: Engine, books: int, entries: int, as_of: dt.date) -> Books:
    """Write `books` medical books with `entries` journal entries in all; return what was written and the time."""
    issuer = _issuer(engine)
    adult_lo, adult_hi = dt.date(as_of.year - 63, 1, 1), dt.date(as_of.year - 19, 1, 1)
    with engine.begin() as conn:
        codes = set(conn.scalars(text("SELECT DISTINCT code FROM decreed_group")))
        adults = int(
            conn.scalar(
                text("SELECT COUNT(*) FROM person WHERE birth_date BETWEEN :a AND :b"), {"a": adult_lo, "b": adult_hi}
            )
            or 0
        )
        books = min(books, adults)
        if books == 0:
            raise RuntimeError("no adult of working age to give a medical book to; raise the population")
        first_book = reserve_ids(conn, "medical_book", books)
        first_entry = reserve_ids(conn, "medbook_entry", max(entries, books))
    groups = [p for p in PROFESSIONS if p[0] in codes] or [(sorted(codes)[0], "Работник")]
    extra = max(0, entries - books)
    url = raw_url(engine.url.render_as_string(hide_password=False))
    recorded = dt.datetime(2025, 11, 1, 9, 0, tzinfo=dt.UTC).isoformat()
    start = time.perf_counter()
    book_no = entry_no = 0
    with psycopg.connect(url) as reader, psycopg.connect(url) as writer:
        with reader.transaction(), reader.cursor(name="workers") as cur:
            cur.itersize = BATCH
            cur.execute(
                "SELECT p.id, p.iin, t.entity_id, e.bin FROM person p "
                "JOIN attachment t ON t.person_id = p.id AND t.end_date IS NULL "
                "JOIN entity e ON e.id = t.entity_id "
                "WHERE p.birth_date BETWEEN %s AND %s ORDER BY p.id",
                (adult_lo, adult_hi),
            )
            book_lines: list[str] = []
            entry_lines: list[str] = []
            job_lines: list[str] = []
            for i, (pid, iin, entity, bin_) in enumerate(cur):
                if (i + 1) * books // adults == i * books // adults:  # an even stride through the adults
                    continue
                bid = first_book + book_no
                group, profession = groups[book_no % len(groups)]
                employer = f"{(990_000_000_000 + book_no % 50_000):012d}"
                book_lines.append(
                    f"{bid}\t{pid}\t{entity}\t{issuer}\t{ISSUED_ON}\t{'kk' if pid % 2 else 'ru'}\t"
                    f"{profession}\t{profession}\tТОО «Работодатель {book_no % 50_000}»\t{employer}\t"
                    f"{group}\t{recorded}\n"
                )
                job_lines.append(  # the book's one job, as issuing writes it (emhana.medbook.employment)
                    f"{bid}\t{profession}\t{profession}\tТОО «Работодатель {book_no % 50_000}»\t{employer}\t"
                    f"{group}\t{ISSUED_ON}\t{NULL}\t{entity}\t{issuer}\t{recorded}\n"
                )
                marks: list[tuple[str, str, str | None, str | None, dt.date | None]] = [
                    ("clearance", "", None, "granted", ISSUED_ON.replace(year=ISSUED_ON.year + 1))
                ]
                if (book_no + 1) * extra // books > book_no * extra // books:
                    marks.insert(0, ("lab_result", "helminths", "negative", None, None))
                for kind, item, result, clearance, until in marks:
                    eid = first_entry + entry_no
                    document = {
                        "type": canonical.ENTRY,
                        "book": bid,
                        "person_iin": iin,
                        "entity_bin": bin_,
                        "kind": kind,
                        "item_code": item,
                        "performed_on": ISSUED_ON.isoformat(),
                        "result": result,
                        "clearance": clearance,
                        "valid_until": until.isoformat() if until else None,
                        "author_account": issuer,
                        "author_name": "Bench issuer",
                        "source": "manual",
                        "recorded_at": recorded,
                    }
                    entry_lines.append(
                        f"{eid}\t{bid}\t{kind}\t{item}\t{ISSUED_ON}\t{result or NULL}\t\t\t{clearance or NULL}\t"
                        f"{until or NULL}\t{NULL}\t{NULL}\t{entity}\t{issuer}\tBench issuer\tmanual\t{NULL}\t{NULL}\t"
                        f"{recorded}\t{_canonical(document)}\tsigned\t{NULL}\n"  # signed: a grant counts once signed
                    )
                    entry_no += 1
                book_no += 1
                if len(book_lines) >= BATCH:
                    _flush(writer, book_lines, entry_lines, job_lines)
                    book_lines, entry_lines, job_lines = [], [], []
            if book_lines:
                _flush(writer, book_lines, entry_lines, job_lines)
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        conn.execute(text("ANALYZE medical_book, medbook_entry"))
        conn.commit()
    return Books(book_no, entry_no, seconds, issuer)


def _flush(conn: psycopg.Connection, books: list[str], entries: list[str], jobs: list[str]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(f"COPY medical_book ({', '.join(BOOK_COLUMNS)}) FROM STDIN") as copy:
            copy.write("".join(books))
        with cur.copy(f"COPY medbook_entry ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
            copy.write("".join(entries))
        with cur.copy(f"COPY medbook_employment ({', '.join(JOB_COLUMNS)}) FROM STDIN") as copy:
            copy.write("".join(jobs))
