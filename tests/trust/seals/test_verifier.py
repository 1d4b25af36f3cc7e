"""The offline verifier: outcomes and exact check order of §6.6, shown claims, and no false VALID on hostile text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import time
import zlib

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emhana.trust.lists.revocation import Reason, build_revocation_list, with_revocation_list
from emhana.trust.lists.trustlist import SignerEntry, TrustContext
from emhana.trust.seals import base45, cose, cwt, verifier
from emhana.trust.seals import kzmb1 as seal
from emhana.trust.seals.hashes import revocation_of
from emhana.trust.seals.verifier import Outcome, verify
from tests.builders.seals import CLOCK, DAY, Scheme, issue, worker


def _context_with(scheme: Scheme, *revoked: tuple[str, Reason]) -> TrustContext:
    doc = build_revocation_list(
        [revocation_of(text, reason, CLOCK) for text, reason in revoked],
        ca_key=scheme.ca_key,
        ca_certificate=scheme.ca.certificate,
        sequence=1,
        issued_at=CLOCK - DAY,
    )
    return with_revocation_list(scheme.context, json.dumps(doc).encode(), scheme.ca.certificate)


def _signed(scheme: Scheme, claims: cwt.SealClaims) -> str:
    return seal.build(claims, scheme.a).text


def _claims(
    scheme: Scheme, *, iat: dt.datetime = CLOCK - DAY, exp: dt.datetime = CLOCK + 180 * DAY, bin_: str | None = None
) -> cwt.SealClaims:
    return cwt.SealClaims(
        bin_ or scheme.a.bin, int(iat.timestamp()), int(iat.timestamp()), int(exp.timestamp()), seal.new_cti(), worker()
    )


def test_valid_seal_shows_only_safe_claims(scheme: Scheme) -> None:
    result = verify(issue(scheme.a), scheme.context, CLOCK)
    assert result.outcome is Outcome.VALID and result.reason is None
    shown = dict(result.shown or {})
    assert set(shown) == {
        "name",
        "birth_date",
        "clearance",
        "categories",
        "issued_at",
        "valid_until",
        "dates",
        "record_version",
        "facility_name",
        "facility_bin",
    }
    assert shown["name"] == "ТЕСТОВА АЙДА" and shown["clearance"] == "fit"
    assert shown["facility_name"] == "Поликлиника № 1" and shown["dates"] == {"exam": "2026-02-10", "lab": "2026-02-12"}
    twelve = [v for v in json.dumps(result.to_dict(), ensure_ascii=False).split('"') if re.fullmatch(r"\d{12}", v)]
    assert twelve == [scheme.a.bin]
    assert result.summary().split()[0] == "VALID"
    assert result.to_dict()["trust_list"] == {"sequence": 5, "issued_at": "2026-02-28T09:00:00Z", "stale": False}


def test_clock_must_be_aware(scheme: Scheme) -> None:
    with pytest.raises(ValueError):
        verify(issue(scheme.a), scheme.context, CLOCK.replace(tzinfo=None))


def test_skew_tolerates_a_slightly_fast_issuer(scheme: Scheme) -> None:
    text = _signed(scheme, _claims(scheme, iat=CLOCK + dt.timedelta(minutes=3)))
    assert verify(text, scheme.context, CLOCK).outcome is Outcome.VALID
    late = _signed(scheme, _claims(scheme, iat=CLOCK + dt.timedelta(minutes=10)))
    assert verify(late, scheme.context, CLOCK).outcome is Outcome.NOT_YET_VALID
    assert verify(late, scheme.context, CLOCK, skew=dt.timedelta(minutes=15)).outcome is Outcome.VALID


def test_expiry_boundary(scheme: Scheme) -> None:
    claims = _claims(scheme)
    text = _signed(scheme, claims)
    at_exp = dt.datetime.fromtimestamp(claims.expires_at, dt.UTC)
    ctx = TrustContext.single(scheme.a.certificate)  # no list, so no max-age in the way
    assert verify(text, ctx, at_exp).outcome is Outcome.VALID
    assert verify(text, ctx, at_exp + dt.timedelta(seconds=1)).outcome is Outcome.EXPIRED


def test_check_order_malformed_before_unknown_issuer(scheme: Scheme) -> None:
    body = cbor2.dumps({1: "not-a-bin"})
    text = seal.PREFIX + base45.encode(zlib.compress(cose.encode_sign1(body, scheme.a.key, bytes(8))))
    assert verify(text, scheme.context, CLOCK).outcome is Outcome.MALFORMED


def test_check_order_unknown_issuer_before_tampered(scheme: Scheme) -> None:
    message = cose.decode_sign1(seal.decode_transport(issue(scheme.a)))
    header = cbor2.dumps({1: -7, 4: bytes(8)})
    text = seal.PREFIX + base45.encode(zlib.compress(cose.assemble(header, {}, message.payload, bytes(64))))
    assert verify(text, scheme.context, CLOCK).outcome is Outcome.UNKNOWN_ISSUER


def test_check_order_authorisation_before_time_and_revocation(scheme: Scheme) -> None:
    text = _signed(scheme, _claims(scheme, exp=CLOCK + DAY, bin_=scheme.b.bin))
    ctx = _context_with(scheme, (text, Reason.REVOKED))
    assert verify(text, ctx, CLOCK + 2 * DAY).outcome is Outcome.ISSUER_NOT_AUTHORISED
    assert verify(text, ctx, CLOCK + 2 * DAY).shown is None


def test_check_order_time_before_revocation(scheme: Scheme) -> None:
    text = _signed(scheme, _claims(scheme, exp=CLOCK + DAY))
    ctx = _context_with(scheme, (text, Reason.REVOKED))
    assert verify(text, ctx, CLOCK).outcome is Outcome.REVOKED
    expired = verify(text, ctx, CLOCK + 2 * DAY)
    assert expired.outcome is Outcome.EXPIRED and expired.shown is not None  # expired is still displayed
    assert verify(text, ctx, CLOCK - 2 * DAY).outcome is Outcome.NOT_YET_VALID


def test_revoked_before_superseded_and_correction_flow(scheme: Scheme) -> None:
    old, new = issue(scheme.a, record_version=1), issue(scheme.a, record_version=2)
    ctx = _context_with(scheme, (old, Reason.SUPERSEDED))
    assert verify(old, ctx, CLOCK).outcome is Outcome.SUPERSEDED
    assert verify(new, ctx, CLOCK).outcome is Outcome.VALID
    both = _context_with(scheme, (old, Reason.SUPERSEDED), (old, Reason.ISSUED_IN_ERROR))
    result = verify(old, both, CLOCK)
    assert (result.outcome, result.reason) == (Outcome.REVOKED, "issued-in-error")


def test_a_suspended_clearance_is_neither_revoked_nor_superseded(scheme: Scheme) -> None:
    """C-30: a seal listed "suspended" says so; a revocation still wins, a supersession does not."""
    from emhana.trust.seals.outcomes import MEANINGS, TITLES

    old = issue(scheme.a)
    result = verify(old, _context_with(scheme, (old, Reason.SUSPENDED)), CLOCK)
    assert (result.outcome, result.reason) == (Outcome.SUSPENDED, "suspended") and result.shown is not None
    assert result.to_dict()["outcome"] == "SUSPENDED" and result.summary().startswith("SUSPENDED (suspended)")
    both = _context_with(scheme, (old, Reason.SUPERSEDED), (old, Reason.SUSPENDED))
    assert verify(old, both, CLOCK).outcome is Outcome.SUSPENDED
    revoked = _context_with(scheme, (old, Reason.SUSPENDED), (old, Reason.REVOKED))
    assert (verify(old, revoked, CLOCK).outcome, verify(old, revoked, CLOCK).reason) == (Outcome.REVOKED, "revoked")
    assert TITLES[Outcome.SUSPENDED] == "Clearance suspended" and "suspended" in MEANINGS[Outcome.SUSPENDED]


def test_every_dsc_with_the_kid_is_tried(scheme: Scheme) -> None:
    text = issue(scheme.a)
    (right,) = scheme.context.signers[scheme.a.kid]
    (wrong,) = scheme.context.signers[scheme.b.kid]
    impostor = dataclasses.replace(wrong, kid=scheme.a.kid)
    ctx = TrustContext({scheme.a.kid: (impostor, right)})
    assert verify(text, ctx, CLOCK).outcome is Outcome.VALID
    assert verify(text, TrustContext({scheme.a.kid: (impostor,)}), CLOCK).outcome is Outcome.TAMPERED
    barred = dataclasses.replace(right, problem="dsc_suspended")
    assert verify(text, TrustContext({scheme.a.kid: (barred,)}), CLOCK).reason == "dsc_suspended"


def test_single_dsc_mode(scheme: Scheme) -> None:
    text = issue(scheme.b)
    assert verify(text, TrustContext.single(scheme.b.certificate), CLOCK).outcome is Outcome.VALID
    assert verify(text, TrustContext.single(scheme.a.certificate), CLOCK).outcome is Outcome.UNKNOWN_ISSUER


def test_stale_revocation_list_is_noted_not_fatal(scheme: Scheme) -> None:
    ctx = _context_with(scheme)
    result = verify(issue(scheme.a), ctx, CLOCK + 2 * DAY)
    assert result.outcome is Outcome.VALID and result.notes == ("revocation_list_stale",)


def test_signer_entry_without_p256_key_is_unknown(scheme: Scheme) -> None:
    (right,) = scheme.context.signers[scheme.a.kid]
    entry: SignerEntry = dataclasses.replace(right, public_key=None)
    result = verify(issue(scheme.a), TrustContext({scheme.a.kid: (entry,)}), CLOCK)
    assert result.outcome is Outcome.UNKNOWN_ISSUER


# Hostile input: nothing raises, nothing false is VALID.
ALPHABET = base45.ALPHABET + "abc\n\ufeffЖ"


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(max_size=600),
        st.text(alphabet=ALPHABET, max_size=600).map(lambda t: "KZMB1:" + t),
        st.binary(max_size=400).map(lambda b: "KZMB1:" + base45.encode(b)),
        st.binary(max_size=400).map(lambda b: "KZMB1:" + base45.encode(zlib.compress(b))),
    )
)
def test_random_text_is_never_valid(scheme: Scheme, text: str) -> None:
    result = verify(text, scheme.context, CLOCK)
    assert result.outcome is not Outcome.VALID
    assert result.summary().split()[0] == result.outcome.value


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_seal_is_never_falsely_valid(scheme: Scheme, data: st.DataObject) -> None:
    original = _valid_text(scheme)
    position = data.draw(st.integers(0, len(original) - 1))
    kind = data.draw(st.sampled_from(["replace", "delete", "insert", "swap", "truncate", "cbor"]))
    if kind == "cbor":
        cose_bytes = bytearray(seal.decode_transport(original))
        i = data.draw(st.integers(0, len(cose_bytes) - 1))
        cose_bytes[i] ^= data.draw(st.integers(1, 255))
        mutated = seal.PREFIX + base45.encode(zlib.compress(bytes(cose_bytes)))
    else:
        char = data.draw(st.sampled_from(base45.ALPHABET))
        mutated = {
            "replace": original[:position] + char + original[position + 1 :],
            "delete": original[:position] + original[position + 1 :],
            "insert": original[:position] + char + original[position:],
            "swap": original[:position]
            + original[position + 1 : position + 2]
            + original[position : position + 1]
            + original[position + 2 :],
            "truncate": original[:position],
        }[kind]
    result = verify(mutated, scheme.context, CLOCK)
    if result.outcome is Outcome.VALID:
        # Only a re-encoding of the very same signed COSE message may still verify (e.g. another zlib stream).
        assert seal.decode_transport(mutated) == seal.decode_transport(original)


_VALID: dict[str, str] = {}


def _valid_text(scheme: Scheme) -> str:
    if "text" not in _VALID:
        _VALID["text"] = issue(scheme.a)
    return _VALID["text"]


def test_rotation_and_withdrawal_of_a_dsc(scheme: Scheme) -> None:
    from emhana.trust.lists.trustlist import TrustListSigner, build_trust_list, load_trust_list
    from tests.builders.seals import make_signer

    newer = make_signer(scheme.ca, "Поликлиника № 1", scheme.a.bin, number=2)
    old_seal, new_seal = issue(scheme.a), issue(newer)

    def context(*signers: seal.SealSigner, sequence: int) -> TrustContext:
        doc = build_trust_list(
            [TrustListSigner(s.certificate, s.facility_name) for s in signers],
            ca_key=scheme.ca_key,
            ca_certificate=scheme.ca.certificate,
            sequence=sequence,
            issued_at=CLOCK - DAY,
        )
        return load_trust_list(json.dumps(doc).encode(), scheme.ca.certificate)

    both = context(scheme.a, newer, sequence=6)
    assert verify(old_seal, both, CLOCK).outcome is verify(new_seal, both, CLOCK).outcome is Outcome.VALID
    # §6.4: a DSC removed from the list makes all its seals UNKNOWN_ISSUER (mass revocation on compromise).
    withdrawn = context(newer, sequence=7)
    assert verify(old_seal, withdrawn, CLOCK).outcome is Outcome.UNKNOWN_ISSUER
    assert verify(new_seal, withdrawn, CLOCK).outcome is Outcome.VALID


@settings(deadline=None)
@given(st.one_of(st.integers(0, cwt.MAX_SECONDS - 1), st.sampled_from([0, 59, 86399, 86400, cwt.MAX_SECONDS - 1])))
def test_shown_dates_are_written_as_strftime_writes_them(seconds: int) -> None:
    assert verifier._date_of(seconds) == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
