"""Pictures sent to the verifier are bounded: pixels from the header before decoding (a decompression bomb is
refused fast and with little memory) and a small pool of decoders (the rest wait briefly, then VerifierBusy)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import pytest
from PIL import Image

from emhana.kernel.errors import PictureTooLarge, VerifierBusy
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals import photo


def bomb_png(side: int = 9400) -> bytes:
    """A small PNG that declares side x side pixels (9400: 88 MP, just under Pillow's own 89 MP warning)."""
    out = io.BytesIO()
    Image.new("1", (side, side), 1).save(out, format="PNG", optimize=True)
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return bomb_png()


def test_a_picture_above_the_pixel_cap_is_refused_from_its_header(bomb: bytes) -> None:
    assert len(bomb) < 300_000
    started = time.perf_counter()
    with pytest.raises(PictureTooLarge) as refused:
        seal.read_qr(bomb)
    assert time.perf_counter() - started < 0.5
    assert refused.value.status == 413 and refused.value.params == {"limit": seal.MAX_PIXELS // 1_000_000}
    with pytest.raises(PictureTooLarge):
        photo.text_of(bomb)
    # Just under the cap a picture is still read (a blank one holds no QR code).
    assert seal.read_qr(bomb_png(3400)) is None


def test_beyond_pillow_s_own_limit_a_bomb_is_refused_not_warned() -> None:
    out = io.BytesIO()
    Image.new("1", (20_000, 10_000), 1).save(out, format="PNG")  # 200 MP: Pillow itself refuses above 2x its limit
    with pytest.raises(PictureTooLarge):
        seal.read_qr(out.getvalue())
    seal.refuse_bombs()
    assert Image.MAX_IMAGE_PIXELS == seal.MAX_PIXELS


def test_a_bomb_costs_little_memory(tmp_path: Path, bomb: bytes) -> None:
    """Measured in a fresh process: its peak memory with the bomb stays near its peak without it."""
    (tmp_path / "bomb.png").write_bytes(bomb)
    probe = (
        "import json, resource, sys\n"
        "from emhana.trust.seals import kzmb1\n"
        "kzmb1.read_qr(kzmb1.qr_png('KZMB1:WARMUP'))\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    kzmb1.read_qr(open(sys.argv[1], 'rb').read())\n"
        "    refused = False\n"
        "except Exception as exc:\n"
        "    refused = type(exc).__name__\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'grew_kb': after - before, 'refused': refused}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "bomb.png")], capture_output=True, text=True, check=True
    )
    measured = json.loads(done.stdout)
    assert measured["refused"] == "PictureTooLarge"
    assert measured["grew_kb"] < 30 * 1024, measured  # decoding it would take about 90 MB, and 700 MB in RGB


def test_at_most_two_decodes_run_at_once_and_the_rest_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def slow(_: bytes) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        return "KZMB1:X"

    monkeypatch.setattr(seal, "read_qr", slow)
    png = seal.qr_png("KZMB1:X")
    results: list[str] = []

    async def main() -> None:
        async def one() -> None:
            results.append(await photo.decode(png, wait=5))

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(one)

    anyio.run(main)
    assert results == ["KZMB1:X"] * 5 and peak == photo.DECODERS == 2


def test_a_picture_that_finds_no_free_decoder_is_refused_as_busy() -> None:
    png = seal.qr_png("KZMB1:X")
    taken = [photo.SLOTS.acquire(blocking=False) for _ in range(photo.DECODERS)]
    try:
        assert all(taken)
        started = time.perf_counter()
        with pytest.raises(VerifierBusy) as busy:
            anyio.run(lambda: photo.decode(png, wait=0.2))
        assert 0.15 < time.perf_counter() - started < 2 and busy.value.status == 503
    finally:
        for _ in taken:
            photo.SLOTS.release()
    assert anyio.run(lambda: photo.decode(png, wait=0.2)) == "KZMB1:X"
