"""Crash safety (issue 8, item 3; issue 14): clients stream attachments and journal entries through the HTTP
API of a real uvicorn server, and mid-stream everything dies at once by SIGKILL: on PostgreSQL the postmaster of
a cluster of the test's own (initdb in a temporary folder, a free port; the shared server is never touched),
then the server; a process holding an uncommitted transaction too. After a restart every acknowledged request
is there, nothing is half-written, the uncommitted transaction is gone, unanswered requests (no answer, or a
5xx a client retries) retried with their Idempotency-Key land exactly once, every audited read answered before
the kill has its audit event (the access log's promise, docs/access-log.md), and `emhana audit verify` is
clean."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from typer.testing import CliRunner

from emhana.accounts.roles import Role
from emhana.accounts.service import actor_of, create_account, issue_token
from emhana.attachment.campaign.policy import seed_default_policies
from emhana.cli.main import app as cli_app
from emhana.facilities.io import DistrictRecord
from emhana.facilities.service import apply_records, get_entity_by_bin
from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
from emhana.kernel.migrate import upgrade
from emhana.medbook.catalogue import seed_catalogue
from emhana.medbook.models import ResponsibleAppointment
from tests.builders.databases import is_postgres
from tests.builders.facilities import entity_record, site_record
from tests.builders.people import add_person
from tests.builders.postgres_cluster import Cluster, own_cluster
from tests.builders.servers import free_port

CLIENTS = 4
PEOPLE = 80
ENTRY_CODES = ("therapist", "dermatovenerologist", "gynecologist")


@contextmanager
def scratch_database(tmp_dir: Path) -> Iterator[tuple[str, Cluster | None]]:
    """A new SQLite file, or (when the tests run on PostgreSQL) a new cluster of the test's own."""
    if not is_postgres():
        yield f"sqlite:///{tmp_dir / 'crash.db'}", None
        return
    with own_cluster() as cluster:
        yield cluster.url, cluster


# A process that, told to go, commits one row of the probe table, then writes another and waits, never
# committing it.
HOLDER = """
import sys, time
from sqlalchemy import text
from emhana.kernel.db import make_engine
engine = make_engine(sys.argv[1])
print("started", flush=True)
sys.stdin.readline()
with engine.begin() as conn:
    conn.execute(text("INSERT INTO crash_probe (id) VALUES (1)"))
conn = engine.connect()
conn.execute(text("INSERT INTO crash_probe (id) VALUES (2)"))
print("ready", flush=True)
time.sleep(600)
"""


