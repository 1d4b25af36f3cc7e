"""Journey in a real browser: an inspector verifies a seal by pasting its text and by uploading a photo of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders.browser import seed
from tests.builders.servers import serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sealed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Serve a seeded database in which the first entity has issued a seal; yield the base URL and the seal."""
    from emhana.app import create_app
    from emhana.kernel.config import Settings
    from emhana.kernel.db import make_engine, make_sessionmaker, unit_of_work
    from emhana.kernel.migrate import upgrade
    from emhana.trust.scheme import issue as seals
    from emhana.trust.scheme import signers
    from emhana.trust.seals.cwt import Clearance, ClearanceStatus

    url = f"sqlite:///{tmp_path_factory.mktemp('verify') / 'emhana.db'}"
    upgrade(url)
    seed(url)
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            entity = signers.entity_by_bin(s, "150340001236")
            text = seals.issue_clearance(
                s,
                entity_id=entity.id,
                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=90),
                clearance=Clearance("ӘБІЛҚАЙЫР ЖАНАР", dt.date(1988, 6, 2), ClearanceStatus.FIT, ("food",)),
            )
    finally:
        engine.dispose()
    with serve(create_app(Settings(database_url=url)), "uvicorn-verify") as base:
        yield base, text


def test_an_inspector_pastes_a_seal_then_uploads_its_photo(
    sealed_server: tuple[str, str], page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    from emhana.trust.seals.kzmb1 import qr_png

    base, text = sealed_server
    page.goto(f"{base}/verify?lang=kk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Мөрді тексеру")
    page.get_by_label("QR код мәтіні (KZMB1: деп басталады)").fill(text)
    page.get_by_role("button", name="Тексеру").click()
    expect(page.locator("#outcome")).to_have_text("VALID")
    expect(page.locator("#claims")).to_contain_text("ӘБІЛҚАЙЫР ЖАНАР")

    picture = tmp_path / "seal.png"
    picture.write_bytes(qr_png(text))
    page.goto(f"{base}/verify?lang=en")
    page.get_by_label("or a photo of the QR code").set_input_files(str(picture))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#outcome")).to_have_text("VALID")
    expect(page.locator("#meaning")).to_contain_text("Check that the name and birth date match")

    page.goto(f"{base}/verify?lang=ru")
    page.get_by_label("Текст QR-кода (начинается с KZMB1:)").fill(text[:-6] + "ABCDEF")
    page.get_by_role("button", name="Проверить").click()
    expect(page.locator("#outcome")).not_to_have_text("VALID")
