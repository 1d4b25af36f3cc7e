"""Pages in tests: the CSRF token of a form, and signing in through the login form."""

from __future__ import annotations

import re

import httpx2
from fastapi.testclient import TestClient


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form of a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def login(client: TestClient, username: str, password: str = "secret-pass") -> httpx2.Response:
    """Post the login form with its CSRF token; return the response (a redirect on success)."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf": token}, follow_redirects=False
    )
