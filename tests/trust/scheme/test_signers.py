"""Document-signer keys in the database: encrypted at rest, rotated, revoked; seals still verify as §6.6 says."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emhana.facilities.models import Entity
from emhana.kernel.errors import CertificateInvalid, NotFound
from emhana.trust.keys import pki
from emhana.trust.keys import wrap as keys
from emhana.trust.models import DocumentSigner, IssuedSeal
from emhana.trust.scheme import issue as seals
from emhana.trust.scheme import publish, rotation, signers
from emhana.trust.seals.cwt import Notice, NoticeKind
from emhana.trust.seals.verifier import Outcome
from tests.builders.scheme import OTHER_BIN, WORKER, issue, now, other_entity


def test_signer_for_issues_a_dsc_certified_by_the_scheme_ca_with_the_key_encrypted(
    sessions: sessionmaker[Session], seeded_entity: int
) -> None:
    with sessions.begin() as s:
        signer = rotation.signer_for(s, seeded_entity)
        entity = s.get(Entity, seeded_entity)
        assert entity is not None and signer.bin == entity.bin
        scheme = signers.active_scheme(s)
        assert scheme is not None
        signer.certificate.verify_directly_issued_by(signers.scheme_certificate(scheme))
        row = signers.active_dsc(s, seeded_entity)
        assert row is not None and row.status == "active" and row.number == 1
        der = signer.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        raw_scalar = signer.key.private_numbers().private_value.to_bytes(32, "big")
        assert der not in row.key_ciphertext and raw_scalar not in row.key_ciphertext
        assert raw_scalar not in scheme.key_ciphertext
        # Asking again gives the same signer: no rotation before it is due.
        assert rotation.signer_for(s, seeded_entity).kid == signer.kid
    with sessions() as s:
        assert len(list(s.scalars(select(DocumentSigner)))) == 1


def test_key_wrapping_needs_the_same_secret_and_the_same_row() -> None:
    key = pki.new_key("ec")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    wrap, blob = keys.encrypt_key(key, secret="s3cret", kid=b"12345678")
    assert wrap == "s1"
    opened = keys.decrypt_key(blob, wrap=wrap, secret="s3cret", kid=b"12345678")
    assert opened.private_numbers() == key.private_numbers()
    with pytest.raises(CertificateInvalid):
        keys.decrypt_key(blob, wrap=wrap, secret="other", kid=b"12345678")
    with pytest.raises(CertificateInvalid):
        keys.decrypt_key(blob, wrap=wrap, secret="s3cret", kid=b"87654321")
    with pytest.raises(CertificateInvalid):
        keys.decrypt_key(blob, wrap=wrap, secret="", kid=b"12345678")
    demo_wrap, demo_blob = keys.encrypt_key(key, secret="", kid=b"12345678")
    assert demo_wrap == "demo"
    # A key wrapped in demo mode still opens once a secret is configured.
    assert (
        keys.decrypt_key(demo_blob, wrap=demo_wrap, secret="later", kid=b"12345678").private_numbers()
        == key.private_numbers()
    )


def test_rotation_retires_the_old_signer_whose_seals_stay_valid(
    sessions: sessionmaker[Session], seeded_entity: int
) -> None:
    with sessions.begin() as s:
        old_text = issue(s, seeded_entity)
        first = publish.current(s, publish.TRUST).sequence
        old = signers.active_dsc(s, seeded_entity)
        assert old is not None
        old_kid = old.kid
        new = rotation.rotate(s, seeded_entity)
        assert new.kid != old_kid and new.number == 2
        assert publish.current(s, publish.TRUST).sequence == first + 1
        new_text = issue(s, seeded_entity)
    with sessions.begin() as s:
        statuses = {r.kid: r.status for r in s.scalars(select(DocumentSigner))}
        assert statuses == {old_kid: "retired", new.kid: "active"}
        listed = json.loads(publish.current(s, publish.TRUST).document)
        assert listed["payload"]
        assert publish.verify_text(s, old_text).outcome == Outcome.VALID
        assert publish.verify_text(s, new_text).outcome == Outcome.VALID
        assert publish.verify_text(s, new_text).kid == bytes.fromhex(new.kid)


def test_the_active_signer_is_rotated_once_it_has_signed_for_a_year(
    sessions: sessionmaker[Session], seeded_entity: int
) -> None:
    start = now()
    with sessions.begin() as s:
        first = rotation.signer_for(s, seeded_entity, now=start)
        assert rotation.signer_for(s, seeded_entity, now=start + dt.timedelta(days=364)).kid == first.kid
        later = rotation.signer_for(s, seeded_entity, now=start + dt.timedelta(days=366))
        assert later.kid != first.kid
        # The new DSC outlives every seal it may sign within its year (§6.1: validity >= longest exp).
        assert later.certificate.not_valid_after_utc - later.certificate.not_valid_before_utc >= dt.timedelta(days=729)


def test_a_revoked_signer_makes_its_seals_unknown_issuer_and_a_new_one_takes_over(
    sessions: sessionmaker[Session], seeded_entity: int
) -> None:
    with sessions.begin() as s:
        text = issue(s, seeded_entity)
        row = signers.active_dsc(s, seeded_entity)
        assert row is not None
        kid = bytes.fromhex(row.kid)
        before = publish.current(s, publish.TRUST).sequence
        rotation.revoke_dsc(s, kid)
        assert publish.current(s, publish.TRUST).sequence == before + 1
    with sessions.begin() as s:
        result = publish.verify_text(s, text)
        assert (result.outcome, result.reason) == (Outcome.UNKNOWN_ISSUER, "dsc_revoked")
        fresh = issue(s, seeded_entity)
        assert rotation.signer_for(s, seeded_entity).kid != kid
        assert publish.verify_text(s, fresh).outcome == Outcome.VALID
        with pytest.raises(NotFound):
            rotation.revoke_dsc(s, b"\x00" * 8)


def test_each_facility_has_its_own_signer(sessions: sessionmaker[Session], seeded_entity: int) -> None:
    with sessions.begin() as s:
        other = other_entity(s)
        a, b = rotation.signer_for(s, seeded_entity), rotation.signer_for(s, other)
        assert a.kid != b.kid and b.bin == OTHER_BIN
        assert publish.verify_text(s, issue(s, other)).shown["facility_bin"] == OTHER_BIN  # type: ignore[index]


def test_the_attachment_notice_seal_carries_no_person(sessions: sessionmaker[Session], seeded_entity: int) -> None:
    with sessions.begin() as s:
        text = seals.issue_notice(
            s,
            entity_id=seeded_entity,
            notice=Notice("2026-00000042", NoticeKind.ATTACHMENT, "Филиал поликлиники №3", dt.date(2026, 4, 1)),
        )
        result = publish.verify_text(s, text)
        assert result.outcome == Outcome.VALID
        shown = dict(result.shown or {})
        assert shown["record_type"] == "attachment.notification"
        assert (shown["notice_number"], shown["begin_date"], shown["notice_kind"]) == (
            "2026-00000042",
            "2026-04-01",
            "attachment",
        )
        assert "name" not in shown and "birth_date" not in shown
        assert not re.search(r"\d{12}", json.dumps({k: v for k, v in shown.items() if k != "facility_bin"}))
        row = s.scalar(select(IssuedSeal).where(IssuedSeal.reference == "2026-00000042"))
        assert row is not None and row.record_type == "attachment.notification" and row.status == "valid"


def test_notice_pdf_carries_the_seal_image(sessions: sessionmaker[Session], seeded_entity: int) -> None:
    from emhana.attachment.notice.pdf import NoticeContent, render
    from emhana.attachment.notice.signer import seal_notice

    content = NoticeContent(
        "2026-00000043",
        "attachment",
        "ru",
        dt.datetime(2026, 4, 1, 10, tzinfo=dt.UTC),
        "Поликлиника",
        "Филиал",
        "ул. Абая 1",
        "3",
        "Иванов И.",
        "Петров П.",
        dt.date(1990, 1, 1),
        "9001******12",
        "по месту жительства",
        dt.date(2026, 4, 1),
        None,
        None,
        None,
    )
    with sessions.begin() as s:
        text = seal_notice(
            s,
            entity_id=seeded_entity,
            number=content.number,
            kind=content.kind,
            site=content.site,
            begin=content.begin,
            now=now(),
        )
        assert publish.verify_text(s, text).outcome == Outcome.VALID
    plain, sealed = render(content), render(content, seal=text)
    assert b"/Subtype /Image" in sealed and b"/Subtype /Image" not in plain
    assert render(content, seal=text) == sealed  # the same seal gives the same bytes


def test_the_database_issuer_serves_the_medical_book_and_a_correction_supersedes_by_record(
    sessions: sessionmaker[Session], seeded_entity: int
) -> None:
    import dataclasses

    from emhana.medbook.seal import SealIssuer

    issuer: SealIssuer = seals.DatabaseSealIssuer()
    record = bytes(range(16))
    moment = now()
    with sessions.begin() as s:
        entity = s.get(Entity, seeded_entity)
        assert entity is not None
        first = issuer.issue(
            s,
            entity,
            dataclasses.replace(WORKER, record_hash=record),
            expires_at=moment + dt.timedelta(days=3650),
            now=moment,
        )
        again = issuer.issue(
            s,
            entity,
            dataclasses.replace(WORKER, record_hash=record),
            expires_at=moment + dt.timedelta(days=90),
            now=moment,
        )
        assert first is not None and again is not None
        assert issuer.issue(s, entity, WORKER, expires_at=moment, now=moment) is None
        corrected = issuer.issue(
            s,
            entity,
            dataclasses.replace(WORKER, record_hash=bytes(16), record_version=2),
            expires_at=moment + dt.timedelta(days=90),
            now=moment,
        )
        assert corrected is not None
        # exp is capped at the DSC's notAfter (§6.5) instead of refusing a clearance that outlives the DSC.
        assert publish.verify_text(s, first).outcome == Outcome.VALID
        assert seals.supersede_reference(s, reference=seals.record_reference(record), replacement=corrected) == 2
        assert seals.supersede_reference(s, reference=seals.record_reference(record)) == 0
    with sessions.begin() as s:
        assert publish.verify_text(s, first).outcome == Outcome.SUPERSEDED
        assert publish.verify_text(s, again).outcome == Outcome.SUPERSEDED
        assert publish.verify_text(s, corrected).outcome == Outcome.VALID
