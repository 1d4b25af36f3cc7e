"""Signed trust and revocation lists (§6.4, §6.5): signature first, strict content, hashes only, no rollback."""

from __future__ import annotations

import base64
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from emhana.kernel.errors import CertificateInvalid, TrustListInvalid, TrustListRollback
from emhana.trust.keys import pki
from emhana.trust.lists import jws
from emhana.trust.lists.revocation import Reason, build_revocation_list, load_revocation_list
from emhana.trust.lists.trustlist import (
    ListInfo,
    TrustContext,
    TrustListSigner,
    build_trust_list,
    check_newer,
    entry_of,
    load_trust_list,
)
from emhana.trust.seals.hashes import revocation_of
from tests.builders.seals import CLOCK, DAY, Scheme, issue, make_signer


def test_trust_list_round_trip(scheme: Scheme) -> None:
    ctx = scheme.context
    assert ctx.trust_list is not None and ctx.trust_list.sequence == 5
    assert ctx.trust_list.issued_at == CLOCK - DAY and not ctx.trust_list.stale(CLOCK)
    assert ctx.trust_list.stale(CLOCK + 7 * DAY)
    (entry,) = ctx.signers[scheme.a.kid]
    assert entry.problem is None and entry.bin == scheme.a.bin and entry.facility_name == "Поликлиника № 1"
    assert entry.record_types == {"medbook.clearance"}


def _resign(scheme: Scheme, change: object) -> bytes:
    """Return the trust list with its payload changed and signed again by the scheme CA."""
    outer = json.loads(scheme.trust_list)
    payload = json.loads(jws.unb64url(outer["payload"]))
    change(payload)  # type: ignore[operator]
    return json.dumps(jws.sign(payload, scheme.ca_key, typ="kzmb-trust-list+json", kid="x")).encode()


def test_tampered_list_is_refused(scheme: Scheme) -> None:
    outer = json.loads(scheme.trust_list)
    payload = json.loads(jws.unb64url(outer["payload"]))
    payload["sequence"] = 99
    outer["payload"] = jws.b64url(jws.canonical_json(payload))
    with pytest.raises(TrustListInvalid) as exc:
        load_trust_list(json.dumps(outer).encode(), scheme.ca.certificate)
    assert exc.value.code == "trust.list_invalid"


def test_list_signed_by_another_ca_is_refused(scheme: Scheme) -> None:
    other = pki.make_scheme_ca(not_before=CLOCK - DAY)
    with pytest.raises(TrustListInvalid):
        load_trust_list(scheme.trust_list, other.certificate)
    unrelated_root = pki.make_root(not_before=CLOCK, algorithm="ec")
    with pytest.raises(TrustListInvalid):
        load_trust_list(scheme.trust_list, unrelated_root.certificate)


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"[]",
        b"{}",
        b'{"protected":1}',
        b"\xff",
        b'{"a":1,"a":2}',
        b'{"protected":"e30","payload":"e30","signature":"AAAA"}',
        b'{"protected":"e30","payload":"e30","signature":"' + b"A" * 86 + b'"}',
    ],
)
def test_garbage_lists_are_refused(scheme: Scheme, document: bytes) -> None:
    with pytest.raises(TrustListInvalid):
        load_trust_list(document, scheme.ca.certificate)


def test_revocation_list_cannot_pose_as_trust_list(scheme: Scheme) -> None:
    doc = build_revocation_list(
        [], ca_key=scheme.ca_key, ca_certificate=scheme.ca.certificate, sequence=1, issued_at=CLOCK
    )
    with pytest.raises(TrustListInvalid):
        load_trust_list(json.dumps(doc).encode(), scheme.ca.certificate)


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.update(sequence=-1),
        lambda p: p.update(max_age_seconds=0),
        lambda p: p.update(issued_at="today"),
        lambda p: p.update(issued_at="2026-03-01T00:00:00"),
        lambda p: p.update(signers={}),
        lambda p: p["signers"][0].update(certificate="!!"),
        lambda p: p["signers"][0].update(record_types="all"),
        lambda p: p.pop("csca"),
    ],
)
def test_signed_but_malformed_content_is_refused(scheme: Scheme, change: object) -> None:
    with pytest.raises(TrustListInvalid):
        load_trust_list(_resign(scheme, change), scheme.ca.certificate)


