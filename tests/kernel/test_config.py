"""Settings refuse a weak secret key (less than 32 bytes of entropy) with a message that says how to make one,
and read the public base URL and trusted hosts that absolute links are built from."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from emhana.kernel.config import MIN_SECRET_BITS, Settings, get_settings, secret_bits


@pytest.mark.parametrize(
    "weak",
    [
        "x",
        "k" * 48,
        "password" * 8,
        "test-secret-key-for-the-live-fhir-server",
        "5f0c3a9e7b21d4468a9c0e3f1b7d2a64",  # 16 bytes in hex: half of what is needed (fixed: xdist collects alike)
        "0123456789" * 5,
    ],
)
def test_a_weak_secret_is_refused_with_how_to_make_one(weak: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(secret_key=weak)
    message = str(refused.value)
    assert "EMHANA_SECRET_KEY is too weak" in message
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in message


def test_random_secrets_of_32_bytes_and_more_are_accepted() -> None:
    for _ in range(200):
        for strong in (secrets.token_urlsafe(48), secrets.token_hex(32), secrets.token_urlsafe(64)):
            assert secret_bits(strong) >= MIN_SECRET_BITS, strong
            assert Settings(secret_key=strong).secret_key == strong
    assert Settings(secret_key="").secret_key == ""  # none given: the demo draws one, a server refuses to start


def test_a_weak_secret_in_the_environment_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from emhana.app import create_app

    monkeypatch.setenv("EMHANA_SECRET_KEY", "s")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="too weak"):
            create_app()
    finally:
        get_settings.cache_clear()


def test_public_base_url_and_trusted_hosts() -> None:
    s = Settings(public_base_url=" https://emhana.example.kz/ ", trusted_hosts="A.example.kz, *.emhana.kz ,")
    assert s.public_base_url == "https://emhana.example.kz"
    assert s.trusted_host_names() == ("a.example.kz", "*.emhana.kz", "emhana.example.kz")
    assert Settings(public_base_url="https://emhana.example.kz").trusted_host_names() == ()
    for bad in ("emhana.example.kz", "ftp://emhana.example.kz", "https://x.kz/?a=1", "https:///path"):
        with pytest.raises(ValidationError):
            Settings(public_base_url=bad)
