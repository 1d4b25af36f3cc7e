"""The whole attach transaction in raw psycopg: what `attachment.service.submit` reads and writes for an
approved eGov transfer, hand-written SQL, no SQLAlchemy at run time and no rules evaluated.

Beside the lean raw transaction of `emhana.devtools.bench.campaign` (locks, application, end, open, audit events),
this one also makes the service's rule reads (the person with addresses, the district with site, entity,
inclusion, pending application and contact, the history with participation, contacts and link state, the
documents on file), queues the outbox rows, and appends the hash-chain links (heads locked, links hashed
with `emhana.trust.chain.links`'s pure functions, heads moved). It is the baseline for "a raw-SQL version of the
same transaction" (issue 3); the figures beside the lean one are in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from emhana.attachment.models import APPLICATION_CHAIN, ATTACHMENT_CHAIN
from emhana.devtools.bench.campaign import BEGIN, NOW, RAW_SQL, Job
from emhana.devtools.bench.dataset import raw_url
from emhana.kernel import clock
from emhana.trust.chain import links as chain

SQL = {
    "person": "SELECT p.id, p.iin, p.surname, p.given_name, p.birth_date, p.death_date, p.category, a.kind, "
    "a.kato_code, a.valid_from, a.valid_to FROM person p LEFT JOIN person_address a ON a.person_id = p.id "
    "WHERE p.id = %(p)s FOR NO KEY UPDATE OF p",
    "target": "SELECT d.doctor_id, d.number, s.name_ru, s.address_ru, e.name_ru, e.contract_to, EXISTS (SELECT 1 "
    "FROM inclusion i WHERE i.entity_id = e.id AND i.status = 'included' AND i.effective_from <= %(day)s "
    "AND (i.effective_to IS NULL OR i.effective_to > %(day)s)), (SELECT x.id FROM attachment_application x "
    "WHERE x.person_id = %(p)s AND x.state = 'submitted' LIMIT 1), (SELECT c.language FROM "
    "notification_contact c WHERE c.recipient_kind = 'person' AND c.recipient_id = %(p)s), (SELECT c.email "
    "FROM notification_contact c WHERE c.recipient_kind = 'person' AND c.recipient_id = %(p)s) "
    "FROM district d JOIN site s ON s.id = d.site_id JOIN entity e ON e.id = s.entity_id WHERE d.id = %(d)s",
    "history": "SELECT t.id, t.entity_id, t.begin_date, t.end_date, t.cause, t.decided_on, EXISTS (SELECT 1 FROM "
    "inclusion i WHERE i.entity_id = e.id AND i.status = 'included' AND i.effective_from <= %(day)s AND "
    "(i.effective_to IS NULL OR i.effective_to > %(day)s)), (SELECT c.language FROM notification_contact c "
    "WHERE c.recipient_kind = 'entity' AND c.recipient_id = t.entity_id), (SELECT c.email FROM "
    "notification_contact c WHERE c.recipient_kind = 'entity' AND c.recipient_id = t.entity_id), EXISTS "
    "(SELECT 1 FROM chain_link l WHERE l.kind = 'attachment' AND l.record_id = t.id), (SELECT l.record_hash "
    "FROM chain_link l WHERE l.kind = 'attachment' AND l.record_id = t.id AND l.event = 'end' ORDER BY "
    "l.seq DESC LIMIT 1), t.district_id FROM attachment t JOIN entity e ON e.id = t.entity_id "
    "WHERE t.person_id = %(p)s ORDER BY t.begin_date, t.id",
    "documents": "SELECT person_id, kind, expires_on FROM identity_document WHERE person_id = %(p)s",
    # The service's locks and capacity check (emhana.attachment.load.lock_loads): the target district and the one
    # the person leaves, in id order, with the load the database keeps (district_load, migration 0031). Locking
    # the target alone, two transfers in opposite directions deadlocked in the load's triggers.
    "districts": RAW_SQL["districts"],
    "application": "INSERT INTO attachment_application (person_id, applicant_person_id, channel, entity_id, site_id, "
    "district_id, place_basis, border_claim, pregnant, care_at_home, change_reason, state, review, "
    "reason_code, reason_note, submitted_at, filed_on, deadline, decided_at, decided_by, recorded_by, "
    "version) VALUES (%(p)s, %(p)s, 'egov', %(e)s, %(s)s, %(d)s, 'residence_permanent', FALSE, FALSE, "
    "FALSE, NULL, 'approved', '', NULL, NULL, %(at)s, %(day)s, %(deadline)s, %(at)s, NULL, NULL, 1) "
    "RETURNING id",
    "end": "UPDATE attachment SET end_date = %s, end_reason = 'transfer' WHERE id = %s AND person_id = %s",
    "open": "INSERT INTO attachment (person_id, entity_id, site_id, district_id, doctor_id, place_basis, cause, "
    "begin_date, end_date, end_reason, insured_until, care_at_home, application_id, decided_on, created_at, "
    "created_by) VALUES (%(person_id)s, %(entity_id)s, %(site_id)s, %(district_id)s, %(doctor_id)s, "
    "%(place_basis)s, %(cause)s, %(begin_date)s, NULL, NULL, NULL, NULL, %(application_id)s, %(decided_on)s, "
    "%(created_at)s, NULL) RETURNING id",
    "outbox": "INSERT INTO notification_outbox (recipient_kind, recipient_id, channel, address, language, template, "
    "params, state, attempts, last_error, created_at, next_attempt_at, sent_at, dedupe_key) VALUES {} "
    "ON CONFLICT (dedupe_key) DO NOTHING",
    "audit": "INSERT INTO audit_event (at, account_id, action, subject_person_id, object_type, object_id, purpose) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s), (%s, %s, %s, %s, %s, %s, %s), (%s, %s, %s, %s, %s, %s, %s) "
    "RETURNING id",
    "heads": "INSERT INTO chain_head (kind, chain_key, seq, head_hash) VALUES ('attachment', %(k)s, 0, %(g)s), "
    "('audit', %(k)s, 0, %(g)s), ('application', %(k)s, 0, %(g)s) "
    "ON CONFLICT (kind, chain_key) DO UPDATE SET seq = chain_head.seq "
    "RETURNING kind, seq, head_hash",
    "link": "INSERT INTO chain_link (kind, chain_key, seq, record_id, event, record_hash, prev_hash, link_hash, "
    "linked_at) VALUES {}",
    "move": "UPDATE chain_head h SET seq = v.seq, head_hash = v.head FROM (VALUES (%s, %s::int, %s), "
    "(%s, %s::int, %s), (%s, %s::int, %s)) AS v (kind, seq, head) WHERE h.kind = v.kind AND h.chain_key = %s",
}
OUTBOX_ROW = "(%s, %s, %s, %s, %s, %s, %s, 'pending', 0, NULL, %s, %s, NULL, %s)"
LINK_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s)"


def rows_sql(statement: str, row: str, n: int) -> str:
    """Return a multi-row INSERT of n rows (one round trip)."""
    return SQL[statement].format(", ".join([row] * n))


def raw_full_worker(url: str, account: int) -> Any:
    """Run each job as the whole transaction with psycopg, one transaction each; return (run, close),
    close() giving the SQL statements sent (BEGIN and COMMIT included)."""
    import psycopg

    conn = psycopg.connect(raw_url(url))
    moment = NOW.astimezone(dt.UTC)
    day = NOW.date()
    statements = [0]

    def run(job: Job) -> None:
        pid, district, site, entity = job
        key = str(pid)
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(SQL["person"], {"p": pid})
            person = cur.fetchall()
            cur.execute(SQL["target"], {"p": pid, "d": district, "day": day})
            doctor, number, site_name, address, entity_name, _, included, pending, language, email = (
                cur.fetchone() or (None,) * 10
            )
            cur.execute(SQL["history"], {"p": pid, "day": day})
            history = cur.fetchall()
            cur.execute(SQL["documents"], {"p": pid})
            documents = cur.fetchall()
            leaving = next((h[11] for h in history if h[3] is None), district)
            cur.execute(SQL["districts"], (district, leaving))
            capacity, active, attached = next(
                ((r[1], r[2], r[4]) for r in cur.fetchall() if r[0] == district), (0, 0, 0)
            )
            if not person or not included or pending is not None or not documents or not active or attached >= capacity:
                raise RuntimeError("the transaction would be refused")
            cur.execute(
                SQL["application"],
                {
                    "p": pid,
                    "e": entity,
                    "s": site,
                    "d": district,
                    "at": moment,
                    "day": day,
                    "deadline": moment + dt.timedelta(days=1),
                },
            )
            app = (cur.fetchone() or (0,))[0]
            application = {
                "id": app,
                "person_id": pid,
                "applicant_person_id": pid,
                "channel": "egov",
                "entity_id": entity,
                "site_id": site,
                "district_id": district,
                "place_basis": "residence_permanent",
                "border_claim": False,
                "pregnant": False,
                "care_at_home": False,
                "change_reason": None,
                "state": "approved",
                "review": "",
                "reason_code": None,
                "reason_note": None,
                "submitted_at": moment,
                "filed_on": day,
                "deadline": moment + dt.timedelta(days=1),
                "decided_at": moment,
                "decided_by": None,
                "recorded_by": None,
                "version": 1,
            }
            running = [h for h in history if h[3] is None]
            last_day = BEGIN - dt.timedelta(days=1)
            for h in running:
                cur.execute(SQL["end"], (last_day, h[0], pid))
            new = {
                "person_id": pid,
                "entity_id": entity,
                "site_id": site,
                "district_id": district,
                "doctor_id": doctor,
                "place_basis": "residence_permanent",
                "cause": "voluntary_change",
                "begin_date": BEGIN,
                "end_date": None,
                "end_reason": None,
                "insured_until": None,
                "care_at_home": None,
                "application_id": app,
                "decided_on": day,
                "created_at": clock.now(),
                "created_by": None,
            }
            cur.execute(SQL["open"], new)
            new["id"] = (cur.fetchone() or (0,))[0]
            outbox = [
                (
                    "person",
                    pid,
                    "email" if email else "log",
                    email,
                    language or "ru",
                    "attachment.approved",
                    json.dumps(
                        {
                            "application_id": app,
                            "begin": BEGIN,
                            "entity": entity_name,
                            "site": site_name,
                            "address": address,
                            "district": number,
                        },
                        default=str,
                        sort_keys=True,
                    ),
                    moment,
                    moment,
                    f"application:{app}:approved:person:{pid}",
                )
            ]
            outbox += [
                (
                    "entity",
                    h[1],
                    "email" if h[8] else "log",
                    h[8],
                    h[7] or "ru",
                    "attachment.transfer_out",
                    json.dumps({"attachment_id": h[0], "person_id": pid, "begin": BEGIN}, default=str),
                    moment,
                    moment,
                    f"attachment:{h[0]}:transfer_out:entity:{h[1]}",
                )
                for h in running
                if h[1] != entity
            ]
            cur.execute(rows_sql("outbox", OUTBOX_ROW, len(outbox)), [v for row in outbox for v in row])
            events: list[tuple[Any, ...]] = [
                (moment, account, "application.submit", pid, "application", str(app), "egov")
            ]
            events += [(moment, None, "attachment.end", pid, "attachment", str(h[0]), "transfer") for h in running]
            events.append((moment, None, "attachment.open", pid, "attachment", str(new["id"]), "voluntary_change"))
            if len(events) != 3:
                raise RuntimeError("the benchmark's transfers end exactly one attachment")
            cur.execute(SQL["audit"], [v for e in events for v in e])
            audit_ids = sorted(r[0] for r in cur.fetchall())
            cur.execute(SQL["heads"], {"k": key, "g": chain.GENESIS})
            heads = {kind: (seq, head) for kind, seq, head in cur.fetchall()}
            wanted: list[tuple[str, int, str, str]] = []  # kind, record id, event, record hash
            for h in running:
                if not h[9]:
                    raise RuntimeError("the benchmark chains the appliers' histories first")
                end = chain.record_hash(
                    ATTACHMENT_CHAIN, {"id": h[0], "end_date": last_day, "end_reason": "transfer"}, chain.END
                )
                wanted.append(("attachment", h[0], chain.END, end))
            wanted.append(("attachment", new["id"], chain.OPEN, chain.record_hash(ATTACHMENT_CHAIN, new, chain.OPEN)))
            wanted.append(
                ("application", app, chain.OPEN, chain.record_hash(APPLICATION_CHAIN, application, chain.OPEN))
            )
            for audit_id, e in zip(audit_ids, events, strict=True):
                row = dict(zip(chain.AUDIT.open_fields, e, strict=True), id=audit_id)
                wanted.append(("audit", audit_id, chain.OPEN, chain.record_hash(chain.AUDIT, row, chain.OPEN)))
            links = []
            for kind, rid, ev, rec in wanted:
                seq, prev = heads[kind]
                lh = chain.link_hash(kind=kind, key=key, record_id=rid, event_=ev, rec_hash=rec, prev_hash=prev)
                links.append((kind, key, seq + 1, rid, ev, rec, prev, lh, moment))
                heads[kind] = (seq + 1, lh)
            cur.execute(rows_sql("link", LINK_ROW, len(links)), [v for row in links for v in row])
            moved = [v for kind in ("attachment", "audit", "application") for v in (kind, *heads[kind])]
            cur.execute(SQL["move"], [*moved, key])
            statements[0] += 15 + len(running)  # BEGIN, 13 statements and the ends, COMMIT

    def close() -> int:
        conn.close()
        return statements[0]

    return run, close
