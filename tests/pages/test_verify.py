"""The public verifier: the page (pasted text, uploaded PNG, a photo-like degraded picture, bad uploads) and the
API with an image, both against the service's current lists."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from emhana.devtools.bench.focused.seal import photo_like
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals import photo
from tests.builders.scheme import issue


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.fixture
def text(sessions: sessionmaker[Session], seeded_entity: int) -> str:
    with sessions.begin() as s:
        return issue(s, seeded_entity)


@pytest.mark.parametrize(
    ("lang", "heading"), [("kk", "Мөрді тексеру"), ("ru", "Проверка печати"), ("en", "Verify a seal")]
)
def test_the_page_is_public_in_three_languages(client: TestClient, lang: str, heading: str) -> None:
    page = client.get(f"/verify?lang={lang}")
    assert page.status_code == 200 and heading in page.text and 'enctype="multipart/form-data"' in page.text


def test_a_pasted_text_gets_its_verdict_and_the_claims_without_an_iin(client: TestClient, text: str) -> None:
    page = client.get("/verify?lang=en")
    done = client.post("/verify", data={"csrf": csrf_of(page.text), "text": text})
    assert done.status_code == 200
    assert 'id="outcome">VALID<' in done.text and "СЕЙТҚАЛИ ДАНА" in done.text and "12.04.1995" in done.text
    assert "Check that the name and birth date match" in done.text
    # ... and in the other two languages, for a holder or inspector who reads another one.
    assert "Печать подписана указанной ниже организацией" in done.text and "Мөрге төменде аталған" in done.text
    assert not re.search(r"\b\d{12}\b", re.sub(r"<[^>]+>", " ", done.text).replace(text, ""))
    kk = client.post("/verify?lang=kk", data={"csrf": csrf_of(page.text), "text": "HELLO"})
    assert 'id="outcome">MALFORMED<' in kk.text and "Оқылатын мөр емес" in kk.text


def test_an_uploaded_png_and_a_degraded_photo_are_read(client: TestClient, text: str) -> None:
    token = csrf_of(client.get("/verify").text)
    png = seal.qr_png(text)
    done = client.post("/verify?lang=en", data={"csrf": token}, files={"image": ("seal.png", png, "image/png")})
    assert done.status_code == 200 and 'id="outcome">VALID<' in done.text
    degraded = photo_like(png)
    assert seal.read_qr(degraded) == text
    done = client.post("/verify?lang=ru", data={"csrf": token}, files={"image": ("photo.jpg", degraded, "image/jpeg")})
    assert done.status_code == 200 and 'id="outcome">VALID<' in done.text and "Действительна" in done.text


def test_bad_uploads_and_a_missing_csrf_are_refused_clearly(client: TestClient, text: str) -> None:
    token = csrf_of(client.get("/verify").text)
    not_image = client.post(
        "/verify?lang=en",
        data={"csrf": token},
        files={"image": ("notes.txt", b"KZMB1:hello, this is text", "text/plain")},
    )
    assert not_image.status_code == 422 and "The file is not a picture" in not_image.text
    blank = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(blank, format="PNG")
    no_code = client.post(
        "/verify?lang=en", data={"csrf": token}, files={"image": ("blank.png", blank.getvalue(), "image/png")}
    )
    assert no_code.status_code == 422 and "No QR code could be read" in no_code.text
    broken = client.post(
        "/verify?lang=en", data={"csrf": token}, files={"image": ("cut.png", seal.qr_png(text)[:200], "image/png")}
    )
    assert broken.status_code == 422
    empty = client.post("/verify?lang=en", data={"csrf": token, "text": "  "})
    assert empty.status_code == 422 and "Paste the text of the seal" in empty.text
    forged = client.post("/verify?lang=en", data={"csrf": "nope", "text": text})
    assert forged.status_code == 403 and 'id="outcome"' not in forged.text


def test_the_api_takes_an_image_and_refuses_bad_uploads(
    client: TestClient, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resp = client.post("/api/v1/verify", files={"image": ("seal.png", seal.qr_png(text), "image/png")})
    assert resp.status_code == 200
    body = resp.json()
    assert body["outcome"] == "VALID" and body["claims"]["name"] == "СЕЙТҚАЛИ ДАНА"
    assert body["trust_list"]["sequence"] >= 1 and body["revocation_list"]["sequence"] >= 1
    assert body["title"]["kk"] and body["meaning"]["ru"] and body["meaning"]["en"]
    assert client.post("/api/v1/verify", data={"text": text}).json()["outcome"] == "VALID"
    bad = client.post("/api/v1/verify", files={"image": ("x.pdf", b"%PDF-1.4 not a picture", "application/pdf")})
    assert bad.status_code == 422 and bad.json()["code"] == "trust.upload_invalid"
    assert bad.headers["content-type"].startswith("application/problem+json")
    blank = io.BytesIO()
    Image.new("L", (64, 64), 255).save(blank, format="PNG")
    none = client.post("/api/v1/verify", files={"image": ("b.png", blank.getvalue(), "image/png")})
    assert none.status_code == 422 and none.json()["code"] == "trust.no_qr_code"
    monkeypatch.setattr(photo, "MAX_UPLOAD", 1000)
    large = client.post("/api/v1/verify", files={"image": ("big.png", seal.qr_png(text, scale=8), "image/png")})
    assert large.status_code == 413 and large.json()["code"] == "trust.upload_too_large"
    assert client.post("/api/v1/verify", content=b"text", headers={"content-type": "text/plain"}).status_code == 422
