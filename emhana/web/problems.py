"""Render every error as RFC 9457 problem+json with a stable code and kk/ru/en messages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from emhana.kernel import errors
from emhana.kernel.i18n import LANGUAGES, translate

log = logging.getLogger("emhana.web")

PROBLEM_JSON = "application/problem+json"
_RETRY = {"Retry-After": "5"}  # a 503 (a busy or unavailable dependency) is worth retrying soon

# Codes that a pydantic validator may raise (PydanticCustomError type) and that name a domain error.
_DOMAIN_CODES: dict[str, type[errors.RegistryError]] = {
    cls.code: cls
    for cls in (
        errors.InvalidIIN,
        errors.InvalidBIN,
        errors.InvalidEmployerNumber,
        errors.InvalidName,
        errors.UnknownKato,
        errors.OutsideKazakhstan,
        errors.InvalidDates,
        errors.ReasonUnknown,
    )
}

_HTTP = {
    404: ("core.not_found", "Not found."),
    405: ("core.method_not_allowed", "This method is not allowed here."),
    429: ("core.rate_limited", "Too many requests; try again later."),
}


def language(request: Request) -> str:
    """Return the negotiated language of a request."""
    return str(getattr(request.state, "lang", "ru"))


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    template: str,
    params: dict[str, Any] | None = None,
    errors_: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem+json response in the request's language, with all three languages attached."""
    params = params or {}
    messages = {lg: translate(lg, template, localize_params(lg, params)) for lg in LANGUAGES}
    detail = messages[language(request)]
    body: dict[str, Any] = {
        "type": f"urn:emhana:problem:{code}",
        "title": detail,
        "status": status,
        "code": code,
        "detail": detail,
        "messages": messages,
        "instance": request.url.path,
    }
    if errors_:
        body["errors"] = errors_
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def localize_params(lang: str, params: dict[str, Any]) -> dict[str, Any]:
    """Translate parameters that are themselves catalogue messages (a ``reason``)."""
    return {k: translate(lang, v) if isinstance(v, str) and k == "reason" else v for k, v in params.items()}


def registry_problem(request: Request, exc: errors.RegistryError) -> JSONResponse:
    """Render a RegistryError."""
    body_errors = [_localize_error(e) for e in exc.errors]
    return problem(
        request,
        status=exc.status,
        code=exc.code,
        template=exc.template(),
        params=exc.params,
        errors_=body_errors or None,
        headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else _RETRY if exc.status == 503 else None,
    )


def _localize_error(item: dict[str, Any]) -> dict[str, Any]:
    """Give a row-level error its messages in every language."""
    out = dict(item)
    template = item.get("message_template")
    if template:
        params = item.get("params", {})
        out["messages"] = {lg: translate(lg, template, localize_params(lg, params)) for lg in LANGUAGES}
        out["message"] = out["messages"]["en"]
        del out["message_template"]
        out.pop("params", None)
    return out


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    items: list[dict[str, Any]] = []
    domain: type[errors.RegistryError] | None = None
    domain_params: dict[str, Any] = {}
    for err in exc.errors():
        kind = str(err.get("type", ""))
        loc = [str(p) for p in err.get("loc", ())]
        ctx = err.get("ctx") or {}
        if kind in _DOMAIN_CODES:
            cls = _DOMAIN_CODES[kind]
            params = {k: str(v) for k, v in ctx.items()}
            if domain is None:
                domain, domain_params = cls, params
            items.append(_localize_error({"code": kind, "loc": loc, "message_template": cls.message, "params": params}))
        elif kind == "json_invalid":
            items.append({"code": "core.invalid_json", "loc": loc, "message": str(err.get("msg", ""))})
        else:
            items.append({"code": "core.invalid_field", "loc": loc, "message": str(err.get("msg", ""))})
    if domain is not None:
        return registry_problem(request, domain(errors=items, **domain_params))
    if items and all(i["code"] == "core.invalid_json" for i in items):
        return problem(
            request, status=422, code="core.invalid_json", template="The request body is not valid JSON.", errors_=items
        )
    return problem(
        request,
        status=422,
        code="core.invalid_request",
        template="The request body or parameters are not valid.",
        errors_=items,
    )


def install(app: FastAPI) -> None:
    """Install the exception handlers that render problem+json."""

    @app.exception_handler(errors.RegistryError)
    async def _registry(request: Request, exc: errors.RegistryError) -> JSONResponse:
        if exc.status >= 500:
            log.exception("internal error", exc_info=exc)
        return registry_problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, template = _HTTP.get(exc.status_code, ("core.http_error", "The request is not valid."))
        return problem(
            request, status=exc.status_code, code=code, template=template, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # A number or text the database cannot hold (an id beyond 64 bits...): the request is invalid, not
        # the server (found by API fuzzing, tests/hardening/test_fuzz.py); the unit of work has rolled back.
        log.info("value out of the database's range: %s", type(exc).__name__)
        return problem(
            request, status=422, code="core.invalid_request", template="The request body or parameters are not valid."
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return registry_problem(request, errors.RegistryError())
