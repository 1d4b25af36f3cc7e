"""The Fund's outbox routes and the ``emhana notify`` commands, over the API and a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from emhana.accounts.roles import Role
from emhana.cli.notify import app as notify_cli
from emhana.notify.outbox import RecipientKind, set_contact
from emhana.testing.mail import Inbox
from tests.builders.attachment import Country

URL = "/api/v1"


def test_fund_lists_the_outbox_and_triggers_delivery_once_per_key(
    client: TestClient, auth: Callable[..., dict[str, str]], country: Country, person: Callable[..., int]
) -> None:
    pid = person()
    me = auth(Role.CITIZEN, person_id=pid)
    client.post(
        f"{URL}/attachment/applications",
        headers=me,
        json={"person_id": pid, "district_id": country.districts[("A1", 1)]},
    )
    fund = auth(Role.FUND_ADMIN)
    rows = client.get(f"{URL}/notify/outbox", headers=fund).json()
    assert [(r["template"], r["recipient_id"], r["state"]) for r in rows] == [("attachment.approved", pid, "pending")]
    assert "params" not in rows[0] and "address" not in rows[0]
    first = client.post(f"{URL}/notify/deliver", headers={**fund, "Idempotency-Key": "run-1"})
    assert first.status_code == 200 and first.json() == {"sent": 1, "failed": 0, "skipped": 0}
    replay = client.post(f"{URL}/notify/deliver", headers={**fund, "Idempotency-Key": "run-1"})
    assert replay.json() == first.json()
    assert client.get(f"{URL}/notify/outbox?state=sent", headers=fund).json()[0]["attempts"] == 1
    assert client.get(f"{URL}/notify/outbox?state=pending", headers=fund).json() == []
    assert client.get(f"{URL}/notify/outbox", headers=me).status_code == 403


def test_cli_delivers_by_smtp_and_reports_the_state(
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    country: Country,
    person: Callable[..., int],
    sessions: sessionmaker[Session],
    database_url: str,
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    pid = person()
    with sessions.begin() as s:
        set_contact(session=s, kind=RecipientKind.PERSON, recipient_id=pid, language="ru", email="a@example.kz")
    client.post(
        f"{URL}/attachment/applications",
        headers=auth(Role.CITIZEN, person_id=pid),
        json={"person_id": pid, "district_id": country.districts[("A1", 1)]},
    )
    runner = CliRunner()
    done = runner.invoke(
        notify_cli, ["deliver", "--database-url", database_url, "--smtp-host", "127.0.0.1", "--smtp-port", str(port)]
    )
    assert done.exit_code == 0, done.output
    assert "1 sent, 0 failed" in done.output and len(inbox.messages) == 1
    assert inbox.messages[0]["To"] == "a@example.kz"
    status = runner.invoke(notify_cli, ["status", "--database-url", database_url])
    assert status.exit_code == 0 and "sent: 1" in status.output and "pending: 0" in status.output
