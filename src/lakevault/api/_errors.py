"""One JSON shape for every error: ``{"error": {"code", "message", "requestId"}}``.

Errors are mapped by their ``code`` and ``http_status``, never by message text. Unexpected
exceptions become ``InternalFailure`` with a generic message; the details go to the log with
the request id, never to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lakevault.core import current_request_id
from lakevault.core.errors import LakevaultError

logger = logging.getLogger("lakevault.api")

_HTTP_CODES = {
    400: "InvalidRequest",
    401: "MissingAuthenticationToken",
    403: "AccessDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    413: "EntityTooLarge",
    415: "UnsupportedMediaType",
    429: "Throttling",
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={
            "error": {"code": code, "message": message, "requestId": current_request_id.get()}
        },
    )


async def _lakevault_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LakevaultError)
    if exc.http_status >= 500:
        logger.error("request failed: %s", exc.code, extra={"errorCode": exc.code})
    return error_response(exc.http_status, exc.code, exc.message)


def describe_validation_errors(errors: Sequence[Any], *, prefix: str = "") -> str:
    """``field.path: what is wrong`` for each of pydantic's errors, joined by ``; ``."""
    problems = []
    for error in errors:
        where = ".".join(str(part) for part in (prefix, *error.get("loc", ())) if part != "")
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "ValidationError", describe_validation_errors(exc.errors()))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "InternalFailure")
    message = exc.detail if isinstance(exc.detail, str) else code
    if exc.status_code == 404:
        message = "no API operation at this path; see /api/openapi.json"
    return error_response(exc.status_code, code, message)


def unexpected_error_response(exc: BaseException) -> JSONResponse:
    """``500 InternalFailure`` with a generic message; the details go to the log only."""
    logger.error("unexpected failure", exc_info=exc)
    return error_response(
        500, "InternalFailure", "the request failed unexpectedly; quote the requestId to support"
    )


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    return unexpected_error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LakevaultError, _lakevault_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
