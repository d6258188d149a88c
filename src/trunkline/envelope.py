"""The response envelope (docs/api-decisions.md §2.1, §6.1) and the exception handlers that
produce it.

This is the only module that knows how domain errors become HTTP responses. An error carries its
code in both styles the upstream API documents: ``error.code`` in UPPER_SNAKE (its errors
guide) and ``data.error`` in lower snake_case (its endpoint pages); ``error.details`` is always a
human string and ``error.fields`` lists every ``{field, message}`` problem (``error.field`` is the
first one, ``""`` when the error is not about a field).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from trunkline.errors import (
    SPECIFIC_VALIDATION_CODES,
    InvalidAuthToken,
    MalformedRequest,
    MissingAuthToken,
    ServiceUnavailable,
    TrunklineError,
    Unprocessable,
)
from trunkline.outage import DRIVER_ERRORS, RETRY_AFTER_S, is_database_unavailable, outage_log

log = logging.getLogger(__name__)

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """Success envelope: ``{"success": true, "message": ..., "data": ...}``."""

    success: bool = True
    message: str
    data: T


class FieldProblem(BaseModel):
    field: str = Field(examples=["phone_number"])
    message: str = Field(examples=["Field required"])


class ErrorBody(BaseModel):
    code: str = Field(
        description="UPPER_SNAKE error code (the upstream errors guide's style); `data.error` "
        "carries the same code in lower snake_case",
        examples=["VALIDATION_FAILED"],
    )
    details: str = Field(description="What went wrong, for people (never null)")
    field: str = Field(
        description='The first request field at fault; "" when the error is not about a field'
    )
    fields: list[FieldProblem] = Field(
        description="Every field at fault with its problem (empty when none)"
    )


class ErrorData(BaseModel):
    """``error`` (the code in lower snake_case) plus the error's machine fields."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(examples=["validation_failed"])


class ErrorEnvelope(BaseModel):
    success: bool = False
    message: str
    error: ErrorBody
    data: ErrorData


def ok(data: T, message: str) -> Envelope[T]:
    """The success envelope of ``data``, for the route to return.

    Built as the plain ``Envelope`` (no ``Envelope[T]`` subscript, no parametrised copy): the
    route's ``response_model`` (``Envelope[Model]``) is what validates it, once, and what
    FastAPI 0.165 serialises straight to JSON bytes with (``serialize_response(dump_json=True)``).
    ``Envelope[T]`` with a TypeVar returns the same class, but its subscript went through
    pydantic's generic-class lookup on every response: 8 µs of the 15 µs this function took
    (``timeit``, the 2026-12-01 fourth session); now ~5 µs. ``data`` is typed ``Any`` on the
    plain class, so it is taken as is here and validated once against the route's model.
    tests/unit/test_envelope_ok.py checks the bodies are byte for byte what the
    ``response_model`` gives.
    """
    return Envelope(message=message, data=data)


