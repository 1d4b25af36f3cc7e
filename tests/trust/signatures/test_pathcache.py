"""The cache of validated paths: the expensive validation runs once per certificate and trust state, and a cached
success never lets a revoked, expired or tampered signature through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from emhana.kernel import errors
from emhana.trust.keys import pki
from emhana.trust.signatures import inprocess, pathcache
from emhana.trust.signatures.cmsparse import SignedCms
from tests.builders.signatures import DATA, IIN, Pki, sign, verify


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dt.datetime]]:
    """Count the full path validations (the signing times they ran at), on an empty cache."""
    pathcache.PATHS.clear()
    seen: list[dt.datetime] = []
    real = inprocess.validate_path

    async def counting(signed: SignedCms, **kw: Any) -> list[x509.Certificate]:
        seen.append(signed.signing_time)
        return await real(signed, **kw)

    monkeypatch.setattr(inprocess, "validate_path", counting)
    yield seen
    pathcache.PATHS.clear()


def signed_at(p: Pki, signer: pki.Issued, moment: dt.datetime, data: bytes = DATA) -> bytes:
    """A CMS by ``signer`` whose signing-time attribute says ``moment`` (re-signed, so the signature holds)."""
    info = cms.ContentInfo.load(sign(p, data, signer=signer))
    signer_info = info["content"]["signer_infos"][0]
    for attribute in signer_info["signed_attrs"]:
        if attribute["type"].native == "signing_time":
            attribute["values"] = [cms.Time({"utc_time": moment})]
    attributes = signer_info["signed_attrs"].dump(force=True)
    assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
    signer_info["signature"] = signer.key.sign(b"\x31" + attributes[1:], ec.ECDSA(hashes.SHA256()))
    return bytes(cms.ContentInfo.load(info.dump(force=True)).dump())


def test_the_path_is_validated_once_per_certificate_and_trust_state(
    ec_pki: Pki, validations: list[dt.datetime]
) -> None:
    der = sign(ec_pki)
    for _ in range(3):
        assert verify(ec_pki, der).signer_iin == IIN
    assert len(validations) == 1 and pathcache.PATHS.hits == 2
    newer = ec_pki.crl_of([], number=5)  # a new CRL is a new trust state
    assert verify(ec_pki, der, crls=[newer]).crls[0].number == 5
    assert len(validations) == 2
    verify(ec_pki, der, intermediates=[ec_pki.person().certificate])  # so are other intermediates
    assert len(validations) == 3


def test_revoked_after_a_cached_success_is_refused_with_the_new_crl(
    ec_pki: Pki, validations: list[dt.datetime]
) -> None:
    signer = ec_pki.person()
    der = sign(ec_pki, signer=signer)
    assert verify(ec_pki, der).signer_iin == IIN
    assert verify(ec_pki, der).signer_iin == IIN
    assert len(validations) == 1
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    revoked = ec_pki.crl_of([(signer.certificate, moment)], this_update=moment, number=7)
    with pytest.raises(errors.CertificateRevoked):
        verify(ec_pki, der, crls=[revoked], at=moment + dt.timedelta(minutes=1))
    with pytest.raises(errors.CertificateRevoked):  # the refusal is not cached as a success either
        verify(ec_pki, der, crls=[revoked], at=moment + dt.timedelta(minutes=1))


def test_revoked_before_the_signing_time_inside_a_cached_hour_is_refused(
    ec_pki: Pki, validations: list[dt.datetime]
) -> None:
    signer = ec_pki.person()
    hour = (ec_pki.now + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    revoked_at = hour + dt.timedelta(minutes=30)
    crl = ec_pki.crl_of([(signer.certificate, revoked_at)])  # one CRL for both calls: the same cache key
    early = hour + dt.timedelta(minutes=10)
    late, clock = hour + dt.timedelta(minutes=33), hour + dt.timedelta(minutes=29)  # claimed 4 min ahead
    assert verify(ec_pki, signed_at(ec_pki, signer, early), crls=[crl], at=early).signer_iin == IIN
    with pytest.raises(errors.CertificateRevoked):  # revoked after the clock but before the signing time
        verify(ec_pki, signed_at(ec_pki, signer, late), crls=[crl], at=clock)
    assert validations == [early]
    pathcache.PATHS.clear()
    with pytest.raises(errors.CertificateRevoked):  # as the full validation says
        verify(ec_pki, signed_at(ec_pki, signer, late), crls=[crl], at=clock)


def test_a_signing_time_past_not_after_is_refused_after_a_cached_success(
    ec_pki: Pki, validations: list[dt.datetime]
) -> None:
    # notAfter in the middle of an hour, so a signature just before and one just after share the cache key.
    end = (ec_pki.now + dt.timedelta(hours=1)).replace(minute=30, second=0, microsecond=0)
    signer = ec_pki.person(not_before=end - dt.timedelta(days=1), days=1)
    assert signer.certificate.not_valid_after_utc == end
    before, after = end - dt.timedelta(minutes=1), end + dt.timedelta(minutes=1)
    assert verify(ec_pki, signed_at(ec_pki, signer, before), at=before).signer_iin == IIN
    with pytest.raises(errors.CertificateExpired):
        verify(ec_pki, signed_at(ec_pki, signer, after), at=after)
    assert validations == [before]  # the second call was a cache hit, refused by the per-call check
    with pytest.raises(errors.CertificateExpired):  # and the cache never answers for it
        verify(ec_pki, signed_at(ec_pki, signer, after), at=after)


def test_signature_and_digest_are_checked_on_every_cached_call(ec_pki: Pki, validations: list[dt.datetime]) -> None:
    der = sign(ec_pki)
    verify(ec_pki, der)
    with pytest.raises(errors.DigestMismatch):
        verify(ec_pki, der, data=DATA + b" ")
    info = cms.ContentInfo.load(der)
    value = bytearray(info["content"]["signer_infos"][0]["signature"].native)
    value[-3] ^= 0x01
    info["content"]["signer_infos"][0]["signature"] = bytes(value)
    with pytest.raises(errors.BadSignature):
        verify(ec_pki, bytes(cms.ContentInfo.load(info.dump(force=True)).dump()))
    with pytest.raises(errors.RevocationUnknown):  # a stale CRL at the clock, with the path cached
        verify(ec_pki, der, at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    assert len(validations) == 1


def test_the_cache_is_bounded() -> None:
    cache = pathcache.PathCache(size=2)
    keys = [pathcache.PathKey(bytes([n]), (), (), (), 0) for n in range(3)]
    for key in keys:
        cache.put(key, ())
    assert len(cache) == 2 and cache.get(keys[0]) is None and cache.get(keys[2]) == ()
