"""Load profiles (issue 18, item 2): a campaign day's peak hour and the employers' and inspectors' clearance checks,
at national volume, offered open-loop to the real server (emhana.devtools.bench.http.open_loop).

Each profile derives its offered rates from the national figures of docs/scale.md §4, stating every
assumption it adds, and reports per kind the offered and achieved rate, p50 and p99 from the scheduled instant and
the errors (0 expected: a non-2xx answer never counts toward a rate). `factor` multiplies the national rates
(headroom: 2 is twice the country's peak).

* campaign-peak: 200–400 k attachment changes per campaign over ~61 days, perhaps 10× on the first and last days;
  requests until 18:00 on working days. The peak hour takes the upper figure: 400 k / 61 days × 10 = a peak day
  of ~65.6 k applications, of which the busiest hour carries 20 % (assumed: a 9-hour working day, its busiest hour
  about twice the mean hour) → ~3.6 applications/s. Each application comes with 10 near searches (people
  comparing clinics, those who look and do not apply included; assumed) and 3 status reads (assumed). An eGov
  voluntary change is decided in its own transaction (approved or refused at once), so decisions/s =
  applications/s, inside the application's answer. The server stands on a day inside the campaign window.
* clearance-checks: 1.6 M workers with a medical book. Each book's QR seal is verified once a working week by the
  employer at the door or a sanitary inspector (assumed) → 320 k a day, 30 % in the morning's peak hour (assumed)
  → ~26.7 verifications/s (public POST /api/v1/verify of seals issued by the registry). Employers read their
  workers' clearance list once a working day, 50 k employers (the harness's BIN count; no national figure found),
  30 % in the peak hour → ~4.2 list reads/s (GET /api/v1/medbook/employer/workers, each worker's read logged).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

from emhana.accounts.roles import Role
from emhana.devtools.bench import campaign, http

Say = Callable[[str], None]

# docs/scale.md §4 (national figures) and the assumptions named above
CAMPAIGN_REQUESTS = 400_000  # attachment changes per campaign (upper figure of 0.2–0.5 M)
CAMPAIGN_DAYS = 61
PEAK_DAY_FACTOR = 10.0  # the first and last days
PEAK_HOUR_SHARE = 0.20  # of a peak day's requests in its busiest hour (assumed)
NEAR_PER_APPLICATION = 10.0  # assumed
STATUS_PER_APPLICATION = 3.0  # assumed
BOOKS = 1_600_000  # workers with a medical book
SEAL_CHECKS_PER_BOOK_PER_DAY = 1 / 5  # once a working week (assumed)
EMPLOYERS = 50_000  # the harness's BINs (emhana.devtools.bench.medbooks); assumed
CLEARANCE_PEAK_HOUR_SHARE = 0.30  # assumed
DEVICES = 5_000  # distinct client addresses the seal verifications come from (one device each)
PROXY = {"EMHANA_TRUSTED_PROXIES": "127.0.0.1"}  # the server's env: the load generator is its balancer


@dataclass(frozen=True)
class Rate:
    """One kind of request of a profile at national volume: its rate and how it was derived."""

    kind: str
    what: str
    per_second: float
    derivation: str


def campaign_rates() -> list[Rate]:
    peak_day = CAMPAIGN_REQUESTS / CAMPAIGN_DAYS * PEAK_DAY_FACTOR
    apps = peak_day * PEAK_HOUR_SHARE / 3600
    how = (
        f"{CAMPAIGN_REQUESTS:,} changes / {CAMPAIGN_DAYS} days × {PEAK_DAY_FACTOR:.0f} (peak day {peak_day:,.0f}) "
        f"× {PEAK_HOUR_SHARE:.0%} in the peak hour / 3600 s"
    )
    return [
        Rate("application", "POST /api/v1/attachment/applications (eGov, decided at once)", apps, how),
        Rate(
            "near",
            "GET /api/v1/attachment/near (public, free places)",
            apps * NEAR_PER_APPLICATION,
            f"{NEAR_PER_APPLICATION:.0f} per application",
        ),
        Rate(
            "status",
            "GET /api/v1/attachment/me (the applicant's status)",
            apps * STATUS_PER_APPLICATION,
            f"{STATUS_PER_APPLICATION:.0f} per application",
        ),
    ]


def clearance_rates() -> list[Rate]:
    seals = BOOKS * SEAL_CHECKS_PER_BOOK_PER_DAY * CLEARANCE_PEAK_HOUR_SHARE / 3600
    lists = EMPLOYERS * CLEARANCE_PEAK_HOUR_SHARE / 3600
    return [
        Rate(
            "seal_verify",
            "POST /api/v1/verify (public, a registry-issued seal)",
            seals,
            f"{BOOKS:,} books × 1/5 a day × {CLEARANCE_PEAK_HOUR_SHARE:.0%} in the peak hour / 3600 s",
        ),
        Rate(
            "employer_list",
            "GET /api/v1/medbook/employer/workers (employer, each read logged)",
            lists,
            f"{EMPLOYERS:,} employers once a day × {CLEARANCE_PEAK_HOUR_SHARE:.0%} in the peak hour / 3600 s",
        ),
    ]


PROFILES: dict[str, Callable[[], list[Rate]]] = {
    "campaign-peak": campaign_rates,
    "clearance-checks": clearance_rates,
}


@dataclass
class ProfileResult:
    """One profile's run: its rates (national × factor), the per-kind results, and the checks."""

    name: str
    factor: float
    seconds: float
    rates: list[Rate]
    results: list[http.KindResult] = field(default_factory=list)
    checks: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.results)


