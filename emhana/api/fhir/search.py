"""The shared part of the FHIR door: its router, search parameters, searchset Bundles and reads by id.

Search semantics (FHIR R4 search.html), the same for every type (a type declares the criteria it supports):

- ``_count`` (0..100; more is served as 100, the self link says so) and ``_offset`` page the matches.
  ``_count=0`` and ``_summary=count`` give the total only: no entries and no next link (a next link never points
  to the page itself, so a client following them, fhirpy's ``fetch_all()``, ends).
- ``total`` is exact or absent: ``_total=none`` leaves it out, ``estimate`` and ``accurate`` both give the exact
  count; ``_totalMethod`` (Aidbox's spelling, which fhirpy's ``count()`` sends) is read the same way.
- ``_summary=true|text|data|false`` and ``_elements`` subset the matches (top-level elements; the subset is tagged
  SUBSETTED); any other ``_summary`` value is refused.
- Unknown or unsupported parameters are refused (400 OperationOutcome) by default and with
  ``Prefer: handling=strict``; with ``Prefer: handling=lenient`` they are ignored: the self link shows only the
  parameters used and an OperationOutcome entry (search.mode ``outcome``) names those ignored; the answer carries
  ``Preference-Applied``. FHIR leaves the default to the server (search.html#errors); strict is kept because a
  misspelt criterion silently dropped widens the search (every practitioner instead of one, a logged Patient
  read) where the client believes it narrowed it. A criterion with an invalid value is refused in both modes.
- Criteria that carry an IIN (``hide``: Patient and Practitioner identifiers) never appear in a link, and are not
  dropped from it either: they are sealed into one opaque ``_hidden`` parameter (AES-GCM under a key derived from
  EMHANA_SECRET_KEY, random nonce, valid one hour), which ``search_items`` opens again. The self, next and
  previous links of a GET or POST search by IIN thus replay it by GET without the IIN in any URL.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import secrets
from collections.abc import Collection, Mapping
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fhir.resources.R4B import get_fhir_model_class

from emhana.accounts.roles import Can
from emhana.accounts.service import Actor
from emhana.fhir.outcome import (
    BAD_CURSOR,
    BAD_SEARCH,
    IGNORED_SEARCH,
    NOT_FOUND,
    UNSUPPORTED_SEARCH,
    FhirError,
    Issue,
    fhir_response,
    outcome,
)
from emhana.kernel import clock
from emhana.web.deps import require
from emhana.web.hosts import public_base
from emhana.web.problems import language

router = APIRouter(prefix="/fhir/R4", tags=["fhir"])

DEFAULT_COUNT, MAX_COUNT = 20, 100
MAX_BODY = 5 * 1024 * 1024
DIGITS12 = re.compile(r"^\d{12}$")

SKIPPED = frozenset({"_format", "_pretty", "lang"})  # the door's middleware and the language negotiation read them
CONTROL = frozenset({"_count", "_offset", "_summary", "_total", "_totalMethod", "_elements"})
SUMMARY = ("true", "false", "text", "data", "count")
TOTAL = ("none", "estimate", "accurate")
TOTAL_METHOD = {"count": "accurate", "accurate": "accurate", "estimate": "estimate", "none": "none"}
ELEMENT = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
ALWAYS = frozenset({"resourceType", "id", "meta"})
SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "Resource encoded in summary mode",
}

HIDDEN = "_hidden"
HIDDEN_TTL = dt.timedelta(hours=1)
NONCE = 12

READ = [require(Can.READ_FHIR_DIRECTORY)]
PatientReader = Annotated[Actor, require(Can.READ_FHIR_PATIENT)]


def base_url(request: Request) -> str:
    """Return the absolute base of the FHIR door, from the configured public address (never a client's Host)."""
    return public_base(request) + router.prefix


def _purpose(request: Request) -> str:
    return request.headers.get("x-purpose-of-use", "") or "fhir"


def _bad(name: str, reason: str) -> FhirError:
    return FhirError(400, Issue("invalid", "fhir.bad_search", BAD_SEARCH, {"name": name, "reason": reason}, (name,)))


class SearchItems(list[tuple[str, str]]):
    """The (name, value) pairs of a search (sealed criteria opened) with the client's ``Prefer: handling``
    (``asked``: None when the client stated none; ``Params`` then applies the strict default)."""

    def __init__(self, items: list[tuple[str, str]], asked: str | None = None) -> None:
        super().__init__(items)
        self.asked = asked


class Params:
    """Search parameters of a GET query or a POST _search form, checked against what a type supports.

    ``supported``: the type's criteria; ``repeatable``: those that may be given more than once (``_lastUpdated``
    with ``ge`` and ``le``); ``handling``: "strict" or "lenient", by default the one the items carry
    (``search_items`` reads the Prefer header), else strict.
    """

    def __init__(
        self,
        items: list[tuple[str, str]],
        supported: Collection[str],
        *,
        repeatable: Collection[str] = (),
        handling: str | None = None,
    ) -> None:
        self.asked: str | None = handling or getattr(items, "asked", None)
        self.handling = self.asked or "strict"
        self.values: dict[str, str] = {}  # the first value of each criterion
        self.multi: dict[str, list[str]] = {}  # every value of each criterion, in order
        self.ignored: list[str] = []
        control: dict[str, str] = {}
        for name, value in items:
            if name in SKIPPED:
                continue
            if name in CONTROL:
                if name in control:
                    raise _bad(name, "given more than once")
                control[name] = value
                continue
            if name not in supported:
                if self.handling == "lenient":
                    if name not in self.ignored:
                        self.ignored.append(name)
                    continue
                raise FhirError(
                    400, Issue("not-supported", "fhir.unsupported_search", UNSUPPORTED_SEARCH, {"name": name}, (name,))
                )
            if name in self.multi and name not in repeatable:
                raise _bad(name, "given more than once")
            self.multi.setdefault(name, []).append(value)
            self.values.setdefault(name, value)
        self.count = min(_int(control, "_count", DEFAULT_COUNT, 0, None), MAX_COUNT)
        self.offset = _int(control, "_offset", 0, 0, 10_000_000)
        self.summary = _choice(control, "_summary", SUMMARY)
        self.total_asked = _choice(control, "_total", TOTAL)
        if self.total_asked is None and "_totalMethod" in control:
            method = _choice(control, "_totalMethod", tuple(TOTAL_METHOD))
            self.total_asked = TOTAL_METHOD[method or "count"]
        self.total_mode = self.total_asked or "accurate"
        self.elements = parse_elements(control.get("_elements"))

    @property
    def totals_only(self) -> bool:
        """Tell whether the client asked for the total only (``_count=0`` or ``_summary=count``)."""
        return self.count == 0 or self.summary == "count"

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def all(self, name: str) -> list[str]:
        """Return every value of a criterion (several for a repeatable one)."""
        return list(self.multi.get(name, []))

    def token(self, name: str, system: str) -> str | None:
        """Return the value of a token ``system|value`` whose system must be the given one."""
        raw = self.values.get(name)
        if raw is None:
            return None
        sys_, sep, value = raw.partition("|")
        if not sep or sys_ != system or not DIGITS12.match(value):
            raise _bad(name, f"expected {system}|<12 digits>")
        return value

    def ident(self, name: str = "_id") -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        if not raw.isdigit() or len(raw) > 18:
            raise _bad(name, "a numeric id")
        return int(raw)

    def reference(self, name: str, rtype: str) -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        value = raw[len(rtype) + 1 :] if raw.startswith(rtype + "/") else raw
        if not value.isdigit() or len(value) > 18:
            raise _bad(name, f"{rtype}/<id>")
        return int(value)

    def query(
        self, *, without: tuple[str, ...] = (), offset: int | None = None, extra: list[tuple[str, str]] | None = None
    ) -> str:
        """Return the query string of the search as used (criteria, then the result parameters and the page)."""
        pairs = [(k, v) for k, vs in self.multi.items() if k not in without for v in vs]
        pairs += extra or []
        if self.summary is not None:
            pairs.append(("_summary", self.summary))
        if self.total_asked is not None:
            pairs.append(("_total", self.total_asked))
        if self.elements:
            pairs.append(("_elements", ",".join(self.elements)))
        pairs += [("_count", str(self.count)), ("_offset", str(self.offset if offset is None else offset))]
        return urlencode(pairs)


def _int(control: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = control.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 9 or int(raw) < low or (high is not None and int(raw) > high):
        raise _bad(name, f"an integer from {low} to {high}" if high is not None else f"an integer from {low}")
    return int(raw)


def _choice(control: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    raw = control.get(name)
    if raw is None:
        return None
    if raw not in allowed:
        raise _bad(name, "one of " + ", ".join(allowed))
    return raw


def parse_elements(raw: str | None) -> tuple[str, ...]:
    """Return the element names of an ``_elements`` value (none without one); raise a 400 FhirError if malformed."""
    if raw is None:
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if not names or not all(ELEMENT.match(n) for n in names):
        raise _bad("_elements", "a comma-separated list of element names")
    return names


# --- Subsets (_summary, _elements) ------------------------------------------------------------------------------


@cache
def _flags(rtype: str) -> tuple[frozenset[str], frozenset[str]]:
    """Return the top-level summary elements and the mandatory ones of a resource type (from its FHIR model)."""
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, LookupError, ValueError):
        return frozenset(), frozenset()
    summary, mandatory = set(), set()
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        label = field.alias or name
        if extra.get("summary_element_property"):
            summary.add(label)
        if extra.get("element_required"):
            mandatory.add(label)
    return frozenset(summary), frozenset(mandatory)


def subset(resource: dict[str, Any], summary: str | None, elements: tuple[str, ...]) -> dict[str, Any]:
    """Return a resource reduced as ``_summary`` and ``_elements`` ask, tagged SUBSETTED when anything is left out."""
    if summary in (None, "false", "count") and not elements:
        return resource
    in_summary, mandatory = _flags(str(resource.get("resourceType", "")))
    keep = set(resource)
    if summary == "true":
        keep &= in_summary | mandatory | ALWAYS
    elif summary == "text":
        keep &= mandatory | ALWAYS | {"text"}
    elif summary == "data":
        keep -= {"text"}
    if elements:
        keep &= set(elements) | mandatory | ALWAYS
    if keep == set(resource):
        return resource
    out = {k: v for k, v in resource.items() if k in keep}
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    out["meta"] = meta
    return out


# --- Sealed criteria (no IIN in a link) ------------------------------------------------------------------------


def _seal_key(request: Request) -> AESGCM:
    key: bytes | None = getattr(request.app.state, "fhir_seal_key", None)
    if key is None:
        secret: str = request.app.state.settings.secret_key
        material = secret.encode() if secret else secrets.token_bytes(32)  # without a secret: this process only
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"emhana-fhir", info=b"emhana fhir hidden search criteria v1"
        ).derive(material)
        request.app.state.fhir_seal_key = key
    return AESGCM(key)


def seal(request: Request, rtype: str, pairs: list[tuple[str, str]]) -> str:
    """Return the opaque token of search criteria of a type (encrypted and authenticated, valid one hour)."""
    expires = int((clock.now() + HIDDEN_TTL).timestamp())
    plain = json.dumps({"x": expires, "p": pairs}, separators=(",", ":")).encode()
    nonce = secrets.token_bytes(NONCE)
    blob = nonce + _seal_key(request).encrypt(nonce, plain, b"emhana-fhir-search:" + rtype.encode())
    return base64.urlsafe_b64encode(blob).decode().rstrip("=")


def unseal(request: Request, rtype: str, token: str) -> list[tuple[str, str]]:
    """Return the criteria of a token made by ``seal`` for this type; raise a 400 FhirError otherwise."""
    refused = FhirError(400, Issue("invalid", "fhir.bad_cursor", BAD_CURSOR, {}, (HIDDEN,)))
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        plain = _seal_key(request).decrypt(blob[:NONCE], blob[NONCE:], b"emhana-fhir-search:" + rtype.encode())
        doc = json.loads(plain)
        pairs = [(str(k), str(v)) for k, v in doc["p"]]
        expires = int(doc["x"])
    except (InvalidTag, ValueError, binascii.Error, KeyError, TypeError):
        raise refused from None
    if clock.now().timestamp() > expires:
        raise refused
    return pairs


# --- Searchset Bundles ---------------------------------------------------------------------------------------


def searchset(
    request: Request,
    rtype: str,
    params: Params,
    total: int | None,
    found: list[dict[str, Any]],
    *,
    hide: tuple[str, ...] = (),
    extensions: Mapping[str, list[dict[str, Any]]] | None = None,
    more: bool | None = None,
) -> JSONResponse:
    """Return a searchset Bundle with self/next/previous links.

    ``total``: the exact number of matches, or None when unknown (then ``more`` tells whether a next page exists;
    by default when the page is full). ``hide``: criteria never put in a link as such (an IIN), sealed into
    ``_hidden`` instead. ``extensions`` gives, by resource id, the ``entry.search.extension`` of a match (e.g. its
    distance). With ``_count=0`` or ``_summary=count`` the Bundle has the total only.
    """
    base = base_url(request)
    hidden = [(k, v) for k in hide for v in params.multi.get(k, [])]
    extra = [(HIDDEN, seal(request, rtype, hidden))] if hidden else []

    def url(offset: int | None = None) -> str:
        return f"{base}/{rtype}?{params.query(without=hide, offset=offset, extra=extra)}"

    link = [{"relation": "self", "url": url()}]
    if not params.totals_only:
        if total is not None:
            has_next = params.offset + params.count < total
        else:
            has_next = more if more is not None else len(found) >= params.count
        if has_next:
            link.append({"relation": "next", "url": url(params.offset + params.count)})
        if params.offset > 0:
            link.append({"relation": "previous", "url": url(max(0, params.offset - params.count))})
    body: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None and params.total_mode != "none":
        body["total"] = total
    body["link"] = link
    entries = (
        []
        if params.totals_only
        else [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": subset(r, params.summary, params.elements),
                "search": _search(r, extensions),
            }
            for r in found
        ]
    )
    if params.ignored:
        issues = [
            Issue("not-supported", "fhir.ignored_search", IGNORED_SEARCH, {"name": n}, (n,), severity="warning")
            for n in params.ignored
        ]
        entries.append({"resource": outcome(issues, language(request)), "search": {"mode": "outcome"}})
    body["entry"] = entries
    headers = {"Preference-Applied": f"handling={params.handling}"} if params.asked else None
    return fhir_response(body, headers=headers)


