"""CWT claims of the seal (§6.3): round trip, strict reading, and never an IIN."""

from __future__ import annotations

import datetime as dt
import re

import cbor2
import pytest

from emhana.identity.rules import Sex, make_iin
from emhana.kernel.errors import SealMalformed, SealRefused
from emhana.trust.seals import cwt
from tests.builders.seals import BIN_A, worker

IAT = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp())


def claims(**changes: object) -> cwt.SealClaims:
    return cwt.SealClaims(BIN_A, IAT, IAT, IAT + 86400 * 180, bytes(range(16)), worker(**changes))


def test_round_trip_with_private_claim_key() -> None:
    c = claims(record_version=3, categories=("food", "child"))
    body = cbor2.loads(cwt.to_cbor(c))
    assert set(body) == {1, 4, 5, 6, 7, cwt.CLAIM_KZMB} and cwt.CLAIM_KZMB == -70001
    assert set(body[cwt.CLAIM_KZMB]) == {1, 2, 3, 4, 5, 6, 7, 8}
    assert body[cwt.CLAIM_KZMB][6] == [[1, cwt.day_number(dt.date(2026, 2, 10))], [2, 20496]]
    assert cwt.from_map(body) == c


def test_minimal_payload_round_trip() -> None:
    c = claims(categories=(), dates=(), record_hash=None)
    assert set(cbor2.loads(cwt.to_cbor(c))[cwt.CLAIM_KZMB]) == {1, 2, 3, 4, 7}
    assert cwt.from_map(cbor2.loads(cwt.to_cbor(c))) == c


def test_name_is_nfc_normalised() -> None:
    decomposed = "ТЕСТОВА И\u0306"  # Й as И + combining breve
    body = cbor2.loads(cwt.to_cbor(claims(name=decomposed)))
    assert body[cwt.CLAIM_KZMB][2] == "ТЕСТОВА Й"


@pytest.mark.parametrize("field", ["name", "category"])
def test_an_iin_never_enters_a_seal(field: str) -> None:
    iin = make_iin(dt.date(1992, 6, 17), Sex.FEMALE, 1234)
    assert iin is not None
    changes = {"name": f"ТЕСТОВА {iin}"} if field == "name" else {"categories": (iin,)}
    with pytest.raises(SealRefused) as exc:
        cwt.to_cbor(claims(**changes))
    assert exc.value.code == "trust.seal_refused" and "IIN" in exc.value.english()


def test_the_only_12_digit_value_is_the_facility_bin() -> None:
    body = cwt.to_cbor(claims(categories=("food", "child")))
    texts = [v for v in _strings(cbor2.loads(body)) if re.search(r"\d{12}", v)]
    assert texts == [BIN_A]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize(
    "changes",
    [
        {"cti": b"short"},
        {"not_before": IAT - 1},
        {"expires_at": IAT},
    ],
)
def test_bad_claims_are_refused_at_issue(changes: dict[str, object]) -> None:
    from dataclasses import replace

    with pytest.raises(SealRefused):
        cwt.to_cbor(replace(claims(), **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes", [{"name": ""}, {"name": "Я" * 200}, {"categories": ("x" * 17,)}, {"record_hash": b"12"}]
)
def test_bad_clearance_is_refused_at_issue(changes: dict[str, object]) -> None:
    with pytest.raises(SealRefused):
        cwt.to_cbor(claims(**changes))


def _body(**overrides: object) -> dict[int, object]:
    body: dict[int, object] = cbor2.loads(cwt.to_cbor(claims()))
    for key, value in overrides.items():
        label = int(key.removeprefix("k").replace("m", "-"))
        if value is None:
            body.pop(label)
        else:
            body[label] = value
    return body


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"k1": "BIN080540012015"}, "bad_iss"),
        ({"k1": 80540012015}, "bad_iss"),
        ({"k6": None}, "iat_not_integer_seconds"),
        ({"k6": float(IAT)}, "iat_not_integer_seconds"),
        ({"k6": True}, "iat_not_integer_seconds"),
        ({"k4": IAT * 1000}, "exp_not_seconds"),
        ({"k4": -5}, "exp_not_seconds"),
        ({"k4": IAT}, "exp_not_after_iat"),
        ({"k7": b"x"}, "bad_cti"),
        ({"m70001": None}, "no_known_payload"),
        ({"m70001": [1]}, "payload_not_map"),
        ({"m70001": {1: 2}}, "unsupported_payload_version"),
        ({"m70001": {1: 1, 2: "X", 3: "1992-13-40", 4: 1, 7: 1}}, "bad_birth_date"),
        ({"m70001": {1: 1, 2: "X", 3: "1992-06-17", 4: 9, 7: 1}}, "bad_status"),
        ({"m70001": {1: 1, 2: "X", 3: "1992-06-17", 4: 1, 5: "food", 7: 1}}, "bad_categories"),
        ({"m70001": {1: 1, 2: "X", 3: "1992-06-17", 4: 1, 6: [[9, 1]], 7: 1}}, "bad_dates"),
        ({"m70001": {1: 1, 2: "X", 3: "1992-06-17", 4: 1, 7: 0}}, "bad_record_version"),
        ({"m70001": {1: 1, 2: "X", 3: "1992-06-17", 4: 1, 7: 1, 8: b"1"}}, "bad_record_hash"),
        ({"m70001": {1: 1, 2: 5, 3: "1992-06-17", 4: 1, 7: 1}}, "bad_name"),
    ],
)
def test_reading_is_strict(overrides: dict[str, object], reason: str) -> None:
    with pytest.raises(SealMalformed) as exc:
        cwt.from_map(_body(**overrides))
    assert exc.value.params["reason"] == reason