def _applicants(engine: Engine, needed: int, seed: int) -> list[campaign.Job]:
    """Adults who have never applied and hold no identity card yet, each with a target district of their unit
    (not their own) with a free place; they get an identity card and their attachment rows chained, as
    emhana.devtools.bench.campaign.prepare does for the burst."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        districts = conn.execute(
            text(
                "SELECT d.id, d.site_id, s.entity_id, s.kato_code, d.capacity - COALESCE(n.open, 0) "
                "FROM district d JOIN site s ON s.id = d.site_id LEFT JOIN (SELECT district_id, COUNT(*) AS open "
                "FROM attachment WHERE end_date IS NULL GROUP BY district_id) n ON n.district_id = d.id "
                "WHERE d.active AND d.profile IN ('gp', 'therapist') ORDER BY d.id"
            )
        ).all()
        by_unit: dict[str, list[list[int]]] = {}
        for d_id, site, entity, kato, free in districts:
            by_unit.setdefault(campaign._unit(kato), []).append([d_id, site, entity, free])
        low, high = conn.execute(text("SELECT MIN(id), MAX(id) FROM person")).one()
        jobs: list[campaign.Job] = []
        seen: set[int] = set()
        for _round in range(50):  # random person ids, so the cost does not grow with the population
            ids = [i for i in {rng.randint(low, high) for _ in range(max(200, needed * 20))} if i not in seen]
            seen.update(ids)
            people = conn.execute(
                text(
                    "SELECT p.id, a.kato_code, t.district_id FROM person p "
                    "JOIN person_address a ON a.person_id = p.id JOIN attachment t ON t.person_id = p.id "
                    "AND t.end_date IS NULL WHERE p.id = ANY(:ids) AND p.birth_date <= :adult "
                    "AND p.category IN ('citizen', 'kandas') "
                    "AND NOT EXISTS (SELECT 1 FROM attachment_application x WHERE x.person_id = p.id) "
                    "AND NOT EXISTS (SELECT 1 FROM identity_document i WHERE i.person_id = p.id) "
                    "AND NOT EXISTS (SELECT 1 FROM attachment y WHERE y.person_id = p.id AND y.id <> t.id) "
                    "ORDER BY p.id"
                ),
                {"ids": ids, "adult": dt.date(campaign.NOW.year - 19, 1, 1)},
            ).all()
            for pid, kato, current in people:
                options = [d for d in by_unit.get(campaign._unit(kato), []) if d[0] != current and d[3] > 0]
                if options and len(jobs) < needed:
                    target = rng.choice(options)
                    target[3] -= 1
                    jobs.append((pid, target[0], target[1], target[2]))
            if len(jobs) >= needed or len(seen) > (high - low + 1) // 2:
                break
        if jobs:
            campaign.chain_histories(conn, [j[0] for j in jobs])
            conn.execute(
                text(
                    "INSERT INTO identity_document (person_id, kind, number, expires_on) "
                    "VALUES (:p, 'id_card', :n, NULL)"
                ),
                [{"p": j[0], "n": f"P{j[0]:09d}"} for j in jobs],
            )
    return jobs


def _near_points(engine: Engine, count: int, seed: int) -> list[tuple[float, float]]:
    """Points a little off random sites (inside the country: the answer is then 200)."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        sites = conn.execute(text("SELECT lat, lon FROM site WHERE lat IS NOT NULL ORDER BY id")).all()
    return [
        (round(float(lat) + rng.uniform(-0.01, 0.01), 5), round(float(lon) + rng.uniform(-0.01, 0.01), 5))
        for lat, lon in (rng.choice(sites) for _ in range(count))
    ]


