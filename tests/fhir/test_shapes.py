"""``emhana.fhir.shapes``: what the quick check accepts, fhir.resources' R4B models accept too (on resources and
envelopes generated from its own table, with good and bad values), and the shapes an MIS sends are accepted."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from emhana.fhir import shapes
from tests.builders.fhir import bundle, condition, immunization, make_pki, make_signer, observation, xray

IIN = "900101300123"

# Values of every kind the table knows, good and bad, near each rule's edges.
STRINGS = [
    "Без патологии",
    "a",
    " ",
    "a  b",
    "line\nbreak\ttab\r",
    "",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x00",
    "a\x85",
    "\xa0",
    "\u2028",
    "\u3000",
    "\u200b",
    "\ud800",
    "x" * 10_001,
    "Отрицательно",
]
CODES = ["final", "NEG", "20507-0", "A15.0", "a b", "a  b", " a", "a ", "a\tb", "", "код", "x" * 257]
IDS = ["b0o1", "A-1.2", "", "a_b", "a b", "x" * 64, "x" * 65, "Я"]
URIS = ["http://loinc.org", "urn:uuid:1", "Observation", "", "a b", "http://ex.kz/я"]
DATES = [
    "2026-03-02",
    "2024-02-29",
    "2026-02-29",
    "2026-13-01",
    "2026-00-10",
    "2026",
    "2026-03",
    "0001-01-01",
    "1899-12-31",
    "26-03-02",
]
MOMENTS = [
    "2026-03-02T10:00:00+05:00",
    "2026-03-02T10:00:00Z",
    "2026-03-02T10:00:00.123456Z",
    "2026-03-02T10:00:00.1234567Z",
    "2026-03-02T10:00:00",
    "2026-03-02T24:00:00Z",
    "2026-03-02T23:59:60Z",
    "2026-03-02T10:00Z",
    "2026-03-02T10:00:00+14:00",
    "2026-03-02T10:00:00+14:30",
    "2026-03-02T10:00:00-13:59",
    "2026-02-30T10:00:00Z",
]
NUMBERS: list[Any] = [0, 1, -1, 5.4, 1e20, 1e-7, 2**40, float("inf"), float("nan"), True, "5.4", "1"]
OTHERS: list[Any] = [None, [], {}, [None], {"x": 1}, 1, True, "s", ["s"]]

LEAVES: dict[Callable[[Any], bool], list[Any]] = {
    shapes.string: STRINGS,
    shapes.code: CODES,
    shapes.ident: IDS,
    shapes.uri: URIS,
    shapes.boolean: [True, False, "true", 1, 0],
    shapes.decimal: NUMBERS,
    shapes.date: DATES,
    shapes.instant: MOMENTS + DATES[:2],
    shapes.date_time: DATES + MOMENTS,
}


@st.composite
def values(draw: st.DrawFn, check: Any, depth: int = 0) -> Any:
    """A value for a rule of the table: mostly one the rule takes (so that whole resources are often accepted
    and held to the model), sometimes one it does not, or one of another kind."""
    if draw(st.integers(0, 49)) == 0:
        return draw(st.sampled_from(OTHERS))
    good = draw(st.integers(0, 24)) > 0
    if isinstance(check, shapes.ResourceType):
        return check.name if good else draw(st.sampled_from(["Patient", None, 1]))
    if isinstance(check, shapes.ListOf):
        size = draw(st.integers(1, 2 if depth < 3 else 1)) if good else 0
        return [draw(values(check.item, depth + 1)) for _ in range(size)]
    if isinstance(check, shapes.Element):
        return draw(_object(check, depth + 1))
    pool = [v for v in LEAVES[check] if bool(check(v)) is good]
    return draw(st.sampled_from(pool))


@st.composite
def _object(draw: st.DrawFn, element: shapes.Element, depth: int) -> dict[str, Any]:
    names = sorted(element.spec)
    chosen = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=3 if depth > 1 else 8))
    if draw(st.integers(0, 9)) > 0:  # usually the required elements too, or little would be accepted
        chosen = sorted({*chosen, *element.required})
    out = {name: draw(values(element.spec[name], depth)) for name in chosen}
    if draw(st.integers(0, 19)) == 0:
        out[draw(st.sampled_from(["extension", "_status", "fhir_comments", "unknown", "resource_type"]))] = "x"
    return out


def objects(element: shapes.Element, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    return _object(element, depth)


def model_accepts(type_name: str, doc: dict[str, Any]) -> bool:
    try:
        get_fhir_model_class(type_name).model_validate(copy.deepcopy(doc))
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("type_name", sorted(shapes.RESOURCES))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_resource_the_check_accepts_is_valid_by_its_model(type_name: str, data: st.DataObject) -> None:
    element = shapes.RESOURCES[type_name]
    assert isinstance(element, shapes.Element)
    doc = data.draw(objects(element))
    doc.setdefault("resourceType", type_name) if data.draw(st.booleans()) else None
    if shapes.accepts(doc):
        assert model_accepts(type_name, doc), doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_an_envelope_the_check_accepts_is_valid_by_the_bundle_model(data: st.DataObject) -> None:
    doc = data.draw(objects(shapes.ENVELOPE))
    if shapes.accepts_envelope(doc):
        assert model_accepts("Bundle", doc), doc


@pytest.mark.parametrize(
    ("check", "value"),
    [(check, value) for check, good_and_bad in LEAVES.items() for value in good_and_bad],
)
def test_each_value_the_check_takes_is_taken_by_the_model(check: Callable[[Any], bool], value: Any) -> None:
    """Every leaf value on its own, in an element of its kind (of an Observation; a date of an Immunization)."""
    where: dict[Any, tuple[str, ...]] = {
        shapes.string: ("valueString",),
        shapes.code: ("status",),
        shapes.ident: ("id",),
        shapes.uri: ("code", "coding", "system"),
        shapes.boolean: ("valueBoolean",),
        shapes.decimal: ("valueQuantity", "value"),
        shapes.date: ("expirationDate",),
        shapes.instant: ("issued",),
        shapes.date_time: ("effectiveDateTime",),
    }
    doc = immunization(IIN) if check is shapes.date else observation(IIN)
    path = where[check]
    if path[0] in ("valueString", "valueBoolean", "valueQuantity"):
        doc.pop("interpretation")
    target: Any = doc
    for name in path[:-1]:
        target = target.setdefault(name, {})
        if name == "code":
            target = target["coding"][0]
            break
    target[path[-1]] = value
    if check(value):
        assert shapes.accepts(doc), value
        assert model_accepts(doc["resourceType"], doc), value
    else:
        assert not shapes.accepts(doc), value


def test_the_shapes_an_mis_sends_are_accepted_and_others_go_to_the_models() -> None:
    """What the builders (and the benchmark) send skips the models; an extension, a partial date or a null
    does not."""
    signer = make_signer(make_pki(), "800102400117")
    resources = [
        observation(IIN),
        observation(IIN, version="2"),
        xray(IIN),
        immunization(IIN),
        condition(IIN),
        condition(IIN, clinical=None, verification="refuted"),
    ]
    doc = bundle(resources, signer=signer)
    assert shapes.accepts_envelope(doc)
    assert all(shapes.accepts(r) for r in resources)
    assert all(model_accepts(r["resourceType"], r) for r in resources)
    others = [
        {**observation(IIN), "extension": [{"url": "http://x", "valueString": "y"}]},
        {**observation(IIN), "effectiveDateTime": "2026-03"},
        {**observation(IIN), "subject": None},
        {**observation(IIN), "valueString": "x", "valueBoolean": True},
        {**immunization(IIN), "occurrenceDateTime": "2026"},
        {**xray(IIN), "conclusion": ""},
    ]
    assert not any(shapes.accepts(r) for r in others)
    assert not shapes.accepts_envelope({**doc, "entry": [*doc["entry"], {"resource": resources[0]}]})