def error_payload(
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: str | None = None,
    fields: Sequence[dict[str, str]] = (),
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The error envelope's body for the snake_case ``code`` (docs/api-decisions.md §6.1).

    ``details`` defaults to the field problems as one line (``field: message; …``), else to the
    message."""
    problems = [{"field": p["field"], "message": p["message"]} for p in fields]
    summary = "; ".join(f"{p['field'] or 'request'}: {p['message']}" for p in problems)
    return {
        "success": False,
        "message": message,
        "error": {
            "code": code.upper(),
            "details": details or summary or message,
            "field": field or (problems[0]["field"] if problems else ""),
            "fields": problems,
        },
        "data": {**(data or {}), "error": code},
    }


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: str | None = None,
    fields: Sequence[dict[str, str]] = (),
    data: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = error_payload(code, message, field=field, details=details, fields=fields, data=data)
    return JSONResponse(body, status_code=status, headers=headers)


_HTTP_CODES = {
    400: ("malformed_request", "The request could not be understood."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed on this route."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send JSON with Content-Type: application/json."),
}


def _field_of(loc: Sequence[int | str]) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or None


# Pydantic error types that mean "the body is not a JSON object" rather than a bad field.
_BODY_SHAPE_ERRORS = {"json_invalid", "model_attributes_type", "dict_type", "model_type"}


def _validation_response(errors: Sequence[Any]) -> JSONResponse:
    for err in errors:
        loc = tuple(err.get("loc", ()))
        body_level = loc in {("body",), ()}
        if err.get("type") == "json_invalid" or (
            body_level and err.get("type") in {*_BODY_SHAPE_ERRORS, "missing"}
        ):
            exc = MalformedRequest()
            return error_response(exc.status, exc.code, exc.message)

    problems = [
        {"field": _field_of(err.get("loc", ())) or "", "message": str(err.get("msg", "invalid"))}
        for err in errors
    ]
    chosen = next(
        (e for e in errors if e.get("type") in SPECIFIC_VALIDATION_CODES),
        errors[0] if errors else {},
    )
    code = chosen.get("type") if chosen.get("type") in SPECIFIC_VALIDATION_CODES else None
    field = _field_of(chosen.get("loc", ()))
    if code:
        message = str(chosen.get("msg", "The request is invalid."))
    else:
        code = "validation_failed"
        # Our own validators' messages already end with a period; don't print two.
        reason = str(chosen.get("msg", "invalid")).rstrip(".")
        message = f"Validation failed: {field or 'request'}: {reason}."
    return error_response(422, code, message, field=field, fields=_chosen_first(problems, field))


def _chosen_first(problems: list[dict[str, str]], field: str | None) -> list[dict[str, str]]:
    """The problems with the reported one first, so ``fields[0]`` is ``field``."""
    first = [p for p in problems if p["field"] == (field or "")][:1]
    return first + [p for p in problems if p not in first]


def docstring_summaries(router: Any) -> None:
    """Use each endpoint's one-line docstring as its OpenAPI summary (not its function name).

    Walks included routers too (FastAPI keeps them as nested router objects).
    """
    for route in getattr(router, "routes", []):
        if isinstance(route, APIRoute):
            if not route.summary and route.endpoint.__doc__:
                route.summary = route.endpoint.__doc__.strip().splitlines()[0]
        else:
            docstring_summaries(getattr(route, "original_router", None))


def install_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(TrunklineError)
    async def _domain(_: Request, exc: TrunklineError) -> JSONResponse:
        if exc.status >= 500:
            log.error("domain error %s", exc.code)
        headers = None
        if exc.status == 429 and "retry_after_s" in exc.data:
            headers = {"Retry-After": str(exc.data["retry_after_s"])}
        elif exc.status == 503:
            headers = {"Retry-After": str(exc.data.get("retry_after_s", RETRY_AFTER_S))}
        return error_response(
            exc.status,
            exc.code,
            exc.message,
            field=exc.field,
            details=exc.details,
            fields=exc.fields,
            data=exc.data,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        # Log the type and traceback server-side; the client learns nothing of internals.
        log.exception("unhandled error: %s", type(exc).__name__)
        return error_response(500, "internal_error", "Internal server error.")

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        # Handled here (Starlette's ExceptionMiddleware), not by the catch-all above: the
        # catch-all re-raises after answering, and the server then drops the keep-alive
        # connection. An outage is one warning line; anything else is a bug with its traceback.
        if not is_database_unavailable(exc):
            return await _unhandled(request, exc)
        outage_log.report(f"{request.method} {request.url.path}", exc)
        unavailable = ServiceUnavailable("The database is unavailable; try again shortly.")
        return error_response(
            unavailable.status,
            unavailable.code,
            unavailable.message,
            data={"retry_after_s": RETRY_AFTER_S},
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    for driver_error in DRIVER_ERRORS:
        app.add_exception_handler(driver_error, _database)


def error_responses(*errors: type[TrunklineError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for an endpoint: its documented error codes, grouped by status.

    Every endpoint can also answer 400, 401 and 422, so those are always listed.
    """
    by_status: dict[int, list[str]] = {}
    always: tuple[type[TrunklineError], ...] = (
        MalformedRequest,
        MissingAuthToken,
        InvalidAuthToken,
        Unprocessable,
    )
    for err in (*always, *errors):
        codes = by_status.setdefault(err.status, [])
        if err.code not in codes:
            codes.append(err.code)
    return {
        status: {
            "model": ErrorEnvelope,
            # error.code; data.error carries each in lower case (ErrorEnvelope says so).
            "description": "Error codes: " + ", ".join(code.upper() for code in codes),
        }
        for status, codes in sorted(by_status.items())
    }