def _refused(host: str, port: int, calls: list[http.Call], label: str, out: ProfileResult) -> None:
    """Send a sample once (untimed); any call that does not answer 200 is a harness error: note it."""
    refused = http.check(host, port, calls)
    if refused:
        statuses = sorted({s for _c, s in refused})
        out.notes.append(f"{out.name}: {len(refused)} of {len(calls)} {label} answered {statuses} before timing")
        out.checks[f"precheck_refused_{label}"] = float(len(refused))


def _answering(host: str, port: int, calls: list[http.Call], label: str, out: ProfileResult) -> list[http.Call]:
    """Keep the calls of a sample that answer 200 once (a point the near search refuses, outside the country, is
    the harness's choice, not the server's error); note how many were left out."""
    refused = {c.path for c, _s in http.check(host, port, calls)}
    if refused:
        out.notes.append(f"{out.name}: {len(refused)} of {len(calls)} {label} sample paths left out (not 200)")
    return [c for c in calls if c.path not in refused]


def run_campaign_peak(
    engine: Engine,
    url: str,
    *,
    seconds: float,
    warm_up: float,
    factor: float,
    seed: int,
    connections: int = 64,
    served: tuple[str, int] | None = None,
) -> ProfileResult:
    """The campaign day's peak hour through the real server standing inside the campaign window (its own server:
    `served` is refused)."""
    if served is not None:
        raise ValueError("campaign-peak starts its own server, on a day inside the campaign window")
    rates = [Rate(r.kind, r.what, r.per_second * factor, r.derivation) for r in campaign_rates()]
    out = ProfileResult("campaign-peak", factor, seconds, rates)
    arrivals = http.schedule({r.kind: r.per_second for r in rates}, warm_up + seconds, seed)
    needed = sum(1 for _t, k in arrivals if k == "application")
    jobs = _applicants(engine, needed, seed)
    if len(jobs) < needed:
        out.notes.append(f"campaign-peak: {len(jobs)} applicants with a free place for {needed} arrivals")
    accounts = http.tokens(engine, Role.CITIZEN, "bench-applicant", person_ids=[j[0] for j in jobs], now=campaign.NOW)
    by_person = dict(zip((j[0] for j in jobs), (t for _a, t in accounts), strict=True))
    applications = [
        http.Call(
            "POST",
            "/api/v1/attachment/applications",
            by_person[pid],
            json.dumps({"person_id": pid, "district_id": district}).encode(),
        )
        for pid, district, _site, _entity in jobs
    ]
    rng = random.Random(seed)
    status_calls = [http.Call("GET", "/api/v1/attachment/me", t) for _a, t in accounts] or [
        http.Call("GET", "/api/v1/ping")
    ]
    near_calls = [
        http.Call("GET", f"/api/v1/attachment/near?lat={lat}&lon={lon}") for lat, lon in _near_points(engine, 200, seed)
    ]
    rng.shuffle(status_calls)
    env = {"EMHANA_BENCH_CLOCK": campaign.NOW.isoformat()}
    with http.server(url, factory="emhana.devtools.bench.serve:create_app", env=env) as (host, port, _proc):
        near_calls = _answering(host, port, near_calls, "near", out)
        _refused(host, port, status_calls[:50], "status", out)
        kinds = [
            http.Kind("application", rates[0].per_second, applications, cycle=False),
            http.Kind("near", rates[1].per_second, near_calls),
            http.Kind("status", rates[2].per_second, status_calls),
        ]
        out.results = http.open_loop(
            host, port, kinds, seconds=seconds, warm_up=warm_up, connections=connections, seed=seed
        )
    over, double = campaign.overbooking(engine)
    with engine.connect() as conn:
        approved = conn.scalar(
            text("SELECT COUNT(*) FROM attachment_application WHERE person_id = ANY(:p) AND state = 'approved'"),
            {"p": [j[0] for j in jobs]},
        )
    out.checks.update(
        {"overbooked_districts": float(over), "double_attached": float(double), "approved": float(approved or 0)}
    )
    return out


