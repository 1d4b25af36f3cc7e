"""The demo banner: the demo clock, its campaign period and where each user journey starts (who signs in,
which page, whom to look for), printed by `emhana demo` and read by the browser walk (tests/browser/test_demo_walks.py)
as a person reads it."""

from __future__ import annotations

import datetime as dt
import shlex

from sqlalchemy import select
from sqlalchemy.orm import Session

from emhana.accounts.models import Account, ClientApp
from emhana.devtools import demo_clock, demo_people
from emhana.identity.models import Person
from emhana.kernel import clock
from emhana.kernel.db import make_engine, make_sessionmaker
from emhana.trust.signatures import demo as demo_signing

DEMO_CLIENT_ID = "demo-mis-app"  # the demo's client application (SMART Backend Services)
DEMO_CLIENT_KID = "demo-mis-app-1"
DEMO_CLIENT_KEY = "demo-mis-app.key.pem"  # its private key, in the demo folder beside the PKCS#12 files
DEMO_CLIENT_JWKS = "demo-mis-app.jwks.json"
MIS_USERNAME = "demo-mis-client"
PUSH_AUTHOR = "demo-clinician"  # signs the pushed bundle with its demo PKCS#12 file
CLIENT_SCRIPT = ".venv/bin/python examples/mis_client.py"  # from the repository, as `make demo` runs


def journey_starts(url: str, day: dt.date) -> demo_people.Starts:
    """Return where the journeys start in a seeded demo database (demo_people.starts)."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return demo_people.starts(s, day)
    finally:
        engine.dispose()


def banner(url: str, base: str, day: dt.date) -> list[str]:
    """Return the lines of the demo banner on its clock and the journeys' starting points."""
    start = demo_clock.start_of(day)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            campaign = demo_clock.campaign_line(s, day)
            j = demo_people.starts(s, day)
            mis = mis_push_lines(s, url, base, day)
    finally:
        engine.dispose()
    lines = [
        f"Demo clock: {start:%A %d.%m.%Y %H:%M} (Kazakhstan, UTC+5), running from there; "
        "another day: emhana demo --today YYYY-MM-DD",
        f"  {campaign}",
    ]
    if start < clock.SYSTEM.now() - dt.timedelta(minutes=5):
        lines.append(
            "  The demo clock is behind the machine's: signatures made now (desk, EDS sign-in) carry a signing "
            "time after it and are refused; choose a day from today on to sign."
        )
    lines += [
        "Journeys:",
        f"  1 demo-citizen, {j.citizen}: change clinic near home — {base}/attachment/clinics",
        f"    registered at {j.home}; lives at {j.actual}",
        f"  2 demo-citizen applies for the child {j.infant} by actual residence (A-23) — {base}/attachment/clinics;"
        f" the other child: {j.pupil}; demo-neighbour ({j.neighbour}) represents neither and is refused",
        f"  3 demo-registrar records the written application of pensioner {j.pensioner}, IIN {j.pensioner_iin},"
        f" with the pension certificate, then approves it from the queue — {base}/attachment/record",
        f"  4 demo-fund-admin excludes {j.excludable} and sees its people redistributed — {base}/fund/entities/"
        + (str(j.excludable_id) if j.excludable_id is not None else "(no organization to exclude on this day)"),
        f"  10 demo-fund-admin: the campaign dashboard {base}/attachment/dashboard; capitation snapshots "
        f"{base}/attachment/snapshots",
        *mis,
    ]
    return lines


def _person_of(session: Session, username: str) -> Person | None:
    return session.scalar(
        select(Person).join(Account, Account.person_id == Person.id).where(Account.username == username)
    )


def mis_push_lines(session: Session, url: str, base: str, day: dt.date) -> list[str]:
    """Return the banner's commands that push a bundle signed by demo-clinician into the demo citizen's book with
    examples/mis_client.py: with demo-mis-client's bearer token, and as the demo client application by SMART
    Backend Services (empty without the demo folder of a SQLite demo)."""
    from emhana.devtools.pki_demo import DEMO_PASSWORD

    folder = demo_signing.pki_folder(url)
    worker, author = _person_of(session, "demo-citizen"), _person_of(session, PUSH_AUTHOR)
    p12 = folder / f"{PUSH_AUTHOR}.p12" if folder is not None else None
    if worker is None or author is None or p12 is None or not p12.exists():
        return []
    q = shlex.quote
    push = (
        f"push --iin {worker.iin} --author-iin {author.iin} --p12 {q(str(p12))} --password {q(DEMO_PASSWORD)} "
        f"--observation 20507-0:NEG:{day.isoformat()} --xray {day.isoformat()}"
    )
    fhir = f"{base}/fhir/R4"
    lines = [
        f'MIS integration (README, "Onboarding an MIS"): {PUSH_AUTHOR} signs results for the demo citizen\'s book',
        f"  push with {MIS_USERNAME}'s bearer token: {CLIENT_SCRIPT} --base {fhir} --username {MIS_USERNAME} "
        f"--user-password demo {push}",
    ]
    key = folder / DEMO_CLIENT_KEY if folder is not None else None
    client = session.scalar(select(ClientApp).where(ClientApp.client_id == DEMO_CLIENT_ID, ClientApp.active))
    if client is not None and key is not None and key.exists():
        lines.append(
            f"  push as the client application {DEMO_CLIENT_ID} (SMART Backend Services): {CLIENT_SCRIPT} "
            f"--base {fhir} --client-id {DEMO_CLIENT_ID} --key {q(str(key))} --kid {DEMO_CLIENT_KID} {push}"
        )
    return lines