def test_entry_problems_bar_the_dsc(scheme: Scheme) -> None:
    rogue = pki.make_scheme_ca(not_before=CLOCK - 400 * DAY)
    foreign = make_signer(rogue, "X", scheme.a.bin)
    entry = entry_of(
        foreign.certificate, facility_name="X", record_types=None, status="active", anchors=[scheme.ca.certificate]
    )
    assert entry.problem == "dsc_not_issued_by_scheme_ca"
    assert (
        entry_of(
            scheme.a.certificate,
            facility_name=None,
            record_types=None,
            status="revoked",
            anchors=[scheme.ca.certificate],
        ).problem
        == "dsc_revoked"
    )
    assert (
        entry_of(
            scheme.a.certificate,
            facility_name=None,
            record_types=None,
            status="active",
            anchors=[scheme.ca.certificate],
            bin_=scheme.b.bin,
        ).problem
        == "dsc_bin_mismatch"
    )
    changed = _resign(scheme, lambda p: p["signers"][0].update(kid=base64.b64encode(bytes(8)).decode()))
    ctx = load_trust_list(changed, scheme.ca.certificate)
    assert ctx.signers[scheme.a.kid][0].problem == "kid_mismatch"


def test_single_dsc_context(scheme: Scheme) -> None:
    ctx = TrustContext.single(scheme.b.certificate)
    (entry,) = ctx.signers[scheme.b.kid]
    assert entry.problem is None and entry.bin == scheme.b.bin and ctx.trust_list is None
    assert entry.record_types == {"medbook.clearance", "attachment.notification"}


def test_rollback_is_refused() -> None:
    current = ListInfo(5, CLOCK, DAY)
    check_newer(None, current, kind="trust list")
    check_newer(current, ListInfo(6, CLOCK, DAY), kind="trust list")
    with pytest.raises(TrustListRollback) as exc:
        check_newer(current, ListInfo(5, CLOCK, DAY), kind="trust list")
    assert exc.value.status == 409 and "5" in exc.value.english()


def test_revocation_list_holds_hashes_only(scheme: Scheme) -> None:
    text = issue(scheme.a)
    entry = revocation_of(text, Reason.SUPERSEDED, CLOCK)
    doc = build_revocation_list(
        [entry], ca_key=scheme.ca_key, ca_certificate=scheme.ca.certificate, sequence=3, issued_at=CLOCK
    )
    payload = json.loads(jws.unb64url(doc["payload"]))
    (items,) = payload["entries"].values()
    assert {i["reason"] for i in items} == {"superseded"} and len(items) == 2
    assert all(len(base64.b64decode(i["hash"])) == 16 for i in items)
    assert not re.search(r"\d{12}", jws.unb64url(doc["payload"]).decode())  # no IIN, no BIN
    index, info = load_revocation_list(json.dumps(doc).encode(), scheme.ca.certificate)
    assert info.sequence == 3 and set(index[scheme.a.kid].values()) == {"superseded"}


def test_revoked_wins_over_superseded(scheme: Scheme) -> None:
    text = issue(scheme.a)
    entries = [
        revocation_of(text, Reason.SUPERSEDED, CLOCK),
        revocation_of(text, Reason.REVOKED, CLOCK),
        revocation_of(text, Reason.SUPERSEDED, CLOCK),
    ]
    doc = build_revocation_list(
        entries, ca_key=scheme.ca_key, ca_certificate=scheme.ca.certificate, sequence=1, issued_at=CLOCK
    )
    index, _ = load_revocation_list(json.dumps(doc).encode(), scheme.ca.certificate)
    assert set(index[scheme.a.kid].values()) == {"revoked"}


def test_bad_revocation_entries_are_refused(scheme: Scheme) -> None:
    doc = build_revocation_list(
        [], ca_key=scheme.ca_key, ca_certificate=scheme.ca.certificate, sequence=1, issued_at=CLOCK
    )
    payload = json.loads(jws.unb64url(doc["payload"]))
    entries: object
    for entries in (
        {"AAAAAAAAAAA=": [{"hash": "AAAA", "reason": "revoked", "at": "2026-01-01T00:00:00Z"}]},
        {
            "AAAAAAAAAAA=": [
                {"hash": base64.b64encode(bytes(16)).decode(), "reason": "lost", "at": "2026-01-01T00:00:00Z"}
            ]
        },
        [],
    ):
        payload["entries"] = entries
        bad = jws.sign(payload, scheme.ca_key, typ="kzmb-revocation-list+json", kid="x")
        with pytest.raises(TrustListInvalid):
            load_revocation_list(json.dumps(bad).encode(), scheme.ca.certificate)


def test_scheme_key_must_be_p256(scheme: Scheme) -> None:
    rsa_ca = pki.make_root(not_before=CLOCK, algorithm="rsa")
    with pytest.raises(CertificateInvalid):
        load_trust_list(scheme.trust_list, rsa_ca.certificate)
    assert isinstance(scheme.ca.key, ec.EllipticCurvePrivateKey)
    assert TrustListSigner(scheme.a.certificate, "x").status == "active"
    assert build_trust_list(
        [], ca_key=scheme.ca_key, ca_certificate=scheme.ca.certificate, sequence=0, issued_at=CLOCK
    )["protected"]
