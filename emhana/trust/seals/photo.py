"""A photo or scan of a seal's QR code, uploaded to the verifier: checked, bounded and decoded (zxing-cpp).

Decoding is the one costly step an anonymous client can ask for, so it is bounded three ways: the upload size
(MAX_UPLOAD), the pixel count read from the picture's header before any decoding (kzmb1.MAX_PIXELS), and the
number of decodes running at once in this process (DECODERS); a picture that finds no free decoder within
WAIT_SECONDS is refused with VerifierBusy (503) instead of queueing up memory.
"""

from __future__ import annotations

import threading
import time

import anyio
import anyio.to_thread

from emhana.kernel.errors import NoQrCode, UploadInvalid, UploadTooLarge, VerifierBusy
from emhana.trust.seals import kzmb1 as seal

MAX_UPLOAD = 8 * 1024 * 1024  # a phone photo; anything larger is refused before decoding
DECODERS = 2  # decodes at once per process: each holds at most MAX_PIXELS (about 40 MB decoded)
WAIT_SECONDS = 3.0  # how long a picture waits for a free decoder before VerifierBusy
_POLL_SECONDS = 0.05
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
SLOTS = threading.BoundedSemaphore(DECODERS)  # the decoders of this process (one per worker process)


def is_picture(data: bytes) -> bool:
    """Tell whether the bytes start like a PNG, JPEG or WebP file."""
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def text_of(data: bytes) -> str:
    """Return the text of the QR code in a picture; raise UploadTooLarge, UploadInvalid, PictureTooLarge or
    NoQrCode. Blocking: doors call ``decode`` instead, which bounds how many run at once."""
    if len(data) > MAX_UPLOAD:
        raise UploadTooLarge(limit=MAX_UPLOAD // (1024 * 1024))
    if not is_picture(data):
        raise UploadInvalid()
    text = seal.read_qr(data)
    if text is None:
        raise NoQrCode()
    return text


async def decode(data: bytes, *, wait: float | None = None) -> str:
    """Return the text of the QR code in a picture, decoded in a worker thread by one of DECODERS slots.

    A waiting picture polls for a slot on the event loop (it holds no worker thread while it waits, so waiting
    pictures cannot starve the thread pool the other routes use); after ``wait`` seconds (default WAIT_SECONDS) it
    gets VerifierBusy.
    The cheap checks (size, signature) run before any wait.
    """
    if len(data) > MAX_UPLOAD:
        raise UploadTooLarge(limit=MAX_UPLOAD // (1024 * 1024))
    if not is_picture(data):
        raise UploadInvalid()
    deadline = time.monotonic() + (WAIT_SECONDS if wait is None else wait)
    while not SLOTS.acquire(blocking=False):
        if time.monotonic() >= deadline:
            raise VerifierBusy()
        await anyio.sleep(_POLL_SECONDS)
    try:
        return await anyio.to_thread.run_sync(text_of, data)
    finally:
        SLOTS.release()
