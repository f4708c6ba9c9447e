"""Typed errors on the wire: ``{"error": {"code": ..., "message": ...}}`` with a fitting status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley.domain import attachments, cobrowse, errors

STATUS: dict[type[errors.DomainError], int] = {
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.InvalidInput: 422,
    errors.CursorOutOfRange: 400,
    errors.HistoryRemoved: 410,
    errors.RateLimited: 429,
    errors.StorageUnavailable: 503,
    attachments.AttachmentTooLarge: 413,
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def status_of(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def _domain(_: Request, exc: errors.DomainError) -> JSONResponse:
        details: dict[str, Any] | None = None
        if isinstance(exc, errors.Unavailable):
            details = {"reason": exc.reason}
        elif isinstance(exc, errors.BlockedWord):
            details = {"rule": exc.rule, "reason": exc.reason, "words": list(exc.words)}
        elif isinstance(exc, errors.HistoryRemoved):
            details = {"history_starts_at_seq": exc.first_seq}
        elif isinstance(exc, errors.BadPattern):
            details = {"rule": exc.rule, "where": exc.where, "reason": exc.reason}
        elif isinstance(exc, errors.LowContrast):
            details = {"ratio": exc.ratio, "minimum": exc.minimum, "against": exc.against}
        elif isinstance(exc, errors.InvalidHiddenField):
            details = {"field": exc.field}
        elif isinstance(exc, cobrowse.UrlRefused):
            details = {"reason": exc.reason.value}
        elif isinstance(exc, attachments.TypeMismatch):
            details = {"declared": exc.declared, "detected": exc.detected}
        elif isinstance(exc, attachments.AttachmentTooLarge):
            # Answered before the body was read (all of it): the connection is not reused.
            return error_response(
                413, exc.code, exc.message, {"max_bytes": exc.max_bytes}, {"Connection": "close"}
            )
        elif isinstance(exc, errors.StorageUnavailable):
            return error_response(
                503, exc.code, exc.message, None, {"Retry-After": str(exc.retry_after)}
            )
        elif isinstance(exc, errors.RateLimited):
            return error_response(
                429,
                exc.code,
                exc.message,
                {"retry_after": exc.retry_after},
                {"Retry-After": str(exc.retry_after)},
            )
        return error_response(status_of(exc), exc.code, exc.message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        if exc.status_code == 413:  # web.limits.BodyTooLarge: the body was not read to its end
            max_bytes = getattr(exc, "max_bytes", None)
            return error_response(
                413,
                "body_too_large",
                str(exc.detail),
                None if max_bytes is None else {"max_bytes": max_bytes},
                {"Connection": "close"},
            )
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        if any(d["type"] == "json_invalid" for d in details):
            reasons = [str(e.get("ctx", {}).get("error", "")) for e in exc.errors()]
            why = next((r for r in reasons if r), "")
            message = "the request body is not valid JSON" + (f": {why}" if why else "")
            return error_response(400, "bad_json", message, details)
        return error_response(422, "invalid_input", "the request is not valid", details)