def _search(resource: dict[str, Any], extensions: Mapping[str, list[dict[str, Any]]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": "match"}
    if extensions and extensions.get(str(resource["id"])):
        out["extension"] = extensions[str(resource["id"])]
    return out


def _found(rtype: str, rid: str, resource: dict[str, Any] | None) -> JSONResponse:
    if resource is None:
        raise FhirError(404, Issue("not-found", "core.not_found", NOT_FOUND, {"type": rtype, "id": rid}, (rtype,)))
    return fhir_response(resource)


def _numeric(rtype: str, rid: str) -> int:
    if not rid.isdigit() or len(rid) > 18:
        raise FhirError(404, Issue("not-found", "core.not_found", NOT_FOUND, {"type": rtype, "id": rid[:64]}, (rtype,)))
    return int(rid)


def prefer_handling(request: Request) -> str | None:
    """Return the ``handling`` preference of the Prefer header (RFC 7240): "strict", "lenient" or None."""
    for header in request.headers.getlist("prefer"):
        for part in re.split(r"[,;]", header):
            name, _, value = part.strip().partition("=")
            wanted = value.strip().strip('"').lower()
            if name.strip().lower() == "handling" and wanted in ("strict", "lenient"):
                return wanted
    return None


async def search_items(request: Request) -> SearchItems:
    """Return the parameters of a search (the query string, and the form body of a POST _search), the sealed
    criteria of a ``_hidden`` token opened, with the client's Prefer: handling."""
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        form = await request.form()
        items = [(k, str(v)) for k, v in form.multi_items()] + items
    tokens = [v for k, v in items if k == HIDDEN]
    if tokens:
        if len(tokens) > 1:
            raise _bad(HIDDEN, "given more than once")
        rtype = request.url.path.removeprefix(router.prefix + "/").split("/", 1)[0]
        opened = unseal(request, rtype, tokens[0])
        items = [(k, v) for k, v in items if k != HIDDEN] + opened
    return SearchItems(items, prefer_handling(request))


_items = search_items  # the name the type modules import
