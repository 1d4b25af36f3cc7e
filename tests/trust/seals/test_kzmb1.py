"""The KZMB1 seal: issue, transport layers and their caps, QR rendering at level Q, signer checks."""

from __future__ import annotations

import io
import random
import string
import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from PIL import Image

from emhana.devtools.bench.focused.seal import photo_like
from emhana.kernel.errors import CertificateInvalid, SealMalformed, SealRefused
from emhana.trust.seals import base45, cose, cwt
from emhana.trust.seals import kzmb1 as seal
from tests.builders.seals import CLOCK, DAY, Scheme, issue, worker


def test_issue_builds_the_hcert_style_pipeline(scheme: Scheme) -> None:
    text = issue(scheme.a)
    assert text.startswith("KZMB1:") and 250 < len(text) < 500
    message = cose.decode_sign1(zlib.decompress(base45.decode(text[6:])))
    assert message.kid == scheme.a.kid and message.alg == cose.ALG_ES256
    claims = cwt.from_map(cose.loads_strict(message.payload))
    assert claims.issuer_bin == scheme.a.bin and claims.clearance == worker()
    assert len(claims.cti) == 16 and claims.issued_at == int((CLOCK - DAY).timestamp())


def test_each_seal_version_gets_a_fresh_cti(scheme: Scheme) -> None:
    first, second = (cose.decode_sign1(seal.decode_transport(issue(scheme.a))) for _ in range(2))
    assert cwt.from_map(cose.loads_strict(first.payload)).cti != cwt.from_map(cose.loads_strict(second.payload)).cti


def test_qr_is_alphanumeric_level_q_within_version_15(scheme: Scheme) -> None:
    text = issue(scheme.a)
    qr = seal.qr_code(text)
    assert qr.error == "Q" and qr.mode == "alphanumeric" and int(qr.version) <= 15  # credentials §5: V13–V15 at Q
    png, svg = seal.qr_png(text), seal.qr_svg(text)
    assert png.startswith(b"\x89PNG") and svg.startswith(b"<svg")
    assert seal.read_qr(png) == text
    assert seal.read_qr(seal.qr_png(text, mask=0, scale=2)) == text


def test_read_qr_of_garbage_is_none() -> None:
    assert seal.read_qr(b"\x89PNG\r\n\x1a\n" + bytes(100)) is None
    assert seal.read_qr(b"") is None
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, format="PNG")
    assert seal.read_qr(blank.getvalue()) is None


def test_claims_must_fit_the_signer_certificate(scheme: Scheme) -> None:
    with pytest.raises(SealRefused):
        seal.issue(worker(), signer=scheme.a, issued_at=CLOCK, expires_at=CLOCK + 400 * DAY)
    with pytest.raises(SealRefused):
        seal.issue(worker(), signer=scheme.a, issued_at=CLOCK - 40 * DAY, expires_at=CLOCK)
    with pytest.raises(ValueError, match="timezone"):
        seal.issue(worker(), signer=scheme.a, issued_at=CLOCK.replace(tzinfo=None), expires_at=CLOCK)


def test_signer_checks_key_and_certificate(scheme: Scheme) -> None:
    with pytest.raises(CertificateInvalid):
        seal.SealSigner.of(scheme.b.key, scheme.a.certificate)
    with pytest.raises(CertificateInvalid):
        seal.SealSigner.of(ec.generate_private_key(ec.SECP384R1()), scheme.a.certificate)
    with pytest.raises(CertificateInvalid):  # the scheme CA has no OU=BIN
        assert isinstance(scheme.ca.key, ec.EllipticCurvePrivateKey)
        seal.SealSigner.of(scheme.ca.key, scheme.ca.certificate)


def test_signer_from_pkcs12(scheme: Scheme) -> None:
    p12 = pkcs12.serialize_key_and_certificates(
        b"dsc", scheme.a.key, scheme.a.certificate, None, BestAvailableEncryption(b"secret")
    )
    assert seal.SealSigner.from_pkcs12(p12, "secret").kid == scheme.a.kid
    with pytest.raises(CertificateInvalid):
        seal.SealSigner.from_pkcs12(p12, "wrong")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "bad_prefix"),
        ("KZMB1", "bad_prefix"),
        ("KZMB1:" + "0" * 5000, "too_long"),
        ("KZMB1:Ж", "bad_base45"),
        ("KZMB1:" + base45.encode(b"plain"), "zlib_error"),
        ("KZMB1:" + base45.encode(zlib.compress(b"x" * 10)[:-3]), "zlib_truncated"),
        ("KZMB1:" + base45.encode(zlib.compress(b"x") + b"!"), "zlib_trailing_bytes"),
        ("KZMB1:" + base45.encode(zlib.compress(bytes(seal.MAX_INFLATED + 1))), "inflated_too_large"),
    ],
)
def test_transport_defects(text: str, reason: str) -> None:
    with pytest.raises(SealMalformed) as exc:
        seal.decode_transport(text)
    assert exc.value.params["reason"] == reason


def test_inflation_is_capped_not_buffered() -> None:
    bomb = "KZMB1:" + base45.encode(zlib.compress(bytes(2 * 1024 * 1024), 9))
    assert len(bomb) < seal.MAX_TEXT
    with pytest.raises(SealMalformed):
        seal.decode_transport(bomb)
    assert seal.decode_transport("KZMB1:" + base45.encode(zlib.compress(bytes(seal.MAX_INFLATED)))) == bytes(
        seal.MAX_INFLATED
    )


def test_a_photo_like_jpeg_decodes(scheme: Scheme) -> None:
    text = issue(scheme.a)
    picture = Image.open(io.BytesIO(seal.qr_png(text, scale=6))).convert("L").rotate(12, expand=True, fillcolor=255)
    picture = picture.resize((int(picture.width * 0.7), int(picture.height * 0.7)))
    jpeg = io.BytesIO()
    picture.save(jpeg, format="JPEG", quality=70)
    assert seal.read_qr(jpeg.getvalue()) == text


def test_a_photo_the_first_look_misses_is_read_on_a_second_look() -> None:
    # Blurred, downscaled JPEGs of dense seals: zxing-cpp's default pass finds nothing in a few of these
    # (about one in fifteen); the reader then looks again with a global threshold or at twice the size.
    import zxingcpp

    rng = random.Random(7)
    alphabet = string.ascii_uppercase + string.digits + " $%*+-./:"
    missed = []
    for _ in range(120):
        text = seal.PREFIX + "".join(rng.choice(alphabet) for _ in range(rng.randint(150, 600)))
        photo = photo_like(seal.qr_png(text))
        if not zxingcpp.read_barcodes(Image.open(io.BytesIO(photo))):
            missed.append((text, photo))
    assert missed, "no picture defeats the first look any more: make the photos harder"
    assert [seal.read_qr(photo) for _, photo in missed] == [text for text, _ in missed]
