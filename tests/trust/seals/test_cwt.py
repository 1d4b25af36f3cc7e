"""CWT claims of the seal (§6.3): round trip, strict reading, and never an IIN."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _reference_read(body: Any) -> cwt.SealClaims | str:
    """The strict reading of §6.6 as first written (before issue 18 made it faster): the oracle of the test below.

    Returns the claims, or the reason of the SealMalformed it would raise."""
    if not isinstance(body, dict):
        return "claims_not_map"
    iss = body.get(1)
    if not (isinstance(iss, str) and len(iss) == 12 and iss.isascii() and iss.isdigit()):
        return "bad_iss"
    times: list[int] = []
    for key, label, default in ((6, "iat", None), (5, "nbf", "iat"), (4, "exp", None)):
        value = body.get(key, times[0] if default else None)
        if type(value) is not int:
            return f"{label}_not_integer_seconds"
        if not 0 <= value < cwt.MAX_SECONDS:
            return f"{label}_not_seconds"
        times.append(value)
    iat, nbf, exp = times
    if exp <= max(iat, nbf):
        return "exp_not_after_iat"
    cti = body.get(7)
    if not isinstance(cti, bytes) or len(cti) != 16:
        return "bad_cti"
    if cwt.CLAIM_KZMB not in body:
        return "no_known_payload"
    p = body[cwt.CLAIM_KZMB]
    if not isinstance(p, dict):
        return "payload_not_map"
    if p.get(1) != 1 or type(p.get(1)) is not int:
        return "unsupported_payload_version"
    name, birth, status = p.get(2), p.get(3), p.get(4)
    if not isinstance(name, str) or not 0 < len(name) <= cwt.MAX_NAME:
        return "bad_name"
    if not isinstance(birth, str) or len(birth) != 10:
        return "bad_birth_date"
    try:
        birth_date = dt.date.fromisoformat(birth)
    except ValueError:
        return "bad_birth_date"
    if type(status) is not int or status not in (1, 2, 3):
        return "bad_status"
    categories = p.get(5, [])
    if (
        not isinstance(categories, list | tuple)
        or len(categories) > cwt.MAX_CATEGORIES
        or not all(isinstance(x, str) and 0 < len(x) <= cwt.MAX_CATEGORY for x in categories)
    ):
        return "bad_categories"
    dates = p.get(6, [])
    if not isinstance(dates, list | tuple) or len(dates) > 16:
        return "bad_dates"
    parsed = []
    for item in dates:
        if not (
            isinstance(item, list | tuple)
            and len(item) == 2
            and type(item[0]) is int
            and type(item[1]) is int
            and item[0] in (1, 2, 3, 4)
            and -200_000 < item[1] < 200_000
        ):
            return "bad_dates"
        parsed.append((cwt.Section(item[0]), cwt.EPOCH + dt.timedelta(days=item[1])))
    rv, record_hash = p.get(7), p.get(8)
    if type(rv) is not int or not 0 < rv < 2**31:
        return "bad_record_version"
    if record_hash is not None and (not isinstance(record_hash, bytes) or len(record_hash) != 16):
        return "bad_record_hash"
    clearance = cwt.Clearance(
        name, birth_date, cwt.ClearanceStatus(status), tuple(categories), tuple(parsed), rv, record_hash
    )
    return cwt.SealClaims(iss, iat, nbf, exp, cti, clearance)


_WRONG = st.sampled_from([None, True, 1.0, "1", b"1", [1], {1: 1}])  # None: the key is removed
_EXP = IAT + 86400 * 180
_TIMES = st.one_of(_WRONG, st.sampled_from([0, -1, IAT - 1, IAT, IAT + 1, _EXP, _EXP + 1, IAT * 1000, cwt.MAX_SECONDS]))
_DAYS = st.sampled_from([0, 20_000, -199_999, 199_999, -200_000, 200_000, True, 1.0])
_DATE = st.one_of(
    st.tuples(st.sampled_from([1, 2, 4, 0, 5, True]), _DAYS).map(list),
    st.sampled_from([[1], [1, 2, 3], "12", {1: 2}, (1, 5)]),
)
_HEADER = {
    1: st.one_of(_WRONG, st.sampled_from(["080540012015", "08054001201٥", "0805400120150", "08054001201x"])),
    4: _TIMES,
    5: _TIMES,
    6: _TIMES,
    7: st.one_of(_WRONG, st.sampled_from([b"", bytes(15), bytes(16), bytes(17)])),
    cwt.CLAIM_KZMB: _WRONG,
}
_PAYLOAD = {
    1: st.one_of(_WRONG, st.sampled_from([0, 1, 2, True])),
    2: st.one_of(_WRONG, st.sampled_from(["", "X", "Я" * 120, "Я" * 121])),
    3: st.one_of(_WRONG, st.sampled_from(["1992-06-17", "1992-13-40", "2023-W01-1", "19920617", "1992-06-17T"])),
    4: st.one_of(_WRONG, st.sampled_from([0, 1, 2, 3, 4])),
    5: st.one_of(
        _WRONG,
        st.lists(st.sampled_from(["food", "", "x" * 16, "x" * 17, 5]), min_size=1, max_size=2),
        st.sampled_from([(), ["food"] * 12, ["food"] * 13]),
    ),
    6: st.one_of(_WRONG, st.lists(_DATE, min_size=1, max_size=2), st.sampled_from([(), [[1, 0]] * 16, [[1, 0]] * 17])),
    7: st.one_of(_WRONG, st.sampled_from([0, 1, 2**31 - 1, 2**31])),
    8: st.one_of(_WRONG, st.sampled_from([b"", bytes(15), bytes(16)])),
}


def _changes(values: dict[int, st.SearchStrategy[Any]], most: int) -> st.SearchStrategy[list[tuple[int, Any]]]:
    """A few changes at a time: one wrong value is what a reason is about, more would hide it behind the first."""
    return st.lists(st.one_of([st.tuples(st.just(key), value) for key, value in values.items()]), max_size=most)


@settings(max_examples=1000, deadline=None)  # a shared machine stalls a call now and then
@given(header=_changes(_HEADER, 1), payload=_changes(_PAYLOAD, 2))
def test_reading_is_the_reference_reading(header: list[tuple[int, Any]], payload: list[tuple[int, Any]]) -> None:
    body: dict[int, Any] = cbor2.loads(cwt.to_cbor(claims(categories=("food", "child"))))
    for target, changes in ((body, header), (body[cwt.CLAIM_KZMB], payload)):
        for key, value in changes:
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
    read: cwt.SealClaims | str
    try:
        read = cwt.from_map(body)
    except SealMalformed as exc:
        read = str(exc.params["reason"])
    assert read == _reference_read(body)