def start_holder(url: str) -> subprocess.Popen[str]:
    """Start the holder (it waits to be told to go)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    return proc


def hold_uncommitted(holder: subprocess.Popen[str]) -> None:
    """Tell the holder to go and wait until its second row is written and not committed."""
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "ready"


@dataclass
class Seeded:
    district: int
    book_owner_iins: list[str]
    people: list[tuple[int, str]]  # person id, citizen token
    rt: str
    clinician: str


def seed(url: str) -> Seeded:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        with unit_of_work(sessions) as s:
            fund = actor_of(
                create_account(session=s, username="fund", password=None, role=Role.FUND_ADMIN, display_name="Fund")
            )
            seed_default_policies(s)
            seed_catalogue(s)
            rec = entity_record("150340001236", sites=[site_record("A1", districts=[DistrictRecord("gp", 1, 5000)])])
            apply_records(session=s, actor=fund, records=[rec])
            entity = get_entity_by_bin(session=s, bin_=rec.bin).id
            district = int(s.execute(text("SELECT id FROM district")).scalar_one())
            tokens = {}
            for name, role in (("rt", Role.RESPONSIBLE_THERAPIST), ("clin", Role.CLINICIAN)):
                actor = actor_of(
                    create_account(
                        session=s, username=name, password=None, role=role, display_name=name, entity_id=entity
                    )
                )
                tokens[name] = issue_token(session=s, actor=actor, ttl=dt.timedelta(hours=1))
                if role is Role.RESPONSIBLE_THERAPIST:
                    s.add(
                        ResponsibleAppointment(
                            entity_id=entity,
                            account_id=actor.account_id,
                            valid_from=dt.date(2025, 1, 1),
                            appointed_at=dt.datetime.now(dt.UTC),
                        )
                    )
        owners = [add_person(sessions, born=dt.date(1985, 1, 1 + i), sex="female") for i in range(CLIENTS)]
        people = []
        for i in range(PEOPLE):
            pid = add_person(sessions, born=dt.date(1970 + i % 30, 1 + i % 12, 1 + i % 28))
            with unit_of_work(sessions) as s:
                actor = actor_of(
                    create_account(
                        session=s,
                        username=f"c{i}",
                        password=None,
                        role=Role.CITIZEN,
                        display_name=f"c{i}",
                        person_id=pid,
                    )
                )
                people.append((pid, issue_token(session=s, actor=actor, ttl=dt.timedelta(hours=1))))
        with engine.connect() as conn:
            iins = [
                str(conn.execute(text("SELECT iin FROM person WHERE id = :i"), {"i": o}).scalar_one()) for o in owners
            ]
        return Seeded(district=district, book_owner_iins=iins, people=people, rt=tokens["rt"], clinician=tokens["clin"])
    finally:
        engine.dispose()


@contextmanager
def server(url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `uvicorn emhana.app:create_app` in its own process; yield its base URL and the process."""
    port = free_port()
    env = {
        **os.environ,
        "EMHANA_DATABASE_URL": url,
        "EMHANA_SECRET_KEY": "crash-test-eXEqwbqY-jpOtUb19jG0xEtBdakYNn_MTErTUDtmRWYwMcWw9QK",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "emhana.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a loaded machine starts uvicorn slowly: not a measure of anything
    while True:
        try:
            if httpx.get(f"{base}/api/v1/attachment/calendar/2026", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        time.sleep(0.1)
    try:
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


@dataclass
class Ledger:
    """What the clients sent and what the server acknowledged (2xx received)."""

    entries: dict[str, int] = field(default_factory=dict)  # idempotency key -> entry id
    applications: dict[str, int] = field(default_factory=dict)  # idempotency key -> application id
    unanswered: list[tuple[str, str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # non-2xx answers: none expected
    reads: list[str] = field(default_factory=list)  # the purposes of audited reads answered 200
    lock: threading.Lock = field(default_factory=threading.Lock)


def post(
    client: httpx.Client, ledger: Ledger, kind: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> bool:
    """Send one write; note the acknowledged id, or the request as unanswered. Return False once unanswered."""
    try:
        r = client.post(path, json=body, headers=headers)
    except httpx.TransportError:
        with ledger.lock:
            ledger.unanswered.append((kind, path, body, headers))
        return False
    if r.status_code >= 500:  # the database died under it: the client retries with the same key
        with ledger.lock:
            ledger.unanswered.append((kind, path, body, headers))
        return False
    if r.status_code not in (200, 201):
        with ledger.lock:
            ledger.errors.append(f"{path}: {r.status_code} {r.text[:300]}")
        return False
    with ledger.lock:
        getattr(ledger, kind)[headers["Idempotency-Key"]] = r.json()["id"]
    return True


def stream(
    base: str,
    world: Seeded,
    books: list[int],
    ledger: Ledger,
    stop: threading.Event,
    n: int,
    people: list[tuple[int, str]],
) -> None:
    """One client: alternate a journal entry in its book and an attachment of one of its people."""
    with httpx.Client(base_url=base, timeout=10) as client:
        for i, (pid, token) in enumerate(people):
            if stop.is_set():
                return
            key = f"entry-{pid}"
            if not post(
                client,
                ledger,
                "entries",
                f"/api/v1/medbook/books/{books[n]}/entries",
                {
                    "kind": "specialist_exam",
                    "item_code": ENTRY_CODES[i % 3],
                    "performed_on": "2026-03-02",
                    "result": "normal",
                },
                {"Authorization": f"Bearer {world.clinician}", "Idempotency-Key": key},
            ):
                return
            if not post(
                client,
                ledger,
                "applications",
                "/api/v1/attachment/applications",
                {"person_id": pid, "district_id": world.district},
                {"Authorization": f"Bearer {token}", "Idempotency-Key": f"apply-{pid}"},
            ):
                return


def read_stream(base: str, world: Seeded, books: list[int], ledger: Ledger, stop: threading.Event) -> None:
    """A reader: audited reads of the books (its clinician works for their issuer, so each read is logged with
    the purpose it gives, unique per read) until the server stops answering; note those answered 200."""
    with httpx.Client(base_url=base, timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            purpose = f"crash-read-{n}"
            try:
                r = client.get(
                    f"/api/v1/medbook/books/{books[n % len(books)]}",
                    params={"purpose": purpose},
                    headers={"Authorization": f"Bearer {world.clinician}"},
                )
            except httpx.TransportError:
                return
            if r.status_code == 200:
                with ledger.lock:
                    ledger.reads.append(purpose)
            elif r.status_code < 500:
                with ledger.lock:
                    ledger.errors.append(f"read: {r.status_code} {r.text[:300]}")


def run_clients(
    base: str,
    world: Seeded,
    books: list[int],
    ledger: Ledger,
    people: list[tuple[int, str]],
    kill_after_acks: int | None,
    crash: Callable[[], None],
    kill_after_reads: int = 0,
) -> None:
    stop = threading.Event()
    share = [people[n::CLIENTS] for n in range(CLIENTS)]
    threads = [
        threading.Thread(target=stream, args=(base, world, books, ledger, stop, n, share[n])) for n in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    if kill_after_acks is not None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            len(ledger.entries) + len(ledger.applications) < kill_after_acks or len(ledger.reads) < kill_after_reads
        ):
            time.sleep(0.05)
        crash()  # mid-stream: requests are in flight on every client
        stop.set()
    for t in threads:
        t.join(30)


def test_sigkill_mid_stream_loses_no_acknowledged_write(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as (url, cluster):
        upgrade(url)
        world = seed(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE crash_probe (id INTEGER PRIMARY KEY)"))
        engine.dispose()
        ledger = Ledger()
        first, rest = world.people[: PEOPLE // 2], world.people[PEOPLE // 2 :]
        with server(url) as (base, proc):
            books = []
            for iin in world.book_owner_iins:
                r = httpx.post(
                    f"{base}/api/v1/medbook/books",
                    headers={"Authorization": f"Bearer {world.rt}"},
                    json={
                        "iin": iin,
                        "profession": "повар",
                        "position": "повар",
                        "workplace": "столовая",
                        "employer_bin": "940140000385",
                        "group_code": "catering",
                        "language": "ru",
                    },
                    timeout=10,
                )
                assert r.status_code == 201, r.text
                books.append(r.json()["id"])

            holder = start_holder(url)

            def crash() -> None:
                if cluster is not None:
                    hold_uncommitted(holder)
                    cluster.kill()  # the postmaster first: transactions die in flight under the server
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                if cluster is None:  # SQLite's write lock is free once the server is dead (it is not fair)
                    hold_uncommitted(holder)
                holder.send_signal(signal.SIGKILL)
                holder.wait(10)

            reading = threading.Event()
            readers = [threading.Thread(target=read_stream, args=(base, world, books, ledger, reading)) for _ in "ab"]
            for t in readers:
                t.start()
            run_clients(base, world, books, ledger, first, kill_after_acks=20, crash=crash, kill_after_reads=1)
            reading.set()
            for t in readers:
                t.join(30)
            assert proc.returncode == -signal.SIGKILL
            if cluster is not None:
                assert cluster.proc is not None and cluster.proc.returncode == -signal.SIGKILL
        acknowledged_before = (len(ledger.entries), len(ledger.applications))
        assert sum(acknowledged_before) > 0 and ledger.unanswered, "the kill should land mid-stream"
        assert ledger.reads, "audited reads were answered before the kill"
        if cluster is not None:
            cluster.start()
            assert "automatic recovery in progress" in cluster.log()  # a crash, not a clean shutdown
        engine = make_engine(url)
        with engine.connect() as conn:  # committed stays, uncommitted is gone
            assert list(conn.execute(text("SELECT id FROM crash_probe ORDER BY id")).scalars()) == [1]
        engine.dispose()
        with server(url) as (base, proc):
            with httpx.Client(base_url=base, timeout=10) as client:  # retry what got no answer, same keys
                retried = list(ledger.unanswered)
                ledger.unanswered.clear()
                for kind, path, body, headers in retried:
                    assert post(client, ledger, kind, path, body, headers)
            run_clients(base, world, books, ledger, rest, kill_after_acks=None, crash=lambda: None)
        assert not ledger.unanswered and not ledger.errors, ledger.errors
        check(url, ledger, books)


def check(url: str, ledger: Ledger, books: list[int]) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:

            def ids(sql: str) -> set[int]:
                return {int(i) for i in conn.execute(text(sql)).scalars()}

            # every acknowledged request is present, exactly once
            assert set(ledger.entries.values()) == ids("SELECT id FROM medbook_entry")
            assert set(ledger.applications.values()) == ids("SELECT id FROM attachment_application")
            assert ids("SELECT DISTINCT book_id FROM medbook_entry") <= set(books)
            # nothing half-written: each application has its attachment, its person one open attachment,
            # each attachment and entry its audit event
            assert ids("SELECT application_id FROM attachment") == ids("SELECT id FROM attachment_application")
            assert not ids(
                "SELECT person_id FROM attachment WHERE end_date IS NULL GROUP BY person_id HAVING count(*) > 1"
            )
            opened = ids("SELECT CAST(object_id AS INTEGER) FROM audit_event WHERE action = 'attachment.open'")
            assert opened == ids("SELECT id FROM attachment")
            assert ids("SELECT DISTINCT subject_person_id FROM audit_event WHERE action = 'attachment.open'") == ids(
                "SELECT person_id FROM attachment"
            )
            # every audited read answered before the kill has its event (the access log, docs/access-log.md)
            logged = set(conn.execute(text("SELECT purpose FROM audit_event WHERE action = 'medbook.read'")).scalars())
            assert set(ledger.reads) <= logged, sorted(set(ledger.reads) - logged)[:5]
    finally:
        engine.dispose()
    verified = CliRunner().invoke(cli_app, ["audit", "verify", "--database-url", url])
    assert verified.exit_code == 0, verified.output
