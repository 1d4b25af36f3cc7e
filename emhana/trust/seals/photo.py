"""A photo or scan of a seal's QR code, uploaded to the verifier: checked, bounded and decoded (zxing-cpp)."""

from __future__ import annotations

from emhana.kernel.errors import NoQrCode, UploadInvalid, UploadTooLarge
from emhana.trust.seals import kzmb1 as seal

MAX_UPLOAD = 8 * 1024 * 1024  # a phone photo; anything larger is refused before decoding
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def is_picture(data: bytes) -> bool:
    """Tell whether the bytes start like a PNG, JPEG or WebP file."""
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def text_of(data: bytes) -> str:
    """Return the text of the QR code in a picture; raise UploadTooLarge, UploadInvalid or NoQrCode."""
    if len(data) > MAX_UPLOAD:
        raise UploadTooLarge(limit=MAX_UPLOAD // (1024 * 1024))
    if not is_picture(data):
        raise UploadInvalid()
    text = seal.read_qr(data)
    if text is None:
        raise NoQrCode()
    return text
