"""The campaign's attach transaction: a voluntary change filed on eGov and approved at once (an application and a
transfer), through the service and as the same transaction in raw SQL, and the people who file it.

The service transaction is `emhana.attachment.application.service.submit` (what POST
/api/v1/attachment/applications runs) in its own unit of work. The raw one takes, with psycopg and no ORM, the same
locks and makes the same writes: person FOR NO KEY UPDATE (as the service locks it), the person's running
attachment, the target district and the one left FOR NO KEY UPDATE in id order with the open attachments the
database keeps for each (capacity; district_load, migration 0031), INSERT application, end the old attachment,
INSERT the new one, three audit events, COMMIT (the database's triggers keep both districts' loads, as for the
service). It skips the rule reads the service makes and the notification outbox (emhana.devtools.bench.raw_full
has them).
`prepare` picks the adults who apply and their target districts; `overbooking` checks afterwards that no district
holds more open attachments than its capacity and nobody two open ones. The client processes that run these
workers, by 1, 8 or 32 at once, are emhana.devtools.bench.clients.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import Connection, Engine, text

from emhana.accounts.roles import Role
from emhana.devtools.bench.dataset import raw_url
from emhana.kernel.clock import KZ_TIME
from emhana.kernel.db import PING_AFTER_IDLE_SECONDS, make_engine, make_sessionmaker, unit_of_work

NOW = dt.datetime(2026, 9, 10, 10, 0, tzinfo=KZ_TIME)  # a Thursday inside the 2026 campaign window
BEGIN = dt.date(2027, 1, 1)  # its effective date
Job = tuple[int, int, int, int]  # person, district, site, entity


def _unit(kato: str) -> str:
    """The administrative unit a person may choose within (A-40): a city of republican status or a district."""
    return kato[:2] if kato[:2] in ("71", "75", "79") else kato[:4]


def prepare(engine: Engine, needed: int, seed: int) -> tuple[list[Job], int]:
    """Pick `needed` adults with a target district of their unit with a free place; give them an identity card.

    Candidates are drawn at random person ids, so memory does not grow with the population."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        account = int(
            conn.scalar(
                text(
                    "INSERT INTO account (username, password_hash, role, display_name, active, created_at) "
                    "VALUES ('bench-citizen', NULL, :r, 'bench', TRUE, now()) RETURNING id"
                ),
                {"r": Role.CITIZEN.value},
            )
        )
        low, high = conn.execute(text("SELECT MIN(id), MAX(id) FROM person")).one()
        districts = conn.execute(
            text(
                "SELECT d.id, d.site_id, s.entity_id, s.kato_code, d.capacity - COALESCE(n.open, 0) "
                "FROM district d JOIN site s ON s.id = d.site_id LEFT JOIN (SELECT district_id, COUNT(*) AS open "
                "FROM attachment WHERE end_date IS NULL GROUP BY district_id) n ON n.district_id = d.id "
                "WHERE d.active AND d.profile IN ('gp', 'therapist') ORDER BY d.id"
            )
        ).all()
        by_unit: dict[str, list[list[Any]]] = {}
        for d_id, site, entity, kato, free in districts:
            by_unit.setdefault(_unit(kato), []).append([d_id, site, entity, free])
        jobs: list[Job] = []
        seen: set[int] = set()
        while len(jobs) < needed:
            ids = [i for i in {rng.randint(low, high) for _ in range(needed * 3)} if i not in seen]
            if not ids:
                break
            seen.update(ids)
            people = conn.execute(
                text(
                    "SELECT p.id, a.kato_code, t.district_id FROM person p "
                    "JOIN person_address a ON a.person_id = p.id JOIN attachment t ON t.person_id = p.id "
                    "AND t.end_date IS NULL WHERE p.id = ANY(:ids) AND p.birth_date <= :adult "
                    "AND p.category IN ('citizen', 'kandas') ORDER BY p.id"
                ),
                {"ids": ids, "adult": dt.date(NOW.year - 19, 1, 1)},
            ).all()
            for pid, kato, current in people:
                options = [d for d in by_unit.get(_unit(kato), []) if d[0] != current and d[3] > 0]
                if options:
                    target = rng.choice(options)
                    target[3] -= 1
                    jobs.append((pid, target[0], target[1], target[2]))
                    if len(jobs) == needed:
                        break
            if len(seen) > (high - low + 1) // 2:
                break
        if len(jobs) < needed:
            raise RuntimeError(f"only {len(jobs)} adults with a target district; the population is too small")
        chain_histories(conn, [j[0] for j in jobs])
        conn.execute(
            text(
                "INSERT INTO identity_document (person_id, kind, number, expires_on) VALUES (:p, 'id_card', :n, NULL)"
            ),
            [{"p": j[0], "n": f"B{j[0]:09d}"} for j in jobs],
        )
        conn.execute(text("ANALYZE identity_document"))
    return jobs, account


def chain_histories(conn: Connection, person_ids: list[int]) -> None:
    """Link the bulk-loaded attachment rows of the persons who will apply into their hash chains, as every row
    written through the application is in production (the generator's COPY leaves them unlinked)."""
    from emhana.trust.chain import links as chain

    ids = list(conn.scalars(text("SELECT id FROM attachment WHERE person_id = ANY(:p)"), {"p": person_ids}))
    for i in range(0, len(ids), 5_000):
        chain.link_new_rows(conn, "attachment", ids[i : i + 5_000])