def _seals(engine: Engine, count: int) -> list[str]:
    """Issue `count` clearance seals by the registry (each book's facility DSC, trust lists published) and check
    that each verifies VALID against the published lists before timing."""
    from emhana.kernel.clock import now as clock_now
    from emhana.kernel.db import make_sessionmaker, unit_of_work
    from emhana.trust.scheme import issue, publish
    from emhana.trust.seals import cwt
    from emhana.trust.seals.verifier import Outcome

    sessions = make_sessionmaker(engine)
    moment = clock_now()
    with engine.connect() as conn:
        entities = list(
            conn.scalars(text("SELECT entity_id FROM medical_book GROUP BY entity_id ORDER BY COUNT(*) DESC LIMIT 5"))
        )
    sections = ((cwt.Section.EXAM, moment.date() - dt.timedelta(days=20)),)
    texts: list[str] = []
    with unit_of_work(sessions) as s:
        for i in range(count):
            clearance = cwt.Clearance(
                f"ТЕСТОВ ТЕСТ {i}", dt.date(1990, 1, 1), cwt.ClearanceStatus.FIT, ("food",), sections, 2, bytes(16)
            )
            texts.append(
                issue.issue_clearance(
                    s,
                    entity_id=int(entities[i % len(entities)]),
                    clearance=clearance,
                    expires_at=moment + dt.timedelta(days=180),
                    now=moment,
                )
            )
        for name in (publish.TRUST, publish.REVOCATIONS):
            publish.refresh(s, name, now=moment, force=True)
    with unit_of_work(sessions) as s:
        bad = [t for t in texts if publish.verify_text(s, t).outcome is not Outcome.VALID]
    if bad:
        raise RuntimeError(f"{len(bad)} of the benchmark's seals do not verify VALID")
    return texts


def run_clearance_checks(
    engine: Engine,
    url: str,
    *,
    seconds: float,
    warm_up: float,
    factor: float,
    seed: int,
    connections: int = 64,
    served: tuple[str, int] | None = None,
) -> ProfileResult:
    """Employers' clearance lists and QR seal verifications at national volume through the real server."""
    from emhana.kernel.config import get_settings

    rates = [Rate(r.kind, r.what, r.per_second * factor, r.derivation) for r in clearance_rates()]
    out = ProfileResult("clearance-checks", factor, seconds, rates)
    seals = _seals(engine, 20)
    # Each verification comes from its own device: the load generator stands for the balancer and forwards a
    # client address per request (the server trusts 127.0.0.1 as its proxy, EMHANA_TRUSTED_PROXIES), so the
    # verifier's per-address rate limit (emhana.web.ratelimit) stays on and counts each device apart.
    verify_calls = [
        http.Call(
            "POST",
            "/api/v1/verify",
            body=json.dumps({"text": seals[i % len(seals)]}).encode(),
            headers=(("X-Forwarded-For", f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"),),
        )
        for i in range(DEVICES)
    ]
    with engine.connect() as conn:
        bins = list(
            conn.scalars(
                text(
                    "SELECT employer_number FROM medbook_employment GROUP BY employer_number "
                    "ORDER BY md5(employer_number || :salt) LIMIT 200"
                ),
                {"salt": str(seed)},
            )
        )
    accounts = http.tokens(engine, Role.EMPLOYER, "bench-employer", count=len(bins))
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO medbook_employer (account_id, bin, linked_at) VALUES (:a, :b, now())"),
            [{"a": a, "b": b} for (a, _t), b in zip(accounts, bins, strict=True)],
        )
    list_calls = [http.Call("GET", "/api/v1/medbook/employer/workers", t) for _a, t in accounts]
    # The server shares this process's secret key if it has one (the scheme's keys are wrapped with it; the lists
    # were just published, so the server has no need to sign new ones during the run).
    secret = get_settings().secret_key
    env = {"EMHANA_SECRET_KEY": secret, **PROXY} if secret else PROXY

    def drive(host: str, port: int) -> None:
        _refused(host, port, verify_calls[:50], "seal_verify", out)
        _refused(host, port, list_calls[:50], "employer_list", out)
        kinds = [
            http.Kind("seal_verify", rates[0].per_second, verify_calls),
            http.Kind("employer_list", rates[1].per_second, list_calls),
        ]
        out.results = http.open_loop(
            host, port, kinds, seconds=seconds, warm_up=warm_up, connections=connections, seed=seed
        )

    if served is not None:  # the server of the HTTP reads (the system's clock, a fresh secret: lists just published)
        drive(*served)
        return out
    with http.server(url, env=env) as (host, port, _proc):
        drive(host, port)
    return out


RUNNERS = {"campaign-peak": run_campaign_peak, "clearance-checks": run_clearance_checks}
