"""The facility QR seal: `KZMB1:` + base45(zlib(COSE_Sign1(CWT))) (docs/credentials.md §6.2), issued and rendered."""

from __future__ import annotations

import datetime as dt
import io
import secrets
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import segno
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emhana.kernel.errors import CertificateInvalid, PictureTooLarge, SealMalformed, SealRefused
from emhana.trust.keys import es256
from emhana.trust.keys.certs import load_pkcs12, subject_bin, subject_organization
from emhana.trust.seals import base45, cose, cwt

PREFIX = "KZMB1:"
# The largest text a QR code holds (version 40, level L, alphanumeric) plus room for a prefix: longer is hostile.
MAX_TEXT = 4296 + 8
# Inflated COSE is capped against zlib bombs (§6.2); a real seal inflates to well under 1 KiB.
MAX_INFLATED = 64 * 1024
# A photo of a QR code needs a few megapixels (a V15 code at 10 pixels per module is under 1 MP; a phone's photo
# is 12 MP): larger pictures are refused from their header, before decoding. Pillow's own decompression-bomb
# limit (89 MP) is far above this, so its warning never decides anything here.
MAX_PIXELS = 12_000_000
PICTURE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")  # TIFF: scans, and the images inside our PDFs


@dataclass(frozen=True)
class SealSigner:
    """A facility document-signer: its ES256 key, its DSC, the DSC's kid and the facility BIN in the DSC subject."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    kid: bytes
    bin: str
    facility_name: str

    @classmethod
    def of(cls, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> SealSigner:
        """Return the signer of a key and its DSC; raise CertificateInvalid if they do not fit a seal signer."""
        if not isinstance(key.curve, ec.SECP256R1):
            raise CertificateInvalid(reason="a seal key must be ECDSA P-256 (ES256)")
        fmt = serialization.PublicFormat.SubjectPublicKeyInfo
        enc = serialization.Encoding.DER
        if key.public_key().public_bytes(enc, fmt) != certificate.public_key().public_bytes(enc, fmt):
            raise CertificateInvalid(reason="the key does not belong to the certificate")
        bin_ = subject_bin(certificate)
        if bin_ is None:
            raise CertificateInvalid(reason="the signer certificate has no OU=BIN<12 digits>")
        der = certificate.public_bytes(serialization.Encoding.DER)
        return cls(key, certificate, es256.kid_of(der), bin_, subject_organization(certificate) or "")

    @classmethod
    def from_pkcs12(cls, data: bytes, password: str) -> SealSigner:
        """Return the signer stored in a password-protected PKCS#12 file."""
        key, cert, _chain = load_pkcs12(data, password)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CertificateInvalid(reason="a seal key must be ECDSA P-256 (ES256)")
        return cls.of(key, cert)


@dataclass(frozen=True)
class Stages:
    """Every layer of one seal, as the dgc-testdata layout records them (§6.7)."""

    cbor: bytes
    cose: bytes
    compressed: bytes
    base45: str
    text: str


def new_cti() -> bytes:
    """Return a fresh random seal-version id (§6.3 cti: 16 random bytes, no PII)."""
    return secrets.token_bytes(cwt.CTI_LENGTH)


def to_seconds(moment: dt.datetime) -> int:
    """Return the NumericDate of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return int(moment.timestamp())


def encode_transport(cose_bytes: bytes, prefix: str = PREFIX) -> tuple[bytes, str, str]:
    """Return the zlib bytes, the base45 text and the prefixed text of a COSE message (§6.2)."""
    compressed = zlib.compress(cose_bytes, 9)
    text = base45.encode(compressed)
    return compressed, text, prefix + text


def build(claims: cwt.AnyClaims, signer: SealSigner) -> Stages:
    """Return every layer of the seal of these claims (medical book or attachment notice) signed by this signer."""
    body = cwt.encode(claims)
    message = cose.encode_sign1(body, signer.key, signer.kid)
    compressed, b45, text = encode_transport(message)
    return Stages(body, message, compressed, b45, text)


def claims_for(
    clearance: cwt.Clearance,
    *,
    signer: SealSigner,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
    cti: bytes | None = None,
) -> cwt.SealClaims:
    """Return the claims of a new seal; raise SealRefused where they break the DSC's validity (§6.5)."""
    iat, exp = _times(signer, issued_at, expires_at)
    return cwt.SealClaims(signer.bin, iat, iat, exp, cti or new_cti(), clearance)


def _times(signer: SealSigner, issued_at: dt.datetime, expires_at: dt.datetime) -> tuple[int, int]:
    """Return iat and exp; raise SealRefused where they break the DSC's validity (§6.5)."""
    iat, exp = to_seconds(issued_at), to_seconds(expires_at)
    if iat < to_seconds(signer.certificate.not_valid_before_utc):
        raise SealRefused(reason="issued before the signer certificate is valid")
    if exp > to_seconds(signer.certificate.not_valid_after_utc):
        raise SealRefused(reason="expires after the signer certificate")
    return iat, exp


def issue(
    clearance: cwt.Clearance,
    *,
    signer: SealSigner,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
    cti: bytes | None = None,
) -> str:
    """Return the `KZMB1:` text of a new seal of this clearance."""
    claims = claims_for(clearance, signer=signer, issued_at=issued_at, expires_at=expires_at, cti=cti)
    return build(claims, signer).text


def notice_claims_for(
    notice: cwt.Notice, *, signer: SealSigner, issued_at: dt.datetime, expires_at: dt.datetime, cti: bytes | None = None
) -> cwt.NoticeClaims:
    """Return the claims of an attachment-notice seal; raise SealRefused where they break the DSC's validity."""
    iat, exp = _times(signer, issued_at, expires_at)
    return cwt.NoticeClaims(signer.bin, iat, iat, exp, cti or new_cti(), notice)