def service_worker(url: str, account: int) -> Any:
    """Run each job through emhana.attachment.application.service.submit in its own unit of work; return (run, close),
    close() giving the SQL statements sent."""
    from sqlalchemy import event

    from emhana.accounts.service import Actor
    from emhana.attachment.application.service import submit
    from emhana.attachment.enums import Channel
    from emhana.attachment.schemas import ApplicationIn
    from emhana.kernel.fastsql import Fast

    # The application's engine (emhana.app): a pooled connection pinged only after an idle second, not at every
    # checkout (which is a round trip per transaction the API does not make).
    engine = make_engine(url, pool_size=1, ping_after_idle=PING_AFTER_IDLE_SECONDS)
    sessions = make_sessionmaker(engine)
    statements, runs = [0], [0]
    Fast.sent = 0

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    def run(job: Job) -> None:
        pid, district = job[0], job[1]
        actor = Actor(
            account_id=account, username="bench-citizen", role=Role.CITIZEN, display_name="bench", person_id=pid
        )
        runs[0] += 1
        with unit_of_work(sessions) as s:
            app = submit(
                session=s,
                actor=actor,
                data=ApplicationIn(person_id=pid, district_id=district),
                channel=Channel.EGOV,
                now=NOW,
            )
            if app.state != "approved":
                raise RuntimeError(f"application {app.id} is {app.state}")

    def close() -> int:
        engine.dispose()
        return statements[0] + Fast.sent + 2 * runs[0]  # BEGIN and COMMIT of each, as the raw count has them

    return run, close


RAW_SQL = {
    "person": "SELECT id FROM person WHERE id = %s FOR NO KEY UPDATE",
    "running": "SELECT id, begin_date, district_id, end_date FROM attachment WHERE person_id = %s "
    "AND (end_date IS NULL OR end_date >= %s) ORDER BY begin_date",
    # The target district and the one the person leaves, in id order, with the load the database keeps
    # (district_load, migration 0031): the service's locks (emhana.attachment.load.lock_loads).
    "districts": "SELECT d.id, d.capacity, d.active, d.doctor_id, l.attached FROM district d "
    "JOIN district_load l ON l.district_id = d.id WHERE d.id IN (%s, %s) ORDER BY d.id FOR NO KEY UPDATE OF d, l",
    "application": "INSERT INTO attachment_application (person_id, applicant_person_id, channel, entity_id, site_id, "
    "district_id, place_basis, border_claim, state, review, submitted_at, filed_on, deadline, "
    "decided_at, version) VALUES (%s, %s, 'egov', %s, %s, %s, 'residence_permanent', FALSE, "
    "'approved', '', %s, %s, %s, %s, 1) RETURNING id",
    "end": "UPDATE attachment SET end_date = %s, end_reason = 'transfer' WHERE id = %s",
    "open": "INSERT INTO attachment (person_id, entity_id, site_id, district_id, doctor_id, place_basis, cause, "
    "begin_date, application_id, decided_on, created_at) VALUES (%s, %s, %s, %s, %s, 'residence_permanent', "
    "'voluntary_change', %s, %s, %s, now()) RETURNING id",
    "audit": "INSERT INTO audit_event (at, account_id, action, subject_person_id, object_type, object_id, purpose) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
}


def raw_worker(url: str, account: int) -> Any:
    """Run each job as the same locks and writes with psycopg, one transaction each; return (run, close),
    close() giving the SQL statements sent."""
    import psycopg

    conn = psycopg.connect(raw_url(url))
    moment = NOW.astimezone(dt.UTC)
    day = NOW.date()

    def run(job: Job) -> None:
        pid, district, site, entity = job
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(RAW_SQL["person"], (pid,))
            cur.execute(RAW_SQL["running"], (pid, BEGIN))
            running = cur.fetchall()
            leaving = next((r[2] for r in running if r[3] is None), district)
            cur.execute(RAW_SQL["districts"], (district, leaving))
            row = next((r for r in cur.fetchall() if r[0] == district), None)
            if row is None or not row[2] or row[4] >= row[1]:
                raise RuntimeError("capacity exceeded")
            doctor = row[3]
            cur.execute(
                RAW_SQL["application"],
                (pid, pid, entity, site, district, moment, day, moment + dt.timedelta(days=1), moment),
            )
            app = (cur.fetchone() or (0,))[0]
            for att_id, *_ in running:
                cur.execute(RAW_SQL["end"], (BEGIN - dt.timedelta(days=1), att_id))
            cur.execute(RAW_SQL["open"], (pid, entity, site, district, doctor, BEGIN, app, day))
            new = (cur.fetchone() or (0,))[0]
            events: list[tuple[Any, ...]] = [
                (moment, account, "application.submit", pid, "application", str(app), "egov")
            ]
            events += [(moment, None, "attachment.end", pid, "attachment", str(a), "transfer") for a, *_ in running]
            events.append((moment, None, "attachment.open", pid, "attachment", str(new), "voluntary_change"))
            cur.executemany(RAW_SQL["audit"], events)
            statements[0] += 7 + len(running) + len(events)  # BEGIN and COMMIT included

    def close() -> int:
        conn.close()
        return statements[0]

    statements = [0]
    return run, close


def overbooking(engine: Engine) -> tuple[int, int]:
    """Return (districts above capacity, persons with two open attachments)."""
    with engine.connect() as conn:
        over = (
            conn.scalar(
                text(
                    "SELECT COUNT(*) FROM (SELECT d.id FROM district d JOIN attachment t ON t.district_id = d.id "
                    "AND t.end_date IS NULL GROUP BY d.id, d.capacity HAVING COUNT(*) > d.capacity) x"
                )
            )
            or 0
        )
        double = (
            conn.scalar(
                text(
                    "SELECT COUNT(*) FROM (SELECT person_id FROM attachment WHERE end_date IS NULL "
                    "GROUP BY person_id HAVING COUNT(*) > 1) x"
                )
            )
            or 0
        )
    return int(over), int(double)
