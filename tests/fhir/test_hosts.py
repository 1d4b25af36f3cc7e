"""Absolute FHIR links (Bundle.link, entry.fullUrl) never carry a client's Host header: they come from
EMHANA_PUBLIC_BASE_URL, and with EMHANA_TRUSTED_HOSTS set a foreign Host is refused with 400."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from emhana.app import create_app
from emhana.kernel.config import Settings
from tests.builders.fhir import FhirWorld

EVIL = "evil.example"


def urls(bundle: dict[str, Any]) -> list[str]:
    return [x["url"] for x in bundle["link"]] + [e["fullUrl"] for e in bundle.get("entry", [])]


def search(client: TestClient, fw: FhirWorld, host: str) -> Any:
    r = client.get("/fhir/R4/Organization", params={"_count": "1"}, headers={**fw.w.h["mis_a"], "Host": host})
    return r


@contextmanager
def configured(database_url: str, **settings: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, **settings))  # type: ignore[arg-type]
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            yield c
    finally:
        app.state.engine.dispose()


def test_by_default_a_foreign_host_never_reaches_a_link(client: TestClient, fw: FhirWorld) -> None:
    r = search(client, fw, EVIL)
    assert r.status_code == 200, r.text
    links = urls(r.json())
    assert len(links) >= 3 and not any(EVIL in u for u in links)
    assert all(u.startswith("http://127.0.0.1:8000/fhir/R4/") for u in links)  # where the server listens
    # A loopback name (a developer's browser, a local MIS) is reflected with its port.
    local = urls(search(client, fw, "localhost:8123").json())
    assert all(u.startswith("http://localhost:8123/fhir/R4/") for u in local)


def test_links_are_built_from_the_public_base_url(database_url: str, fw: FhirWorld) -> None:
    with configured(database_url, public_base_url="https://emhana.example.kz/") as c:
        for host in (EVIL, "localhost", "emhana.example.kz"):
            links = urls(search(c, fw, host).json())
            assert links and all(u.startswith("https://emhana.example.kz/fhir/R4/") for u in links), links
        assert (
            c.get("/fhir/R4/metadata", headers={"Host": EVIL})
            .json()["implementation"]["url"]
            .startswith("https://emhana.example.kz/fhir/R4")
        )


def test_with_trusted_hosts_a_foreign_host_is_refused(database_url: str, fw: FhirWorld) -> None:
    with configured(database_url, trusted_hosts="emhana.example.kz, *.emhana.kz") as c:
        refused = search(c, fw, EVIL)
        assert refused.status_code == 400  # an OperationOutcome, as every error under /fhir (issue 17)
        assert refused.json()["issue"][0]["details"]["coding"][0]["code"] == "core.untrusted_host"
        assert refused.headers["content-type"].startswith("application/fhir+json")
        assert EVIL not in refused.text
        page = c.get("/verify?lang=kk", headers={"Host": f"{EVIL}:443"})
        assert page.status_code == 400 and "хостқа жауап бермейді" in page.json()["detail"]
        for host in ("emhana.example.kz", "EMHANA.example.kz:8443", "api.emhana.kz"):
            r = search(c, fw, host)
            assert r.status_code == 200
            assert all(u.lower().startswith(f"http://{host.lower()}/fhir/r4/") for u in urls(r.json()))
        assert search(c, fw, "emhana.kz").status_code == 400  # "*.emhana.kz" means its subdomains