def issue_notice(
    notice: cwt.Notice, *, signer: SealSigner, issued_at: dt.datetime, expires_at: dt.datetime, cti: bytes | None = None
) -> str:
    """Return the `KZMB1:` text of a new attachment-notice seal (A-54: the organization's seal on the notice)."""
    claims = notice_claims_for(notice, signer=signer, issued_at=issued_at, expires_at=expires_at, cti=cti)
    return build(claims, signer).text


def decode_transport(text: str, prefix: str = PREFIX) -> bytes:
    """Return the COSE bytes inside a seal text; raise SealMalformed (prefix, base45, zlib, size cap)."""
    if len(text) > MAX_TEXT:
        raise SealMalformed(reason="too_long")
    if not text.startswith(prefix):
        raise SealMalformed(reason="bad_prefix")
    try:
        compressed = base45.decode(text[len(prefix) :])
    except base45.Base45Error:
        raise SealMalformed(reason="bad_base45") from None
    # hcert §4.2 and test Z2: zlib (RFC 1950) is mandatory; raw or uncompressed COSE is refused.
    inflater = zlib.decompressobj(zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(compressed, MAX_INFLATED + 1)
    except zlib.error:
        raise SealMalformed(reason="zlib_error") from None
    if len(inflated) > MAX_INFLATED or inflater.unconsumed_tail:
        raise SealMalformed(reason="inflated_too_large")
    if not inflater.eof:
        raise SealMalformed(reason="zlib_truncated")
    if inflater.unused_data:
        raise SealMalformed(reason="zlib_trailing_bytes")
    return inflated


def qr_code(text: str, *, mask: int | None = None) -> segno.QRCode:
    """Return the QR code of a seal: alphanumeric mode, error correction Q, not boosted (§6.2)."""
    return segno.make_qr(text, error="q", boost_error=False, mask=mask)


def qr_png(text: str, *, scale: int = 4, mask: int | None = None) -> bytes:
    """Return a PNG of the seal's QR code with the standard 4-module quiet zone."""
    out = io.BytesIO()
    qr_code(text, mask=mask).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(text: str, *, scale: int = 4, mask: int | None = None) -> bytes:
    """Return an SVG of the seal's QR code."""
    out = io.BytesIO()
    qr_code(text, mask=mask).save(out, kind="svg", scale=scale, border=4, xmldecl=False)
    return out.getvalue()


def refuse_bombs() -> None:
    """Make Pillow refuse, in the whole process, any picture above MAX_PIXELS instead of warning about it.

    Pillow warns between MAX_IMAGE_PIXELS and twice that and raises above; the limit is lowered to ours and the
    warning turned into an error, once (the filter is process-wide: it is never toggled around a call, which
    would race between threads).
    """
    from PIL import Image

    if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_PIXELS:
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    if not any(f[0] == "error" and f[2] is Image.DecompressionBombWarning for f in warnings.filters):
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def read_qr(image: bytes) -> str | None:
    """Return the text of the QR code in a PNG/JPEG/WebP (GIF, BMP, TIFF) photo (zxing-cpp), or None when there is none.

    The picture's size is read from its header and checked before a single pixel is decoded: a picture of more
    than MAX_PIXELS raises PictureTooLarge (a 280 KB PNG can declare 9400 x 9400 pixels, 700 MB once decoded).

    A picture the first pass finds nothing in is looked at again as a phone photo often needs (``_second_looks``):
    a blurred, downscaled JPEG of a dense seal defeats zxing-cpp's local binarizer about one time in fifteen.
    """
    import zxingcpp
    from PIL import Image

    refuse_bombs()
    try:
        picture = Image.open(io.BytesIO(image), formats=PICTURE_FORMATS)  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PictureTooLarge(limit=MAX_PIXELS // 1_000_000) from None
    # Pillow raises many types on hostile headers; any of them means "no readable QR code".
    except Exception:
        return None
    with picture:
        width, height = picture.size
        if width * height > MAX_PIXELS:
            raise PictureTooLarge(limit=MAX_PIXELS // 1_000_000)
        try:
            picture.draft("L", picture.size)  # a JPEG is decoded straight to grey: a third of the memory
            picture.load()
            qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
            codes = zxingcpp.read_barcodes(picture, formats=qr)
            for look in _second_looks(picture, qr) if not codes else ():
                codes = look()
                if codes:
                    break
        # Pillow and zxing-cpp raise many types on hostile images; any of them means "no readable QR code".
        except Exception:
            return None
    texts = [code.text for code in codes]
    # A photo may hold other codes too: prefer one that carries a seal or an HC1 certificate.
    return next((t for t in texts if t.startswith((PREFIX, "HC1:"))), texts[0] if texts else None)


def _second_looks(picture: Any, qr: Any) -> Iterator[Callable[[], list[Any]]]:
    """Yield further decodes of a picture the first pass found no QR code in, cheapest first.

    A global threshold reads the blurred edges of small modules that the local-average binarizer breaks up; doubling
    a small picture (only while it stays within MAX_PIXELS) gives the detector whole pixels per module again.
    """
    import zxingcpp
    from PIL import Image

    grey = picture.convert("L")
    yield lambda: zxingcpp.read_barcodes(grey, formats=qr, binarizer=zxingcpp.Binarizer.FixedThreshold)
    yield lambda: zxingcpp.read_barcodes(grey, formats=qr, binarizer=zxingcpp.Binarizer.GlobalHistogram)
    if grey.width * grey.height * 4 <= MAX_PIXELS:
        yield lambda: zxingcpp.read_barcodes(
            grey.resize((grey.width * 2, grey.height * 2), Image.Resampling.BICUBIC), formats=qr
        )
