"""The public verifier bounds the work one anonymous picture can cause, on the page and in the API alike: a
decompression bomb is refused from its header with a coded kk/ru/en message, and when every decoder is busy a
picture is refused with 503 instead of piling up memory."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFile

from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals import photo
from tests.builders.web import csrf_of


@pytest.fixture(scope="module")
def bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (9400, 9400), 1).save(out, format="PNG", optimize=True)  # 88 MP in a few kilobytes
    return out.getvalue()


@pytest.fixture
def header_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record any decoding of a picture's pixels: a bomb must be refused from its header, never decoded (this is
    what "fast" means here, measured by what is done rather than by a timer)."""
    decoded: list[str] = []
    original = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> object:
        decoded.append(f"{self.format} {self.size}")
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    yield decoded


@pytest.fixture
def busy() -> Iterator[None]:
    """Every decoder of the process taken, as by slow pictures of other clients."""
    taken = [photo.SLOTS.acquire(blocking=False) for _ in range(photo.DECODERS)]
    assert all(taken)
    yield
    for _ in taken:
        photo.SLOTS.release()


def test_the_api_refuses_a_bomb_fast_with_a_coded_problem(
    client: TestClient, bomb: bytes, header_only: list[str]
) -> None:
    resp = client.post("/api/v1/verify?lang=kk", files={"image": ("bomb.png", bomb, "image/png")})
    assert header_only == []  # refused from the header: not one pixel decoded
    assert resp.status_code == 413 and resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == "trust.picture_too_large"
    assert body["messages"]["en"].startswith("The picture has more than 12 megapixels")
    assert "мегапиксель" in body["messages"]["kk"] and "мегапиксел" in body["messages"]["ru"]
    assert body["detail"] == body["messages"]["kk"]


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "more than 12 megapixels"), ("ru", "больше 12 мегапикселей"), ("kk", "12 мегапиксельден")],
)
def test_the_page_refuses_a_bomb_with_a_clear_message(
    client: TestClient, bomb: bytes, lang: str, words: str, header_only: list[str]
) -> None:
    token = csrf_of(client.get(f"/verify?lang={lang}").text)
    page = client.post(f"/verify?lang={lang}", data={"csrf": token}, files={"image": ("b.png", bomb, "image/png")})
    assert header_only == []  # refused from the header: not one pixel decoded
    assert page.status_code == 422 and words in page.text and 'id="outcome"' not in page.text


@pytest.mark.usefixtures("busy")
def test_with_every_decoder_busy_a_picture_gets_503_and_text_still_works(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(photo, "WAIT_SECONDS", 0.2)
    png = seal.qr_png("KZMB1:ANY")
    resp = client.post("/api/v1/verify", files={"image": ("seal.png", png, "image/png")})
    assert resp.status_code == 503 and resp.json()["code"] == "trust.verifier_busy"
    assert resp.headers["retry-after"] == "5"
    token = csrf_of(client.get("/verify?lang=en").text)
    page = client.post("/verify?lang=en", data={"csrf": token}, files={"image": ("s.png", png, "image/png")})
    assert page.status_code == 503 and "The verifier is busy reading other pictures" in page.text
    # Pasted text needs no decoder.
    assert client.post("/api/v1/verify", json={"text": "KZMB1:ANY"}).json()["outcome"] == "MALFORMED"


def test_an_ordinary_picture_is_decoded_so_the_header_check_above_can_fail(
    client: TestClient, header_only: list[str]
) -> None:
    out = io.BytesIO()
    Image.new("L", (64, 64), 255).save(out, format="PNG")
    client.post("/api/v1/verify?lang=en", files={"image": ("plain.png", out.getvalue(), "image/png")})
    assert header_only  # its pixels were read: the recorder sees decoding when it happens
